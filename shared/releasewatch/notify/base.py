"""The Notifier port (healthchecks' Transport): send one message or raise SendError.

Contract:
    send(message) -> provider message id (or None when the channel has none)
    Raises SendError(reason, permanent=False) for failures worth retrying next tick (throttling,
    5xx, network), SendError(reason, permanent=True) for ones that will never succeed (address
    rejected, opted out, invalid parameter): the service then falls back to another channel.
    Never raise anything else on purpose; reasons must not contain the address.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ..model import Channel


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class CardLink:
    """A button on a chat card: opens `url` in the browser (never acts by itself)."""

    title: str
    url: str
    primary: bool = False  # the one thing to press: Acknowledge, or Confirm it is ready


@dataclass(frozen=True)
class Card:
    """A message laid out for a chat channel (Teams, Slack): the same words as the email, with
    the facts in a table and the links as buttons. Each chat notifier renders it its own way."""

    title: str
    tone: str  # "attention" (not live, breach), "warning" (lost, not ready), "good", "default"
    paragraphs: tuple[str, ...]
    facts: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()  # who else was told, what happens next
    links: tuple[CardLink, ...] = ()


@dataclass(frozen=True)
class Message:
    channel: Channel
    to: str  # email address or E.164 number: never log this
    contact_id: str
    contact_name: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    key: str = ""  # the notification key, for logs and provider idempotency
    card: Card | None = None  # chat channels (teams, slack): the laid-out message


class Notifier(Protocol):
    def send(self, message: Message) -> str | None: ...
