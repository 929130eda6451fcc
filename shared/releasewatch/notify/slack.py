"""Slack by an incoming webhook: the chat card as Block Kit (header, sections, buttons).

Texts are plain_text throughout, so nothing from a page or a title is read as Slack markup;
`text` (the card's title) is what notifications and screen readers show: Slack reads it as
mrkdwn, so it goes with `mrkdwn: false` and &, <, > escaped (notify/inert.py): a title cannot
bold, link, or mention @channel. A webhook answers
200 with the body "ok", or an error word in plain text (invalid_payload, no_service,
channel_is_archived...), which the stored reason quotes.
"""

from __future__ import annotations

from typing import Any

from ..errors import SendError
from .base import Card, Message
from .inert import slack_mrkdwn
from .webhook import WebhookPoster

# Block Kit limits: header 150 characters, section text 3,000, a field 2,000, ten fields a
# section, a button's text 75, its URL 3,000, fifty blocks a message.
_HEADER, _TEXT, _FIELD, _FIELDS, _BUTTON, _BLOCKS = 150, 3000, 2000, 10, 75, 50


def _plain(text: str, limit: int) -> dict[str, Any]:
    clipped = text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return {"type": "plain_text", "text": clipped, "emoji": False}


def slack_blocks(card: Card) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(card.title, _HEADER)}]
    blocks += [{"type": "section", "text": _plain(p, _TEXT)} for p in card.paragraphs]
    facts = [_plain(f"{label}: {value}", _FIELD) for label, value in card.facts]
    for start in range(0, len(facts), _FIELDS):
        blocks.append({"type": "section", "fields": facts[start : start + _FIELDS]})
    if card.notes:
        blocks.append({"type": "context", "elements": [_plain(n, _TEXT) for n in card.notes[:10]]})
    buttons = []
    for link in card.links:
        button: dict[str, Any] = {
            "type": "button",
            "text": _plain(link.title, _BUTTON),
            "url": link.url,
        }
        if link.primary:
            button["style"] = "primary"
        buttons.append(button)
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks[:_BLOCKS]


def slack_payload(card: Card) -> dict[str, Any]:
    return {"text": slack_mrkdwn(card.title), "mrkdwn": False, "blocks": slack_blocks(card)}


class SlackNotifier:
    """Posts each message's card to the contact's Slack incoming webhook."""

    def __init__(self, poster: WebhookPoster | None = None) -> None:
        self.poster = poster or WebhookPoster("Slack")

    def send(self, message: Message) -> str | None:
        if message.channel != "slack" or message.card is None:
            raise SendError(f"Slack posts cards, not {message.channel} messages", permanent=True)
        self.poster.post(message.to, slack_payload(message.card), message.key)
        return None
