"""What the local runner prints as it happens: findings, state changes, sends, failures.

Names and roles only: no address ever reaches the terminal.
"""

from __future__ import annotations

import sys
import threading
from datetime import datetime
from typing import TextIO

from ..model import Check, Notification, ReleaseRecord, ReleaseState, is_control_char
from ..timefmt import uk


def for_terminal(value: object) -> str:
    """`value` as text with every control character shown as an escape (ESC as \\x1b, CSI as
    \\x9b, newline as \\n): what a server sends (headers, redirect URLs, reasons quoting
    them) must not move the cursor, recolour, retitle or clear the terminal it is shown on."""
    text = str(value)
    if not any(is_control_char(ch) for ch in text):
        return text
    return "".join(_escape(ch) if is_control_char(ch) else ch for ch in text)


def _escape(ch: str) -> str:
    code = ord(ch)
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch)
    return named or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def _hms(when: datetime) -> str:
    local = uk(when)
    return f"{local:%H:%M:%S} {local.tzname()}"


class ConsolePrinter:
    """An observer for Watchdog: call it with (what, payload)."""

    def __init__(self, stream: TextIO | None = None, *, quiet_checks: bool = False) -> None:
        self._stream = stream
        self._quiet_checks = quiet_checks
        self._last: dict[str, tuple[bool, int | None, str]] = {}  # live, status, what
        self._lock = threading.Lock()

    def __call__(self, what: str, payload: object) -> None:
        line = self._format(what, payload)
        if line is None:
            return
        stream = self._stream or sys.stdout
        with self._lock:
            print(line, file=stream, flush=True)

    def _format(self, what: str, payload: object) -> str | None:
        if what == "check" and isinstance(payload, Check):
            return self._check(payload)
        if what == "state" and isinstance(payload, tuple):
            record, previous = payload
            assert isinstance(record, ReleaseRecord) and isinstance(previous, ReleaseState)
            when = _hms(record.updated_at) if record.updated_at else ""
            return (
                f"{when:>12}  == {for_terminal(record.id)}: "
                f"{previous.value} -> {record.state.value}"
            )
        if what == "failed" and isinstance(payload, tuple):
            notification, reason = payload
            assert isinstance(notification, Notification)
            return (
                f"              !! {notification.kind.value} by {notification.channel} to "
                f"{for_terminal(notification.contact_id)} failed: {for_terminal(reason)}"
            )
        return None  # "sent": the console notifier prints the message itself

    def _check(self, check: Check) -> str | None:
        key = (check.live, check.status, f"{check.reason} {check.judged_url}")
        if self._quiet_checks and self._last.get(check.release_id) == key:
            return None
        self._last[check.release_id] = key
        verdict = "LIVE" if check.live else "not live"
        status = str(check.status) if check.status is not None else (check.error or "-")
        cache = []
        if check.age is not None:
            cache.append(f"age={check.age}")
        if check.x_cache:
            cache.append(f"x-cache={check.x_cache}")
        extra = f" [{' '.join(cache)}]" if cache else ""
        # Named only when it says something the line does not: a page judged at its own
        # final URL would repeat it on every line.
        if check.judged_url and check.judged_url != check.final_url:
            extra += f" (judged {check.judged_url})"
        return for_terminal(
            f"{_hms(check.at):>12}  {check.release_id}: {verdict:<8} {status:>4} "
            f"{check.reason}{extra}"
        )
