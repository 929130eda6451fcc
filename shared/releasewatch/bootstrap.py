"""The one composition root: the CLI, the Lambda handlers and the tests build a Watchdog here."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from .clock import Clock
from .links.urls import Links
from .model import Channel
from .notify.base import Message, Notifier
from .policy import DEFAULT_MAX_ATTEMPTS
from .service import ReportBuilder, Watchdog
from .store.base import Store

# Each loads where it is used: Notify's client (httpx, PyJWT) when Notify is configured, the
# prober on the first probe, SMTP and the console in local mode only (not on AWS).
if TYPE_CHECKING:
    from .model import Check, Release
    from .notify.console import ConsoleNotifier
    from .notify.govuk_notify import NotifyClient, NotifySettings
    from .notify.smtp import SmtpSettings
    from .probe.base import Prober

DEFAULT_STATE_DIR = Path("releasewatch-state")
DEFAULT_DB = DEFAULT_STATE_DIR / "releasewatch.db"


def build_watchdog(
    store: Store,
    notifiers: Mapping[Channel, Notifier],
    clock: Clock,
    *,
    prober: Prober | None = None,
    links: Links | None = None,
    report_builder: ReportBuilder | None = None,
    observers: Sequence[Callable[[str, object], None]] = (),
    lease: timedelta = timedelta(minutes=2),
    owner: str | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
) -> Watchdog:
    if prober is None:
        prober = HttpProberOnFirstUse(clock)
    return Watchdog(
        store,
        prober,
        notifiers,
        clock,
        links=links,
        report_builder=report_builder,
        observers=observers,
        lease=lease,
        owner=owner,
        max_attempts=max_attempts,
    )


class HttpProberOnFirstUse:
    """The HTTP prober, made when the first page is probed: httpx, selectolax and the SSRF guard
    load only in a tick with a page to probe, not in every Lambda cold start (issue 19)."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._prober: Prober | None = None

    def _made(self) -> Prober:
        if self._prober is None:  # (one event loop: no two callers at once)
            from .probe.http import HttpProber

            self._prober = HttpProber(self._clock)
        return self._prober

    async def probe(self, release: Release) -> Check:
        return await self._made().probe(release)

    async def probe_many(self, releases: Sequence[Release]) -> list[Check]:
        return await self._made().probe_many(releases)

    async def aclose(self) -> None:
        if self._prober is not None:
            await self._prober.aclose()


def local_notifiers(
    outbox: Path,
    smtp: SmtpSettings | None = None,
    stream: TextIO | None = None,
    *,
    local_mode: bool = False,
) -> dict[Channel, Notifier]:
    """Email by SMTP when configured, else to the console; SMS always to console + outbox;
    Teams and Slack posted to their webhooks (URLs from the environment or SSM), each post
    shown on the console too. `local_mode` (the config's) allows a webhook on 127.0.0.1."""
    from .notify.chat import chat_notifiers
    from .notify.console import ConsoleNotifier, OutboxNotifier
    from .notify.smtp import SmtpNotifier

    console = ConsoleNotifier(stream)
    email: Notifier = SmtpNotifier(smtp) if smtp else OutboxNotifier(outbox, echo=console)
    chats = chat_notifiers(allow_loopback=local_mode)
    return {
        "email": email,
        "sms": OutboxNotifier(outbox, echo=console),
        **{channel: EchoedNotifier(n, console) for channel, n in chats.items()},
    }


class EchoedNotifier:
    """`inner` (SMTP, a webhook), and each message it sent shown on the console too."""

    def __init__(self, inner: Notifier, echo: ConsoleNotifier) -> None:
        self._inner = inner
        self._echo = echo
        # Notify's texts take "Reply ACK <code>": the service asks the notifier it calls.
        self.accepts_replies: bool = getattr(inner, "accepts_replies", False)

    def send(self, message: Message) -> str | None:
        provider_id = self._inner.send(message)  # a failure raises: nothing is shown as sent
        self._echo.send(message)
        return provider_id


def notify_client(settings: NotifySettings, api_key: str, clock: Clock) -> NotifyClient:
    """Raises NotifyKeyError (which never quotes the key) for a malformed key."""
    from .notify.govuk_notify import NotifyClient, NotifyKey

    return NotifyClient(NotifyKey.parse(api_key), clock, base_url=settings.base_url)


def notify_notifiers(
    client: NotifyClient, settings: NotifySettings, *, transport: str = "default"
) -> dict[Channel, Notifier]:
    """The notify_email and notify_sms channels; with `transport: notify`, email and sms too."""
    from .notify.govuk_notify import NotifyNotifier

    email = NotifyNotifier(client, settings, "email")
    sms = NotifyNotifier(client, settings, "sms")
    out: dict[Channel, Notifier] = {"notify_email": email, "notify_sms": sms}
    if transport == "notify":
        out |= {"email": email, "sms": sms}
    return out


def smtp_from_env(spec: str | None, env: Mapping[str, str] | None = None) -> SmtpSettings | None:
    """`--smtp host:port` or RELEASEWATCH_SMTP_HOST (+ _PORT, _USER, _PASSWORD, _SENDER,
    _STARTTLS=0 to turn STARTTLS off, _SSL=1 for implicit TLS). STARTTLS is required for a
    remote server and used if offered on a loopback relay (see notify/smtp.py)."""
    from .notify.smtp import SmtpSettings

    env = os.environ if env is None else env
    host_port = spec or env.get("RELEASEWATCH_SMTP_HOST")
    if not host_port:
        return None
    host, _, port = host_port.partition(":")
    port = port or env.get("RELEASEWATCH_SMTP_PORT", "587")
    if not port.isdigit():
        raise ValueError(f"SMTP port {port!r} is not a number (expected host:port)")
    return SmtpSettings(
        host=host,
        port=int(port),
        sender=env.get("RELEASEWATCH_SMTP_SENDER", "releasewatch@localhost"),
        username=env.get("RELEASEWATCH_SMTP_USER") or None,
        password=env.get("RELEASEWATCH_SMTP_PASSWORD") or None,
        starttls=env.get("RELEASEWATCH_SMTP_STARTTLS", "1") not in ("0", "false", "no"),
        ssl=env.get("RELEASEWATCH_SMTP_SSL", "0") in ("1", "true", "yes"),
    )


@dataclass(frozen=True)
class LocalPaths:
    db: Path
    outbox: Path

    @classmethod
    def from_db(cls, db: str | Path | None) -> LocalPaths:
        db_path = Path(db) if db else Path(os.environ.get("RELEASEWATCH_DB", DEFAULT_DB))
        return cls(db=db_path, outbox=db_path.parent / "outbox")
