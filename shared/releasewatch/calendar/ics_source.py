"""An iCalendar (RFC 5545) feed, parsed with the maintained `icalendar` package.

Each VEVENT is one release: SUMMARY the title, URL the page (or DESCRIPTION's first URL when
there is no URL property, as some exports do), DTSTART the due time. A DTSTART with a zone or
in UTC is exact; a floating one is Europe/London; a date alone is provisional. STATUS is read
leniently (ONS writes non-standard values): CANCELLED cancels, TENTATIVE or PROVISIONAL is
provisional, anything else is confirmed.

A recurring event (RRULE or RDATE, with its RECURRENCE-ID overrides and EXDATEs) is one release
per occurrence from a week back (as long as a past release is kept) to HORIZON ahead, expanded
by `recurring-ical-events`. Each occurrence's id is its UID and original start (RECURRENCE-ID),
so a re-sync is idempotent and an override that moves one occurrence is a move of that release.
{Month} {yyyy} and the like in SUMMARY or URL name each occurrence's month (fill); a series
whose releases would all share one URL and title is skipped: last month's page would pass for
this month's, an early release that never happened.
Expansion is bounded: a rule repeating more than daily, or more than once a day, with an
INTERVAL below 1 or above MAX_INTERVAL, a series starting over MAX_SERIES_AGE ago or after
LAST_YEAR, more than MAX_OCCURRENCES in the horizon, or more than MAX_SERIES_PERIODS periods
tried (a rule that never matches walks to the year 9999: expansion.py) is skipped with its
reason, never expanded at length. A file whose series together try more than
MAX_SOURCE_PERIODS periods fails whole, as does one with more than MAX_SOURCE_ENTRIES entries.
Dates outside FIRST_YEAR..LAST_YEAR are refused with the property named.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import icalendar
import recurring_ical_events  # type: ignore[import-untyped]

from ..model import first_control_char
from ..timefmt import LONDON
from .announcement import (
    Announcement,
    AnnState,
    FeedError,
    Parsed,
    Skipped,
    in_range,
    plain,
    release_id,
    utc_instant,
)
from .expansion import ExpansionTooLong, budget

_URL = re.compile(r"https?://[^\s<>\"]+")
LOOKBACK = timedelta(days=7)  # sync.KEEP_GONE_FOR: a past occurrence is kept this long
HORIZON = timedelta(days=400)  # a 12-month calendar (Code 3.0, 3.1), with room to spare
MAX_OCCURRENCES = 500  # per series in the horizon and the week back: daily ones fit
MAX_RULES = 4  # RRULEs in one event (RFC 5545 allows several; one is usual)
MAX_SERIES_AGE = timedelta(days=50 * 366)  # expansion walks from DTSTART: bound the walk
MAX_INTERVAL = 1000  # INTERVAL=0 never advances; a huge one overflows the date arithmetic
# Periods dateutil may try (a day for a daily rule): a daily series 50 years old takes ~18,700.
MAX_SERIES_PERIODS = 40_000
MAX_SOURCE_PERIODS = 200_000  # all the file's series together: about a second of CPU
_TOO_OFTEN = frozenset({"SECONDLY", "MINUTELY", "HOURLY"})
_RECURRING = ("RRULE", "RDATE", "RECURRENCE-ID")


def parse_ics(data: bytes, now: datetime | None = None) -> Parsed:
    """The feed's releases; recurring events are expanded around `now` (the sync's time), and
    skipped with a reason when there is none."""
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except Exception as exc:  # icalendar's errors quote the line: never echo a file's contents
        raise FeedError(f"not an iCalendar file ({type(exc).__name__})") from None
    try:
        with budget(MAX_SOURCE_PERIODS):
            return _releases(calendars, now)
    except ExpansionTooLong:
        raise FeedError(
            f"its recurring events need more than {MAX_SOURCE_PERIODS} recurrence periods "
            "together (the cap per calendar source); nothing from it is imported"
        ) from None
    except FeedError:
        raise
    except Exception as exc:  # a hostile file fails as this source's error, never the sync
        raise FeedError(f"not a usable iCalendar file ({type(exc).__name__})") from None


def _releases(calendars: list[Any], now: datetime | None) -> Parsed:
    out = Parsed()
    n = 0
    for cal in calendars:
        series: dict[str, list[tuple[int, Any]]] = {}
        for event in cal.walk("VEVENT"):
            n += 1
            uid = plain(str(event.get("UID", "")))
            where = f"event {n}" + (f" (UID {uid[:60]})" if uid else "")
            title = plain(str(event.get("SUMMARY", "")))
            if uid and any(name in event for name in _RECURRING):
                series.setdefault(uid, []).append((n, event))
                continue
            result = _event(event, uid, title)
            if isinstance(result, Announcement):
                out.add(result)
            else:
                out.skip(Skipped(where, result, title))
        for uid, members in series.items():
            _expand(cal, uid, members, now, out)
    return out


def _expand(
    cal: Any, uid: str, members: list[tuple[int, Any]], now: datetime | None, out: Parsed
) -> None:
    """One release per occurrence of a recurring series (all its VEVENTs share `uid`), or one
    Skipped for the whole series; never half of it."""
    n, master = next(((i, e) for i, e in members if "RECURRENCE-ID" not in e), members[0])
    where = f"event {n} (UID {plain(uid)[:60]})"
    title = plain(str(master.get("SUMMARY", "")))
    if now is None:
        out.skip(Skipped(where, "a recurring event, read without a sync time", title))
        return
    start, end = now - LOOKBACK, now + HORIZON
    found: list[Announcement] = []
    skipped: list[Skipped] = []
    try:  # a hostile rule must never stop the sync: icalendar raises as a broken one is read
        why = _unbounded(master, now)
    except Exception as exc:
        why = f"recurrence cannot be read: {type(exc).__name__}: {str(exc)[:100]}"
    if why is None:
        sub = icalendar.Calendar()
        for tz in cal.walk("VTIMEZONE"):
            sub.add_component(tz)
        for _, event in members:
            sub.add_component(event)
        try:
            # between(), not after(): after() widens its window and rescans the rule each time
            # (4 s for a daily series); _unbounded keeps what between() returns small, and the
            # budget the walk to it (the file's own budget is spent too).
            with budget(MAX_SERIES_PERIODS) as own:
                try:
                    occurrences = recurring_ical_events.of(sub).between(start, end)
                except ExpansionTooLong as exc:
                    if exc.budget is not own:
                        raise  # the file's budget, spent: the whole source fails
                    occurrences, why = (
                        [],
                        (
                            f"its rule was tried over {MAX_SERIES_PERIODS} periods without ending "
                            "(a rule that never matches, such as 31 April, or one far too long)"
                        ),
                    )
            if len(occurrences) > MAX_OCCURRENCES:
                why = f"more than {MAX_OCCURRENCES} occurrences before {end:%Y-%m-%d}"
                occurrences = []
            for occurrence in occurrences:
                when = _instant(occurrence.get("DTSTART"))
                original = _instant(occurrence.get("RECURRENCE-ID")) or when
                stamp = f"{original:%Y%m%dT%H%MZ}" if original is not None else "undated"
                result = _event(occurrence, uid, plain(str(occurrence.get("SUMMARY", ""))))
                if isinstance(result, Announcement):
                    day = (original or result.due or start).astimezone(LONDON).date()
                    update = {
                        "id": _occurrence_id(uid, stamp),
                        "series": plain(uid),
                        "title": fill(result.title, day),
                        "url": fill(result.url, day),
                    }
                    found.append(result.model_copy(update=update))
                else:
                    skipped.append(Skipped(f"{where} on {stamp}", result, title))
        except ExpansionTooLong:
            raise
        except Exception as exc:  # a hostile rule must never stop the sync
            why = f"recurrence cannot be expanded: {type(exc).__name__}: {str(exc)[:100]}"
    if why is None and len({(a.url, a.title) for a in found}) < len(found):
        why = (
            "its releases share one URL and title, so an earlier release's page would pass for "
            "the next one (an early release): put {Month} {yyyy} (or {month}, {mm}, {dd}; "
            "{Month-1} {yyyy-1} for the month before) in its SUMMARY or URL"
        )
    if why is not None:
        out.skip(Skipped(where, why, title))
        return
    for announcement in found:
        out.add(announcement)
    for skip in skipped:
        out.skip(skip)


_PLACEHOLDER = re.compile(r"\{(yyyy|mm|dd|month|Month)([+-]\d{1,2})?\}")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def fill(text: str, day: date) -> str:
    """A recurring event's SUMMARY or URL for the occurrence on `day` (its original date, in
    London): {yyyy} {mm} {dd} {month} (july) {Month} (July). An offset is in months, for any
    of them: {Month-1} {yyyy-1} is the month before and its year (the period a release
    usually covers)."""

    def one(m: re.Match[str]) -> str:
        months = day.year * 12 + day.month - 1 + int(m.group(2) or 0)
        year, month = divmod(months, 12)
        name = _MONTHS[month]
        return {
            "yyyy": f"{year:04d}",
            "mm": f"{month + 1:02d}",
            "dd": f"{day.day:02d}",
            "month": name.lower(),
            "Month": name,
        }[m.group(1)]

    return _PLACEHOLDER.sub(one, text)


def _unbounded(master: Any, now: datetime) -> str | None:
    """Why expanding this series could take unbounded time, or None."""
    rules = master.get("RRULE")
    rules = rules if isinstance(rules, list) else [rules] if rules is not None else []
    if len(rules) > MAX_RULES:
        return f"{len(rules)} RRULEs: at most {MAX_RULES}"
    rdates = master.get("RDATE")
    listed = sum(
        len(r.dts) for r in (rdates if isinstance(rdates, list) else [rdates] if rdates else [])
    )
    if listed > MAX_OCCURRENCES:
        return f"{listed} RDATE values: at most {MAX_OCCURRENCES}"
    for rule in rules:
        freq = [str(f).upper() for f in rule.get("FREQ", [])]
        if any(f in _TOO_OFTEN for f in freq):
            return f"RRULE FREQ={freq[0]}: a release repeats at most daily"
        for interval in rule.get("INTERVAL", []):
            if not isinstance(interval, int) or not 1 <= interval <= MAX_INTERVAL:
                return f"RRULE INTERVAL={str(interval)[:20]}: expected 1 to {MAX_INTERVAL}"
        for part in ("BYHOUR", "BYMINUTE", "BYSECOND"):
            if len(rule.get(part, [])) > 1:
                return f"RRULE {part} has several values: a release comes once a day at most"
    first = _instant(master.get("DTSTART"))
    if first is not None and first < now - MAX_SERIES_AGE:
        return f"the series starts {first:%Y-%m-%d}, over 50 years ago"
    raw = getattr(master.get("DTSTART"), "dt", None)
    if isinstance(raw, date):  # the calendar's edge overflows in UTC: _instant gives None
        why = in_range(raw, "DTSTART")
        if why is not None:
            return why
    if first is None and "DTSTART" in master:
        return "DTSTART is not a valid date or time"
    return None


def _instant(prop: Any) -> datetime | None:
    """A DTSTART or RECURRENCE-ID as a UTC instant (a date: its London midnight), or None
    (none, not a date, or one at the edge of the calendar, which overflows in UTC)."""
    try:
        value = getattr(prop, "dt", None)
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=LONDON)).astimezone(UTC)
        if isinstance(value, date):
            return datetime.combine(value, time(), tzinfo=LONDON).astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return None


def _occurrence_id(uid: str, stamp: str) -> str:
    return release_id("ics", f"{uid}@{stamp}")


def _event(event: Any, uid: str, title: str) -> Announcement | str:
    if not uid:
        return "no UID"
    if not title:
        return "no SUMMARY (title)"
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
        why = in_range(start, "DTSTART")
        if why is not None:
            return why
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
    why = in_range(start, "DTSTART")
    if why is not None:  # before the arithmetic below, which overflows at the calendar's edge
        return why
    tz = start.tzinfo
    naive = start.replace(tzinfo=None)
    early, late = naive.replace(tzinfo=tz, fold=0), naive.replace(tzinfo=tz, fold=1)
    try:
        if early.utcoffset() != late.utcoffset():
            round_trip = early.astimezone(UTC).astimezone(tz).replace(tzinfo=None)
            if round_trip != naive:
                return (
                    f"DTSTART {naive:%Y-%m-%d %H:%M} does not exist in {tz} (the clocks go forward)"
                )
            return f"DTSTART {naive:%Y-%m-%d %H:%M} is ambiguous in {tz} (the clocks go back)"
    except (OverflowError, ValueError):
        return "DTSTART cannot be expressed in UTC"
    return utc_instant(start, "DTSTART")
