"""Email through a real SMTP conversation (aiosmtpd on 127.0.0.1): local relays without
STARTTLS, servers that misbehave after accepting, and failure reasons a newcomer can act on."""

from __future__ import annotations

import asyncio
import socket
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from email import message_from_bytes
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from releasewatch.errors import SendError
from releasewatch.model import Chain, DeliveryStatus, Step
from releasewatch.notify import smtp as smtp_module
from releasewatch.notify.base import Message
from releasewatch.notify.smtp import SmtpNotifier, SmtpSettings
from releasewatch.service import Watchdog
from tests.factories import DUE, make_release
from tests.fakes import FixedClock, InMemoryStore, RecordingNotifier, ScriptedProber

M = timedelta(minutes=1)


class Relay:
    """An SMTP server: `mode` says how it behaves once it has the message."""

    def __init__(self, mode: str = "ok") -> None:
        self.mode = mode
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        if self.mode == "drop-before-reply":
            # Kept the message, but the connection dies before the client hears "250".
            server.transport.abort()
        return "250 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        if self.mode == "quit-fails":
            # Accepted the message (250 to DATA), then answers QUIT with an error and hangs up.
            return "421 closing, try again"
        return "221 Bye"

    def keys(self) -> Counter[str]:
        return Counter(str(message_from_bytes(m)["X-Releasewatch-Key"]) for m in self.messages)


def _free_port() -> int:
    with socket.socket() as probe:  # aiosmtpd's readiness check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def relay() -> Iterator[tuple[int, Relay]]:
    handler = Relay()
    port = _free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()


def message(**overrides: Any) -> Message:
    fields: dict[str, Any] = {
        "channel": "email",
        "to": "labour.market@example.com",
        "contact_id": "stats_team",
        "contact_name": "Labour market statistics team",
        "subject": "NOT LIVE: Labour market overview",
        "text": "It is not live.",
        "key": "lms-2025-07|alert|0|0|stats_team|email",
    }
    fields.update(overrides)
    return Message(**fields)


def test_a_local_relay_without_starttls_works_with_the_default_settings(
    relay: tuple[int, Relay],
) -> None:
    # aiosmtpd here offers no STARTTLS, like most local relays and Mailpit
    port, handler = relay
    SmtpNotifier(SmtpSettings(host="127.0.0.1", port=port)).send(message())
    assert list(handler.keys()) == ["lms-2025-07|alert|0|0|stats_team|email"]


def test_a_remote_server_without_starttls_is_refused_with_a_hint(
    relay: tuple[int, Relay], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, handler = relay
    monkeypatch.setattr(smtp_module, "is_loopback", lambda host: False)  # as if it were remote
    with pytest.raises(SendError) as caught:
        SmtpNotifier(SmtpSettings(host="127.0.0.1", port=port)).send(message())
    assert caught.value.permanent
    reason = caught.value.reason
    assert "does not offer STARTTLS" in reason and "loopback relay" in reason
    assert "RELEASEWATCH_SMTP_SSL=1" in reason and "RELEASEWATCH_SMTP_STARTTLS=0" in reason
    assert handler.messages == []  # nothing crossed in clear


@pytest.mark.parametrize(
    ("settings", "setting_named"),
    [
        (lambda port: SmtpSettings(host="127.0.0.1", port=_free_port(), timeout=2), "--smtp"),
        (
            lambda port: SmtpSettings(host="127.0.0.1", port=port, username="u", password="p"),
            "RELEASEWATCH_SMTP_USER",
        ),
        (lambda port: SmtpSettings(host="127.0.0.1", port=port, ssl=True, timeout=2), "_SSL"),
    ],
    ids=["nothing-listening", "login-not-offered", "implicit-tls-to-a-plain-port"],
)
def test_every_smtp_failure_names_the_setting_that_changes_it(
    relay: tuple[int, Relay], settings: Any, setting_named: str
) -> None:
    port, _ = relay
    with pytest.raises(SendError) as caught:
        SmtpNotifier(settings(port)).send(message())
    assert setting_named in caught.value.reason
    assert "example.com" not in caught.value.reason  # never the address


def test_a_subject_with_a_line_break_is_a_permanent_failure_not_a_retry(
    relay: tuple[int, Relay],
) -> None:
    port, handler = relay
    with pytest.raises(SendError) as caught:
        SmtpNotifier(SmtpSettings(host="127.0.0.1", port=port)).send(
            message(subject="NOT LIVE: Labour market\noverview")
        )
    assert caught.value.permanent and "could not be built" in caught.value.reason
    assert handler.messages == []


def _run_watchdog(port: int, minutes: int = 4) -> InMemoryStore:
    """Alert the stats team by email at +5 min through the relay, ticking every 5 s."""
    clock = FixedClock(DUE + 5 * M)
    store = InMemoryStore()
    chain = Chain(id="email-only", steps=(Step(after=5 * M, notify=("stats_team",)),))
    store.apply_releases([make_release(chain=chain)], clock.now())
    email = SmtpNotifier(SmtpSettings(host="127.0.0.1", port=port, timeout=5))
    dog = Watchdog(
        store,
        ScriptedProber(clock, lambda now: False),
        {"email": email, "sms": RecordingNotifier()},
        clock,
    )
    while clock.now() < DUE + (5 + minutes) * M:
        asyncio.run(dog.tick())
        clock.advance(5)
    return store


KEY = "lms-2025-07|alert|0|0|stats_team|email"


def test_a_server_that_fails_after_accepting_the_message_gets_it_once(
    relay: tuple[int, Relay],
) -> None:
    # GIVEN a server that accepts the message, then answers QUIT with 421 and hangs up
    port, handler = relay
    handler.mode = "quit-fails"
    # WHEN the watchdog sends the alert over four minutes of ticks
    store = _run_watchdog(port)
    # THEN it arrived once and is recorded as sent: the failure came after acceptance
    assert handler.keys() == Counter({KEY: 1})
    [d] = store.deliveries("lms-2025-07")
    assert (d.status, d.attempts) == (DeliveryStatus.SENT, 1)


def test_a_server_that_drops_before_confirming_gets_at_most_the_attempt_bound(
    relay: tuple[int, Relay],
) -> None:
    # GIVEN a server that keeps every message but drops the connection before its "250"
    port, handler = relay
    handler.mode = "drop-before-reply"
    # WHEN the watchdog sends the alert over four minutes of ticks
    store = _run_watchdog(port)
    # THEN exactly three copies arrived (the bound), not one every tick, and it is FAILED
    assert handler.keys() == Counter({KEY: 3})
    [d] = store.deliveries("lms-2025-07")
    assert (d.status, d.attempts) == (DeliveryStatus.FAILED, 3)
    assert "gave up after 3 attempts" in (d.error or "")
    assert "closed the connection before accepting the message" in (d.error or "")
