"""The board: every release due today (or tomorrow, or in the next 7 days), in due order, with
a state in plain words, how late it is now, and what the last check saw."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from urllib.parse import quote

from ...model import Event, EventKind, ReleaseRecord, ReleaseState
from ...policy import derive_state
from ...readiness.policy import confirmation
from ...timefmt import delay_text, uk
from .problems import Problem
from .words import age, check_verdict, clock_time, day_time, minutes, zone

View = Literal["today", "tomorrow", "week"]
VIEWS: dict[View, str] = {"today": "Today", "tomorrow": "Tomorrow", "week": "Next 7 days"}
HEADINGS: dict[View, str] = {
    "today": "Releases due today",
    "tomorrow": "Releases due tomorrow",
    "week": "Releases due in the next 7 days",
}


@dataclass(frozen=True)
class StateTag:
    state: str  # the machine state (data-state): scheduled, watching, late, live, ...
    text: str  # what people read: "Late — 12 min"
    colour: str  # a govuk-tag colour; never the only signal, the text says it all


@dataclass(frozen=True)
class LastCheck:
    at: datetime
    time: str  # '09:42:05'
    verdict: str  # 'Not live: HTTP 404'
    age: str  # '12 s ago'
    live: bool


@dataclass(frozen=True)
class BoardRow:
    release_id: str
    href: str  # relative to the board's home
    title: str
    producer: str
    due: datetime
    due_text: str  # '09:30:00' (today) or 'Thu 17 Jul 09:30' (other days)
    tag: StateTag
    live_at: datetime | None
    live_text: str  # '09:42:05', '' while not live
    minutes_late: int | None  # counting up while late and not live
    last_check: LastCheck | None
    acknowledged_by: tuple[str, ...]


@dataclass(frozen=True)
class Board:
    view: View
    heading: str
    now: datetime
    updated: str  # '09:42:05'
    zone: str  # 'BST'
    rows: tuple[BoardRow, ...]
    problems: tuple[Problem, ...]
    views: tuple[tuple[View, str], ...] = tuple(VIEWS.items())
    readable: bool = True  # False: the store could not be read (the page answers 503)


def parse_view(text: str | None) -> View:
    return text if text in VIEWS else "today"


def in_view(record: ReleaseRecord, view: View, now: datetime) -> bool:
    """Due on the view's days (Europe/London); today also keeps an older release still late."""
    today = uk(now).date()
    day = uk(record.release.due).date()
    if view == "tomorrow":
        return day == today + timedelta(days=1)
    if view == "week":
        return today <= day < today + timedelta(days=7)
    if day == today:
        return True
    return day < today and record.active and shown_state(record, now) == ReleaseState.LATE


def shown_state(record: ReleaseRecord, now: datetime) -> ReleaseState:
    """The state as of `now`: a stored 'watching' past due + grace is late now, even if the
    next tick has not said so yet (the problems banner says when ticks stop)."""
    return derive_state(record.release, record.live_at, now)


def state_tag(
    record: ReleaseRecord, events: Sequence[Event], now: datetime, *, unproven: bool = False
) -> StateTag:
    """`unproven`: first seen live after its due time with no evidence in between that it was
    not live (policy.lateness_unproven): when it went live is unknown, so it is not called
    late."""
    release = record.release
    state = shown_state(record, now)
    match state:
        case ReleaseState.CANCELLED if release.unconfirmed is not None:
            return StateTag(
                state, f"Not watched — date not confirmed ({release.unconfirmed})", "grey"
            )
        case ReleaseState.CANCELLED:
            return StateTag(state, "Cancelled", "grey")
        case ReleaseState.EARLY:
            return StateTag(state, "Early — breach", "red")
        case ReleaseState.LIVE:
            return StateTag(state, "Live, on time", "green")
        case ReleaseState.LIVE_LATE:
            assert record.live_at is not None
            late = delay_text(record.live_at - release.due)
            if unproven:
                return StateTag(state, f"Live — first seen {late} after due", "grey")
            return StateTag(state, f"Live, {late} late", "orange")
        case ReleaseState.LATE:
            return StateTag(state, f"Late — {minutes(now - release.due)} min", "red")
    done = confirmation(events, release.due)
    if done is not None and now < release.due:
        contact = release.contacts.get(done.contact_id or "")
        who = contact.name if contact else "the team"
        return StateTag(state, f"Readiness confirmed by {who}", "blue")
    if state == ReleaseState.WATCHING and record.last_check is None:
        return StateTag(state, "Not yet checked", "grey")
    if now < release.due:
        return StateTag(state, "Not due yet", "grey")
    return StateTag(state, "Due now, not live yet", "yellow")


def live_text(record: ReleaseRecord, *, unproven: bool = False) -> str:
    if record.live_at is None:
        return ""
    if unproven:
        return f"First seen {clock_time(record.live_at)}; when it went live is unknown"
    return clock_time(record.live_at)


def board_row(
    record: ReleaseRecord,
    events: Sequence[Event],
    now: datetime,
    today: date,
    *,
    unproven: bool = False,
) -> BoardRow:
    release = record.release
    state = shown_state(record, now)
    check = record.last_check
    acks = [e for e in events if e.kind == EventKind.ACKNOWLEDGED]
    names = []
    for e in acks:
        contact = release.contacts.get(e.contact_id or "")
        names.append(contact.name if contact else "someone")
    return BoardRow(
        release_id=release.id,
        href=f"r/{quote(release.id, safe='')}",
        title=release.title,
        producer=release.producer,
        due=release.due,
        due_text=clock_time(release.due)
        if uk(release.due).date() == today
        else day_time(release.due),
        tag=state_tag(record, events, now, unproven=unproven),
        live_at=record.live_at,
        live_text=live_text(record, unproven=unproven),
        minutes_late=minutes(now - release.due) if state == ReleaseState.LATE else None,
        last_check=None
        if check is None
        else LastCheck(
            check.at, clock_time(check.at), check_verdict(check), age(check.at, now), check.live
        ),
        acknowledged_by=tuple(dict.fromkeys(names)),
    )


def build_board(
    records: Sequence[ReleaseRecord],
    events: dict[str, list[Event]],
    now: datetime,
    view: View,
    problems: Sequence[Problem] = (),
    unproven: Collection[str] = (),
) -> Board:
    """`records`: those in the view (see in_view); `events`: each one's events, by id;
    `unproven`: the ids first seen live after due with no proof of lateness."""
    today = uk(now).date()
    shown = sorted(records, key=lambda r: (r.release.due, r.release.title, r.id))
    rows = tuple(
        board_row(r, events.get(r.id, []), now, today, unproven=r.id in unproven) for r in shown
    )
    return Board(
        view=view,
        heading=HEADINGS[view],
        now=now,
        updated=clock_time(now),
        zone=zone(now),
        rows=rows,
        problems=tuple(problems),
    )
