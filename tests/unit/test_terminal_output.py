"""What servers send (headers, redirect URLs, reasons quoting a page) is shown on terminals by
the run console and `status`: a control character in it is shown escaped, never obeyed."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from releasewatch.commands.status import _row
from releasewatch.local.printer import ConsolePrinter, for_terminal
from releasewatch.model import Check, ReleaseRecord
from tests.factories import make_release

EVIL = "\x1b]0;owned\x07\x1b[2J\x9b31m\x7f\u202e\r\n"
SHOWN = "\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\x7f\\u202e\\r\\n"
AT = datetime(2025, 7, 17, 8, 31, tzinfo=UTC)


def hostile_check() -> Check:
    return Check(
        release_id="lms-2025-07",
        at=AT,
        url="https://stats.example.com/x",
        live=False,
        reason=f"redirected to https://stats.example.com/{EVIL}",
        status=200,
        age=EVIL,
        x_cache=EVIL,
        cache_control=EVIL,
    )


def test_for_terminal_escapes_control_characters_and_keeps_the_rest() -> None:
    assert for_terminal(EVIL) == SHOWN
    assert for_terminal("Labour market — July £") == "Labour market — July £"


def test_the_run_console_prints_server_values_escaped() -> None:
    out = io.StringIO()
    ConsolePrinter(out)("check", hostile_check())
    printed = out.getvalue()
    assert not any(ch in printed for ch in "\x1b\x07\x9b\x7f\u202e\r")
    assert printed.count("\n") == 1
    assert f"redirected to https://stats.example.com/{SHOWN}" in printed
    assert f"age={SHOWN}" in printed and f"x-cache={SHOWN}" in printed


def test_status_prints_the_last_checks_reason_escaped() -> None:
    record = ReleaseRecord(release=make_release(), last_check=hostile_check())
    cells = _row(record, "Due now, not live yet")
    assert not any(ch in cell for cell in cells for ch in "\x1b\x07\x9b\x7f\u202e\r\n")
    assert SHOWN in cells[3]


def test_messages_echoed_to_the_console_are_escaped() -> None:
    from releasewatch.notify.base import Message
    from releasewatch.notify.console import ConsoleNotifier

    out = io.StringIO()
    ConsoleNotifier(out).send(
        Message(
            channel="email",
            to="team@example.com",
            contact_id="team",
            contact_name="Stats team",
            subject=f"NOT LIVE: {EVIL}",
            text=f"What the last check saw: {EVIL}\n  final URL: https://x.example.com/{EVIL}",
        )
    )
    printed = out.getvalue()
    assert not any(ch in printed for ch in "\x1b\x07\x9b\x7f\u202e\r")
    assert f"NOT LIVE: {SHOWN}" in printed
