"""UK local time: authoring (Europe/London → UTC) and display (UTC → '09:30 BST')."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

_LOCAL = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?"
    r"(?P<frac>\.\d+)?\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)


def parse_due(text: str) -> datetime:
    """'2025-07-17 09:30' (Europe/London) or with an offset ('...+01:00', '...Z') → UTC.

    Raises ValueError for a time that does not exist or is ambiguous in Europe/London (the hour
    the clocks change): a release due then must give an explicit offset.
    """
    match = _LOCAL.fullmatch(text.strip())
    if not match:
        raise ValueError(
            f"{text!r} is not a date and time; expected 'YYYY-MM-DD HH:MM' in Europe/London, "
            "or with an offset like '2025-07-17T09:30+01:00'"
        )
    iso = f"{match['date']}T{int(match['h']):02d}:{match['m']}:{match['s'] or '00'}"
    try:
        naive = datetime.fromisoformat(iso)
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    if match["tz"]:
        tz = match["tz"].replace("Z", "+00:00")
        return datetime.fromisoformat(iso + tz).astimezone(UTC)
    early = naive.replace(tzinfo=LONDON, fold=0)
    late = naive.replace(tzinfo=LONDON, fold=1)
    if early.utcoffset() != late.utcoffset():
        round_trip = early.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None)
        if round_trip != naive:
            raise ValueError(
                f"{text!r} does not exist in Europe/London (the clocks go forward then); "
                "give an explicit offset"
            )
        raise ValueError(
            f"{text!r} is ambiguous in Europe/London (the clocks go back, so it happens twice); "
            "give an explicit offset such as +01:00 or +00:00"
        )
    return early.astimezone(UTC)


def uk(when: datetime) -> datetime:
    return when.astimezone(LONDON)


def uk_time(when: datetime) -> str:
    """'09:35 BST'"""
    local = uk(when)
    return f"{local:%H:%M} {local.tzname()}"


def uk_datetime(when: datetime) -> str:
    """'Thu 17 Jul 2025 09:35 BST'"""
    local = uk(when)
    return f"{local:%a %d %b %Y %H:%M} {local.tzname()}"


def uk_datetime_seconds(when: datetime) -> str:
    local = uk(when)
    return f"{local:%a %d %b %Y %H:%M:%S} {local.tzname()}"


def delay_text(delta: timedelta) -> str:
    """'2 h 30 min', '8 min', '45 s'; beyond 48 hours '35 days 17 h' — for people, not
    config (nobody reads '857 h 9 min' as five weeks)."""
    seconds = int(abs(delta.total_seconds()))
    if seconds > 48 * 3600:
        days, rest = divmod(seconds, 86400)
        hours = rest // 3600
        return f"{days} days {hours} h" if hours else f"{days} days"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def utc_iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def from_utc_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


__all__ = [
    "LONDON",
    "delay_text",
    "from_utc_iso",
    "parse_due",
    "uk",
    "uk_datetime",
    "uk_datetime_seconds",
    "uk_time",
    "utc_iso",
]
