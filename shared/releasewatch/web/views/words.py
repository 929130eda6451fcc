"""Times and states in words for the board: seconds shown, UK local time, nothing internal."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from ...model import Check
from ...timefmt import delay_text, uk


def clock_time(when: datetime) -> str:
    """'09:42:05' in UK local time (the zone is said once per page, not on every time)."""
    return f"{uk(when):%H:%M:%S}"


def short_time(when: datetime) -> str:
    """'09:30' in UK local time, where the view names the day; a due time with seconds keeps
    them ('09:30:30'), rather than show a time it is not."""
    local = uk(when)
    return f"{local:%H:%M:%S}" if local.second else f"{local:%H:%M}"


def long_day(day: date) -> str:
    """'Thursday 17 July'"""
    return f"{day:%A} {day.day} {day:%B}"


def day_time(when: datetime) -> str:
    """'Thu 17 Jul 09:30'"""
    return f"{uk(when):%a %d %b %H:%M}"


def zone(when: datetime) -> str:
    """'BST' or 'GMT'"""
    return uk(when).tzname() or ""


def age(since: datetime, now: datetime) -> str:
    """'12 s ago', '3 min ago', '1 h 5 min ago'; 'just now' within a second."""
    seconds = (now - since).total_seconds()
    if seconds < 1:
        return "just now"
    return f"{delay_text(timedelta(seconds=seconds))} ago"


def minutes(delta: timedelta) -> int:
    """Whole minutes, rounded down (12 min 59 s late is 12 min late)."""
    return max(0, int(delta.total_seconds() // 60))


def check_verdict(check: Check) -> str:
    """'Live: HTTP 200' / 'Not live: HTTP 404 (status 404, expected 200)' / 'No answer: timeout'.
    Live by the public path: 'Live: public path HTTP 200 (origin HTTP 503)', never 'Live: HTTP
    503' (the origin's status, which did not show it live) nor 'No answer' (an origin timeout)."""
    public = check.public
    if check.live and public is not None and public.live:
        origin = f"HTTP {check.status}" if check.status is not None else _error_words(check.error)
        return f"Live: public path HTTP {public.status} (origin {origin})"
    if check.status is None:
        return f"No answer: {check.reason or _error_words(check.error)}"
    seen = f"HTTP {check.status}"
    if check.live:
        return f"Live: {seen}"
    if check.reason and check.reason != f"status {check.status}":
        return f"Not live: {seen} ({check.reason})"
    return f"Not live: {seen}"


_ERRORS = {
    "timeout": "timed out",
    "connect": "could not connect",
    "tls": "secure connection failed",
    "too_many_redirects": "too many redirects",
    "refused": "address refused by the guard",
    "reset": "connection reset",
    "protocol": "bad HTTP from the server",
    "body_too_large": "page too large",
}


def _error_words(error: str | None) -> str:
    if not error:
        return "no answer"
    head = error.split(":", 1)[0].strip().lower()
    return _ERRORS.get(head, error.replace("_", " "))


def ordinal(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"
