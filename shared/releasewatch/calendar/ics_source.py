"""An iCalendar (RFC 5545) feed, parsed with the maintained `icalendar` package.

Each VEVENT is one release: SUMMARY the title, URL the page (or DESCRIPTION's first URL when
there is no URL property, as some exports do), DTSTART the due time. A DTSTART with a zone or
in UTC is exact; a floating one is Europe/London; a date alone is provisional. STATUS is read
leniently (ONS writes non-standard values): CANCELLED cancels, TENTATIVE or PROVISIONAL is
provisional, anything else is confirmed. Recurring events are not expanded (yet): skipped.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import icalendar

from ..model import first_control_char
from ..timefmt import LONDON
from .announcement import Announcement, AnnState, FeedError, Parsed, Skipped, plain, release_id

_URL = re.compile(r"https?://[^\s<>\"]+")


def parse_ics(data: bytes) -> Parsed:
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except (ValueError, IndexError, KeyError) as exc:
        raise FeedError(f"not an iCalendar file: {str(exc)[:120]}") from None
    out = Parsed()
    n = 0
    for cal in calendars:
        for event in cal.walk("VEVENT"):
            n += 1
            uid = str(event.get("UID", "")).strip()
            where = f"event {n}" + (f" (UID {plain(uid)[:60]})" if uid else "")
            title = plain(str(event.get("SUMMARY", "")))
            result = _event(event, uid, title)
            if isinstance(result, Announcement):
                out.announcements.append(result)
            else:
                out.skipped.append(Skipped(where, result, title))
    return out


def _event(event: Any, uid: str, title: str) -> Announcement | str:
    if not uid:
        return "no UID"
    if not title:
        return "no SUMMARY (title)"
    if "RRULE" in event or "RDATE" in event:
        return "a recurring event: recurrences are not expanded yet; list each release"
    url = str(event.get("URL", "")).strip()
    if not url:
        found = _URL.search(str(event.get("DESCRIPTION", "")))
        url = found.group(0) if found else ""
    if not url:
        return "no URL"
    if first_control_char(url) is not None:
        return "URL contains a control character"
    status = str(event.get("STATUS", "")).strip().upper()
    state = AnnState.CONFIRMED
    if status == "CANCELLED":
        state = AnnState.CANCELLED
    elif status in ("TENTATIVE", "PROVISIONAL"):
        state = AnnState.PROVISIONAL
    prop = event.get("DTSTART")
    try:  # icalendar keeps a broken property and raises (a ValueError) when it is read
        start = getattr(prop, "dt", None)
    except ValueError:
        return "DTSTART is not a valid date or time"
    due: datetime | None = None
    if start is None:
        if state is not AnnState.CANCELLED:
            return "no DTSTART (no due date and time)"
    elif isinstance(start, datetime):
        due_or_reason = _exact(start)
        if isinstance(due_or_reason, str):
            return due_or_reason
        due = due_or_reason
    elif isinstance(start, date):
        if state is AnnState.CONFIRMED:
            state = AnnState.PROVISIONAL  # a day without a time is not a release time
    else:
        return "DTSTART is not a valid date or time"
    return Announcement(
        id=release_id("ics", uid),
        title=title,
        url=url,
        state=state,
        due=due,
        display_date=str(start) if start is not None else "",
    )


def _exact(start: datetime) -> datetime | str:
    """The UTC instant, or why there is none: a local time the clocks skip or repeat."""
    if start.tzinfo is None:
        start = start.replace(tzinfo=LONDON)  # floating time: the producer's, Europe/London
    tz = start.tzinfo
    naive = start.replace(tzinfo=None)
    early, late = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    if early.utcoffset() != late.utcoffset():
        round_trip = early.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
        if round_trip != naive:
            return f"DTSTART {naive:%Y-%m-%d %H:%M} does not exist in {tz} (the clocks go forward)"
        return f"DTSTART {naive:%Y-%m-%d %H:%M} is ambiguous in {tz} (the clocks go back)"
    return start.astimezone(UTC)
