"""The chat channels (Teams, Slack), built the same way locally and on AWS."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from ..clock import Clock
from ..model import Channel, Contact
from .base import Message, Notifier

if TYPE_CHECKING:
    from .webhook import WebhookPoster, WebhookSecrets


def chat_notifiers(
    *,
    allow_loopback: bool,
    clock: Clock | None = None,
    secrets: WebhookSecrets | None = None,
) -> dict[Channel, Notifier]:
    """Teams and Slack notifiers. `allow_loopback` (local mode only) lets a webhook on
    127.0.0.1 be posted to, for trying a config out against a local receiver.

    Each is built on its first message: the webhook client (httpx, the SSRF guard) then loads
    only where a Teams or Slack contact is alerted, not in every poller's cold start."""

    def poster(service: str) -> WebhookPoster:
        from .webhook import WebhookPoster, WebhookSecrets

        return WebhookPoster(
            service, allow_loopback=allow_loopback, secrets=secrets or WebhookSecrets(), clock=clock
        )

    def teams() -> Notifier:
        from .teams import TeamsNotifier

        return TeamsNotifier(poster("Teams"))

    def slack() -> Notifier:
        from .slack import SlackNotifier

        return SlackNotifier(poster("Slack"))

    return {"teams": BuiltOnFirstSend(teams), "slack": BuiltOnFirstSend(slack)}


class BuiltOnFirstSend:
    """A notifier made by `build` when the first message goes through it, then kept."""

    def __init__(self, build: Callable[[], Notifier]) -> None:
        self._build = build
        self._notifier: Notifier | None = None
        self._lock = threading.Lock()  # notifiers send from worker threads

    def send(self, message: Message) -> str | None:
        with self._lock:
            if self._notifier is None:
                self._notifier = self._build()
        return self._notifier.send(message)


def unset_webhook_envs(contacts: Mapping[str, Contact], env: Mapping[str, str]) -> list[str]:
    """Warnings for webhooks named by an environment variable that is not set here: said when
    `run` starts, not found out at the first alert."""
    out = []
    for cid, contact in sorted(contacts.items()):
        for channel, hook in (("teams", contact.teams), ("slack", contact.slack)):
            name = hook.webhook_env if hook is not None else None
            if name and not env.get(name, "").strip():
                out.append(
                    f"contacts.{cid}.{channel}.webhook_env: {name} is not set in this "
                    "environment; posts to it will fail, and the contact's email or phone "
                    "(if any) will stand in"
                )
    return out
