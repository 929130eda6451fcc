"""Notifiers that fail never put a number or an address on stdout, stderr or the logs: SMTP
(a refused recipient quoted back, a dropped connection, nobody listening), SES and SNS (errors
quoting the recipient, unexpected exceptions), the console outbox (a broken outbox folder).
Each runs through the real Watchdog with the console printer, as `releasewatch run` does."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from botocore.exceptions import ClientError, ParamValidationError

from releasewatch.bootstrap import build_watchdog, local_notifiers
from releasewatch.clock import FixedClock
from releasewatch.local.printer import ConsolePrinter
from releasewatch.model import DeliveryStatus
from releasewatch.notify.base import Notifier
from releasewatch.notify.ses import SesNotifier
from releasewatch.notify.smtp import SmtpNotifier, SmtpSettings
from releasewatch.notify.sns import SnsSmsNotifier
from releasewatch.store.memory import InMemoryStore
from tests.factories import CONTACTS, DUE, make_release
from tests.fakes import ScriptedProber

ID = "lms-2025-07"
SECRETS = [c.email for c in CONTACTS.values()] + [c.phone for c in CONTACTS.values() if c.phone]


def assert_nothing_leaked(*texts: str) -> None:
    for text in texts:
        assert "7700900" not in text and "@example.com" not in text, text


def run_tick(notifiers: dict[str, Notifier]) -> InMemoryStore:
    """One tick at 09:41: the stats team's email and the web publisher's SMS and email due."""
    clock = FixedClock(DUE + timedelta(minutes=11))
    store = InMemoryStore()
    store.apply_releases([make_release()], clock.now())
    watchdog = build_watchdog(
        store,
        notifiers,  # type: ignore[arg-type]
        clock,
        prober=ScriptedProber(clock, lambda now: False),
        observers=[ConsolePrinter()],
    )
    asyncio.run(watchdog.tick())
    return store


def failures(store: InMemoryStore) -> list[str]:
    return [
        d.error or ""
        for d in store.deliveries(ID)
        if d.status in (DeliveryStatus.RETRY, DeliveryStatus.FAILED)
    ]


@pytest.fixture
def captured(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> Iterator[Callable[[], tuple[str, str, str]]]:
    caplog.set_level(logging.DEBUG)

    def read() -> tuple[str, str, str]:
        out, err = capfd.readouterr()
        # Every record with its traceback, but not the test SMTP server's own (aiosmtpd's
        # mail.log quotes the envelope; it is not part of releasewatch)
        logs = "\n".join(
            caplog.handler.format(r) for r in caplog.records if not r.name.startswith("mail.")
        )
        return out, err, logs

    yield read


# -- SMTP ----------------------------------------------------------------------------------------
class Refusing:
    """Quotes the recipient back, as real servers do."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        return f"550 5.1.1 <{address}>: Recipient address rejected: user unknown"


class Dropping:
    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        session.transport.close()  # accepted nothing, said nothing


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(params=[Refusing, Dropping, None], ids=["refused", "dropped", "no-server"])
def smtp_port(request: pytest.FixtureRequest) -> Iterator[int]:
    port = free_port()
    if request.param is None:
        yield port  # nobody listening
        return
    controller = Controller(request.param(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def test_smtp_failures_leak_nothing(
    smtp_port: int, tmp_path: Path, captured: Callable[[], tuple[str, str, str]]
) -> None:
    settings = SmtpSettings(
        host="127.0.0.1", port=smtp_port, sender="rw@localhost", starttls=False, timeout=3
    )
    notifiers = local_notifiers(tmp_path / "outbox")
    notifiers["email"] = SmtpNotifier(settings)
    store = run_tick(notifiers)
    assert failures(store), "the scenario must make the email fail"
    assert_nothing_leaked(*captured(), *failures(store))


# -- SES and SNS ---------------------------------------------------------------------------------
def client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": 400}},
        operation,
    )


class FailingAws:
    """A boto3 client whose every call raises `make(recipient)`."""

    def __init__(self, make: Callable[[str], Exception]) -> None:
        self.make = make

    def send_email(self, **request: Any) -> Any:
        raise self.make(request["Destination"]["ToAddresses"][0])

    def publish(self, **request: Any) -> Any:
        raise self.make(request.get("PhoneNumber", ""))


AWS_FAILURES: dict[str, Callable[[str], Exception]] = {
    "rejected": lambda to: client_error(
        "MessageRejected",
        f"Email address is not verified. The following identities failed the check: {to}",
        "SendEmail",
    ),
    "invalid": lambda to: client_error(
        "InvalidParameter", f"Invalid parameter: PhoneNumber Reason: {to} is not valid", "Publish"
    ),
    "spaced": lambda to: client_error(
        "InvalidParameter", f"Invalid parameter: {to[:3]} {to[3:7]} {to[7:]} opted out", "Publish"
    ),
    "param": lambda to: ParamValidationError(report=f"Invalid value {to!r} for PhoneNumber"),
    "unexpected": lambda to: RuntimeError(f"something broke while sending to {to}"),
}


@pytest.mark.parametrize("failure", list(AWS_FAILURES))
def test_ses_and_sns_failures_leak_nothing(
    failure: str, captured: Callable[[], tuple[str, str, str]]
) -> None:
    client = FailingAws(AWS_FAILURES[failure])
    notifiers = {
        "email": SesNotifier("releasewatch@example.org", client=client),
        "sms": SnsSmsNotifier(client=client),
    }
    store = run_tick(notifiers)  # type: ignore[arg-type]
    assert len(failures(store)) == 3
    assert_nothing_leaked(*captured(), *failures(store))


# -- console and outbox --------------------------------------------------------------------------
def test_a_broken_outbox_leaks_nothing(
    tmp_path: Path, captured: Callable[[], tuple[str, str, str]]
) -> None:
    blocked = tmp_path / "outbox"
    blocked.write_text("a file where the outbox folder should be")
    store = run_tick(local_notifiers(blocked))
    assert len(failures(store)) == 3
    assert_nothing_leaked(*captured(), *failures(store))


def test_the_console_names_people_and_never_their_address(
    tmp_path: Path, captured: Callable[[], tuple[str, str, str]]
) -> None:
    store = run_tick(local_notifiers(tmp_path / "outbox"))
    assert failures(store) == []
    out, err, logs = captured()
    assert "Alice Publisher" in out
    assert_nothing_leaked(out, err, logs)
