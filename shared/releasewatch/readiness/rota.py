"""Rotas: who is on call at an instant. Pure: (rota, instant) → contact ids.

A rota is read once, with the config, into shifts (model.Shift): weekly entries keep their
Europe/London clock times (so a shift stays 08:00-18:00 across a clock change), iCal events
become UTC intervals, with simple RRULEs expanded by dateutil (icalendar alone; the LGPL
recurring-ical-events is not needed for a rota's plain repeats).
Reading is total and bounded: any file gives a rota or a RotaError naming the event and what is
wrong (never the file's lines), INTERVAL=0 and dates outside FIRST_YEAR..LAST_YEAR are refused,
and expansion is bounded by periods tried (calendar/expansion.py) and shifts kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr  # type: ignore[import-untyped]

from ..model import Contact, Release, Rota, Shift

LONDON = ZoneInfo("Europe/London")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LEVEL = re.compile(r"^\s*\[L(\d)\]\s*")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
# A recurring event is expanded this many times at most: a daily shift for about 5 years.
MAX_OCCURRENCES = 2000
MAX_SHIFTS = 20_000  # the rota's shifts together (on_call scans them all)
MAX_PERIODS = 200_000  # recurrence periods tried, all events together (about a second)
MAX_INTERVAL = 1000
FIRST_YEAR, LAST_YEAR = 2000, 2100  # a shift outside these years is a broken file


class RotaError(ValueError):
    """A rota that cannot be read; the message says what is expected."""


def on_call(rota: Rota, at: datetime) -> tuple[str, ...]:
    """The contact ids on call at `at`: an override shift wins over the main calendar, then
    the lowest `[Ln]` level; a later weekly entry overrides an earlier one."""
    if rota.source == "weekly":
        local = at.astimezone(LONDON)
        day, clock = local.weekday(), local.time().replace(tzinfo=None)
        found = None
        for s in rota.shifts:
            end = s.end_time or time.max
            if day in s.days and s.start_time is not None and s.start_time <= clock < end:
                found = s.contact  # later entries override earlier ones
        return (found,) if found is not None else ()
    active = [s for s in rota.shifts if s.start and s.end and s.start <= at < s.end]
    if not active:
        return ()
    overrides = [s for s in active if s.override]
    pool = overrides or active
    best = min(s.level for s in pool)
    return tuple(dict.fromkeys(s.contact for s in pool if s.level == best))


def resolve(release: Release, contact_id: str, at: datetime) -> list[tuple[str, str | None]]:
    """(person, rota or None) for a contact named in a step: a plain contact is itself; a rota
    is whoever is on call at `at`, which may be nobody (an empty list)."""
    contact = release.contacts.get(contact_id)
    if contact is None or contact.rota is None:
        return [(contact_id, None)]
    return [(cid, contact_id) for cid in on_call(contact.rota, at) if cid in release.contacts]


def reach(
    release: Release, contact_ids: Sequence[str], at: datetime
) -> list[tuple[str, str | None, bool]]:
    """(person, rota they are told for, whether nobody was on call) for the contacts a step
    names, at `at`. A rota with nobody on call falls back to the chain's first step, so the
    statistics team hears instead of nobody."""
    out: list[tuple[str, str | None, bool]] = []
    for cid in contact_ids:
        people = resolve(release, cid, at)
        if people:
            out += [(person, via, False) for person, via in people]
            continue
        for first in (c for s in release.steps[:1] for c in s.notify):
            out += [(person, cid, True) for person, _ in resolve(release, first, at)]
    return out


def by_address(contact: Contact, by_email: dict[str, str]) -> Contact:
    """The rota with each member given by email address (an iCal ATTENDEE) as its contact id."""
    if contact.rota is None:
        return contact
    shifts = tuple(
        s.model_copy(update={"contact": by_email.get(s.contact.lower(), s.contact)})
        for s in contact.rota.shifts
    )
    return contact.model_copy(update={"rota": contact.rota.model_copy(update={"shifts": shifts})})


def members(contact: Contact) -> set[str]:
    return {s.contact for s in contact.rota.shifts} if contact.rota is not None else set()


def weekly(entries: Any) -> Rota:
    """`[{days: [mon, tue], from: "08:00", to: "18:00", contact: alice}, ...]`, Europe/London;
    `to: "24:00"` is the end of the day."""
    if not isinstance(entries, list) or not entries:
        raise RotaError("weekly: expected a list of {days, from, to, contact} entries")
    shifts = []
    for i, e in enumerate(entries):
        where = f"weekly[{i}]"
        if not isinstance(e, dict) or set(e) - {"days", "from", "to", "contact"}:
            raise RotaError(f"{where}: expected a mapping with days, from, to and contact")
        days = e.get("days")
        if isinstance(days, str):
            days = [days]
        if not isinstance(days, list) or not days or any(d not in DAYS for d in days):
            raise RotaError(f"{where}.days: expected a list of {', '.join(DAYS)}")
        start, end = _clock(e.get("from", "00:00"), f"{where}.from"), None
        if e.get("to", "24:00") != "24:00":
            end = _clock(e.get("to"), f"{where}.to")
            if end <= start:
                raise RotaError(f"{where}.to: must be after from (use 24:00 for midnight)")
        contact = e.get("contact")
        if not isinstance(contact, str):
            raise RotaError(f"{where}.contact: expected a contact id")
        shifts.append(
            Shift(
                contact=contact,
                days=tuple(DAYS.index(d) for d in days),
                start_time=start,
                end_time=end,
            )
        )
    return Rota(shifts=tuple(shifts), source="weekly")


def _clock(value: Any, where: str) -> time:
    m = _HHMM.match(value) if isinstance(value, str) else None
    if m is None:
        raise RotaError(f'{where}: expected a time like "08:00" (Europe/London)')
    return time(int(m.group(1)), int(m.group(2)))


def ics(data: bytes, override: bytes | None = None) -> Rota:
    """An iCal schedule (Grafana OnCall style): each event's SUMMARY (after an optional `[Ln]`
    prefix) or else its first ATTENDEE names the contact on call."""
    # Absolute: this module is moving into a package, and the import must survive the move.
    from releasewatch.calendar.expansion import ExpansionTooLong, budget

    calendars = [(data, False)] + ([(override, True)] if override is not None else [])
    shifts: list[Shift] = []
    try:
        with budget(MAX_PERIODS):
            for raw, is_override in calendars:
                for shift in _events(raw, is_override):
                    shifts.append(shift)
                    if len(shifts) > MAX_SHIFTS:
                        raise RotaError(f"more than {MAX_SHIFTS} shifts: at most {MAX_SHIFTS}")
    except ExpansionTooLong:
        raise RotaError(
            f"its recurring events were tried over {MAX_PERIODS} periods without ending "
            "(a rule that never matches, such as 31 April, or one far too long)"
        ) from None
    except RotaError:
        raise
    except Exception as exc:  # hostile input is a RotaError with a reason, never a crash
        raise RotaError(f"not a usable iCalendar file ({type(exc).__name__})") from None
    return Rota(shifts=tuple(shifts), source="ics")


def _events(data: bytes, is_override: bool) -> Iterable[Shift]:
    import icalendar

    try:
        cal = icalendar.Calendar.from_ical(data)
    except Exception as exc:  # icalendar's errors quote the line: never echo a file
        raise RotaError(f"not an iCalendar file ({type(exc).__name__})") from None
    for event in cal.walk("VEVENT"):
        summary = str(event.get("SUMMARY", "")).strip()
        m = _LEVEL.match(summary)
        level = int(m.group(1)) if m else 10
        who = summary[m.end() :].strip() if m else summary
        if not who and event.get("ATTENDEE") is not None:
            attendee = event.get("ATTENDEE")
            first = attendee[0] if isinstance(attendee, list) else attendee
            who = str(first).removeprefix("mailto:").removeprefix("MAILTO:")
        uid = str(event.get("UID", "?"))[:60]
        if not who:
            raise RotaError(f"event {uid}: expected a contact id as its SUMMARY or ATTENDEE")
        if event.get("DTSTART") is None or event.get("DTEND") is None:
            raise RotaError(f"event {uid}: expected DTSTART and DTEND")
        try:
            local_start = _local(event.decoded("DTSTART"), f"event {uid}: DTSTART")
            local_end = _local(event.decoded("DTEND"), f"event {uid}: DTEND")
        except (ValueError, TypeError, KeyError) as exc:
            if isinstance(exc, RotaError):
                raise
            raise RotaError(f"event {uid}: DTSTART or DTEND is not a date or time") from None
        start, end = _instant(local_start, uid), _instant(local_end, uid)
        if end <= start:
            raise RotaError(f"event {uid}: DTEND must be after DTSTART")
        starts = [start]
        if event.get("RRULE") is not None:
            raw_rule = event["RRULE"].to_ical()
            rule = raw_rule.decode() if isinstance(raw_rule, bytes) else str(raw_rule)
            recur: Any = event["RRULE"]
            for interval in recur.get("INTERVAL", []):
                if not isinstance(interval, int) or not 1 <= interval <= MAX_INTERVAL:
                    raise RotaError(
                        f"event {uid}: RRULE INTERVAL={str(interval)[:20]}: expected 1 to "
                        f"{MAX_INTERVAL}"
                    )
            try:
                # Expanded from the local start, so 08:00 stays 08:00 across a clock change.
                it = rrulestr(rule, dtstart=local_start)
                starts = [
                    _instant(s, uid) for _, s in zip(range(MAX_OCCURRENCES), it, strict=False)
                ]
            except (ValueError, TypeError, OverflowError) as exc:
                if isinstance(exc, RotaError):
                    raise
                raise RotaError(f"event {uid}: RRULE {rule[:80]!r}: {exc}") from None
        for s in starts:
            yield Shift(
                contact=who, start=s, end=s + (end - start), level=level, override=is_override
            )


def _local(value: Any, where: str = "") -> datetime:
    """An event time as an aware datetime: floating times and all-day dates are UK time."""
    if isinstance(value, date) and not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise RotaError(f"{where}: the year {value.year}: expected {FIRST_YEAR} to {LAST_YEAR}")
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=LONDON)
    if isinstance(value, date):
        return datetime.combine(value, time(0), tzinfo=LONDON)
    raise RotaError(f"{where}: expected a date or date-time")


def _instant(value: datetime, uid: str = "?") -> datetime:
    if not FIRST_YEAR <= value.year <= LAST_YEAR:
        raise RotaError(
            f"event {uid}: a shift in the year {value.year}: expected {FIRST_YEAR} to {LAST_YEAR}"
        )
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise RotaError(f"event {uid}: a time that cannot be expressed in UTC") from None
