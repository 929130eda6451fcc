"""The chat channels (Teams, Slack), built the same way locally and on AWS."""

from __future__ import annotations

from ..clock import Clock
from ..model import Channel
from .base import Notifier
from .slack import SlackNotifier
from .teams import TeamsNotifier
from .webhook import WebhookPoster, WebhookSecrets


def chat_notifiers(
    *,
    allow_loopback: bool,
    clock: Clock | None = None,
    secrets: WebhookSecrets | None = None,
) -> dict[Channel, Notifier]:
    """Teams and Slack notifiers. `allow_loopback` (local mode only) lets a webhook on
    127.0.0.1 be posted to, for trying a config out against a local receiver."""
    secrets = secrets or WebhookSecrets()

    def poster(service: str) -> WebhookPoster:
        return WebhookPoster(service, allow_loopback=allow_loopback, secrets=secrets, clock=clock)

    return {"teams": TeamsNotifier(poster("Teams")), "slack": SlackNotifier(poster("Slack"))}
