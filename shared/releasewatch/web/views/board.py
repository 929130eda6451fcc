"""The board: every release due today (or tomorrow, or in the next 7 days), with a one-line
summary on top, the releases that need someone (late, early, a failed message, nobody
reachable) first and the rest in due order, each with a state in plain words, how late it is
now, what the last check saw and, the days before, its readiness.

Every sentence comes from what was recorded (checks, events, deliveries), never from a
schedule or a default: nobody is said to be asked before a reminder was sent."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal
from urllib.parse import quote

from ...model import Delivery, Event, EventKind, ReleaseRecord, ReleaseState
from ...policy import derive_state
from ...readiness.policy import confirmation
from ...timefmt import delay_text, uk
from .problems import Problem
from .readiness import ReadinessLines, readiness_lines
from .words import age, check_verdict, clock_time, day_time, long_day, minutes, short_time, zone

View = Literal["today", "tomorrow", "week"]
VIEWS: dict[View, str] = {"today": "Today", "tomorrow": "Tomorrow", "week": "Next 7 days"}
HEADINGS: dict[View, str] = {
    "today": "Releases due today",
    "tomorrow": "Releases due tomorrow",
    "week": "Releases due in the next 7 days",
}


@dataclass(frozen=True)
class ViewLink:
    view: View  # the ?view= value
    label: str  # 'Tomorrow'
    current: bool  # the view shown


@dataclass(frozen=True)
class Summary:
    """The board's first line: '2 late · 1 message failed · 12 live on time · 14 not due yet'.
    `counts` by kind (late, early, due_now, failed_messages, unreachable, live_on_time,
    live_late, live_first_seen_late, not_due_yet, cancelled, not_watched, observed); zeros left
    out. An observed release is counted as observed alone: the other counts are of the releases
    someone is alerted for."""

    text: str
    counts: dict[str, int]


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
    due_text: str  # one form per view: '09:30' (today, tomorrow), 'Thu 17 Jul 09:30' (week)
    tag: StateTag
    live_at: datetime | None
    live_text: str  # '09:42:05', '' while not live
    # Whole minutes after due: counting up while late, fixed once it went live late; None when
    # not late (on time, not due yet, or first seen live after due with no proof it was late).
    minutes_late: int | None
    last_check: LastCheck | None
    acknowledged_by: tuple[str, ...]
    # Why it is among the releases that need someone ('Late', '1 message failed',
    # 'Alice Publisher unreachable'); empty for the rest.
    needs_someone: tuple[str, ...]
    readiness: ReadinessLines
    # Observed: judged and recorded, nobody alerted (no chain). Never among those that need
    # someone: its lateness is a fact on the record, not a call to act.
    observed: bool = False


@dataclass(frozen=True)
class Board:
    view: View
    heading: str
    now: datetime
    updated: str  # '09:42:05'
    zone: str  # 'BST'
    summary: Summary
    rows: tuple[BoardRow, ...]  # those that need someone first, then the rest in due order
    problems: tuple[Problem, ...]
    views: tuple[ViewLink, ...]
    day: str  # 'Thursday 17 July' (today, tomorrow), 'Thursday 17 July to Wednesday 23 July'
    store_readable: bool = True  # False: the store could not be read (the page answers 503)


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
            return StateTag(state, f"Late — {late_text(now - release.due)}", "red")
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


def late_text(delta: timedelta) -> str:
    """'12 min', '2 h 5 min', '35 days 17 h': whole minutes (12 min 59 s is 12 min), in days
    beyond 48 hours as everywhere else (timefmt.delay_text)."""
    return delay_text(timedelta(minutes=minutes(delta)))


def live_text(record: ReleaseRecord, *, unproven: bool = False) -> str:
    if record.live_at is None:
        return ""
    if unproven:
        return f"First seen {clock_time(record.live_at)}; when it went live is unknown"
    return clock_time(record.live_at)


def due_text(due: datetime, view: View, today: date) -> str:
    """One form per view: '09:30' on today's and tomorrow's (the heading names the day),
    'Thu 17 Jul 09:30' on the week's. An older release still late on today's view is the one
    exception: it says its day."""
    if view == "week" or (view == "today" and uk(due).date() != today):
        return day_time(due)
    return short_time(due)


def minutes_late(
    record: ReleaseRecord, state: ReleaseState, now: datetime, *, unproven: bool
) -> int | None:
    if state == ReleaseState.LATE:
        return minutes(now - record.release.due)
    if state == ReleaseState.LIVE_LATE and record.live_at is not None and not unproven:
        return minutes(record.live_at - record.release.due)
    return None


def needs_someone(
    record: ReleaseRecord, state: ReleaseState, problems: Sequence[Problem]
) -> tuple[str, ...]:
    """Why this release needs a person now: late, early, a failed message, nobody reachable
    (the problems banner's own findings, from the recorded deliveries). Never an observed
    release: nobody was asked to act on it."""
    if record.release.observed:
        return ()
    why = []
    if state == ReleaseState.LATE:
        why.append("Late")
    elif state == ReleaseState.EARLY:
        why.append("Released early")
    mine = [p for p in problems if p.release_id == record.id]
    failed = sum(1 for p in mine if p.kind == "failed-send")
    if failed:
        why.append(f"{failed} {'message' if failed == 1 else 'messages'} failed")
    why += [f"{p.who or 'A contact'} unreachable" for p in mine if p.kind == "unreachable"]
    return tuple(why)


def board_row(
    record: ReleaseRecord,
    events: Sequence[Event],
    now: datetime,
    today: date,
    *,
    view: View = "today",
    unproven: bool = False,
    deliveries: Sequence[Delivery] = (),
    problems: Sequence[Problem] = (),
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
        due_text=due_text(release.due, view, today),
        tag=state_tag(record, events, now, unproven=unproven),
        live_at=record.live_at,
        live_text=live_text(record, unproven=unproven),
        minutes_late=minutes_late(record, state, now, unproven=unproven),
        last_check=None
        if check is None
        else LastCheck(
            check.at, clock_time(check.at), check_verdict(check), age(check.at, now), check.live
        ),
        acknowledged_by=tuple(dict.fromkeys(names)),
        needs_someone=needs_someone(record, state, problems),
        readiness=readiness_lines(record, events, deliveries),
        observed=release.observed,
    )


# The summary's parts, in the order they are said: what needs someone first.
_SUMMARY_ORDER = (
    "late",
    "early",
    "failed_messages",
    "unreachable",
    "due_now",
    "live_late",
    "live_first_seen_late",
    "live_on_time",
    "not_due_yet",
    "cancelled",
    "not_watched",
    "observed",
)


def _summary_words(kind: str, n: int) -> str:
    match kind:
        case "failed_messages":
            return f"{n} {'message' if n == 1 else 'messages'} failed"
        case "unreachable":
            return f"{n} {'contact' if n == 1 else 'contacts'} nobody could reach"
        case "due_now":
            return f"{n} due now, not live yet"
        case "live_first_seen_late":
            return f"{n} first seen live after due"
        case "observed":
            return f"{n} observed, no one alerted"
    return f"{n} {kind.replace('_', ' ')}"


def _row_kind(row: BoardRow, now: datetime) -> str:
    if row.observed:
        return "observed"
    state = row.tag.state
    if state == ReleaseState.CANCELLED:
        return "not_watched" if row.tag.text.startswith("Not watched") else "cancelled"
    if state == ReleaseState.LIVE_LATE:
        return "live_late" if row.minutes_late is not None else "live_first_seen_late"
    if state == ReleaseState.LIVE:
        return "live_on_time"
    if state in (ReleaseState.LATE, ReleaseState.EARLY):
        return str(state)
    return "not_due_yet" if now < row.due else "due_now"


def summarise(rows: Sequence[BoardRow], problems: Sequence[Problem], now: datetime) -> Summary:
    """Counted from the rows shown (their recorded states) and the problems of those rows."""
    counts: dict[str, int] = dict.fromkeys(_SUMMARY_ORDER, 0)
    for row in rows:
        counts[_row_kind(row, now)] += 1
    shown = {row.release_id for row in rows}
    for p in problems:
        if p.release_id in shown and p.kind == "failed-send":
            counts["failed_messages"] += 1
        elif p.release_id in shown and p.kind == "unreachable":
            counts["unreachable"] += 1
    kept = {k: n for k, n in counts.items() if n}
    text = " · ".join(_summary_words(k, n) for k, n in kept.items())
    return Summary(text, kept)


def day_heading(now: datetime, view: View) -> str:
    today = uk(now).date()
    if view == "week":
        return f"{long_day(today)} to {long_day(today + timedelta(days=6))}"
    return long_day(today + timedelta(days=1 if view == "tomorrow" else 0))


def build_board(
    records: Sequence[ReleaseRecord],
    events: dict[str, list[Event]],
    now: datetime,
    view: View,
    problems: Sequence[Problem] = (),
    unproven: Collection[str] = (),
    deliveries: dict[str, list[Delivery]] | None = None,
    *,
    store_readable: bool = True,
) -> Board:
    """`records`: those in the view (see in_view); `events` and `deliveries`: each one's, by
    id; `unproven`: the ids first seen live after due with no proof of lateness."""
    today = uk(now).date()
    shown = sorted(records, key=lambda r: (r.release.due, r.release.title, r.id))
    rows = [
        board_row(
            r,
            events.get(r.id, []),
            now,
            today,
            view=view,
            unproven=r.id in unproven,
            deliveries=(deliveries or {}).get(r.id, []),
            problems=problems,
        )
        for r in shown
    ]
    # Those that need someone first (in due order among themselves), then the rest: sorted()
    # is stable, so due order holds within each group.
    rows.sort(key=lambda row: not row.needs_someone)
    return Board(
        view=view,
        heading=HEADINGS[view],
        now=now,
        updated=clock_time(now),
        zone=zone(now),
        summary=summarise(rows, problems, now),
        rows=tuple(rows),
        problems=tuple(problems),
        views=tuple(ViewLink(v, label, v == view) for v, label in VIEWS.items()),
        day=day_heading(now, view),
        store_readable=store_readable,
    )
