"""The chat channels (Teams, Slack), built the same way locally and on AWS."""

from __future__ import annotations

from collections.abc import Mapping

from ..clock import Clock
from ..model import Channel, Contact
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
