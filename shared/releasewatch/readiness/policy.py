"""Readiness, the working day before: pure policy (no I/O, no clock).

On the working day before a release's due date (weekends and the bank holidays of the
producer's nation are not working days; the `holidays` package, offline), at `remind_at`
(14:00 Europe/London) the people in `notify` are asked to confirm that the page is uploaded
and scheduled. Nobody confirmed by `escalate_at` (16:00): `escalate_to` is told. Still nobody
at `last_call` (08:30) on the due date: the chain's first step is alerted early. One
confirmation (readiness_service) stops every one of these.

The rule for releases that arrive late (added, or the watchdog down, after a time passed):
- the reminder is still sent until the last call: asking late is better than not asking;
- the escalation only follows a reminder that went out before `escalate_at`, so nobody is
  escalated to about a question asked a minute ago;
- the last call only follows a reminder (at any time before it): a release added on the morning
  itself asked nobody, and the chain will start at the due time as usual;
- nothing is sent once the due time has come, nor for a release that is live or cancelled.
The last call is moved forward to the start of the pre-window when that comes first (a 07:00
release gets its last call at 06:45, not after it was due).

A confirmation is for the due time it was given for. When the calendar moves the release
(a CALENDAR_CHANGED "moved" event), an earlier confirmation no longer counts: the steps are
scheduled again for the working day before the new date, as a new round (the notification
keys carry the round, so the new reminder is not taken for the old one already sent), and the
old confirmation is shown as for the old date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from ..calendar.changes import MOVED
from ..model import (
    Channel,
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
    Nation,
    Notification,
    NotificationKind,
    Release,
    ReleaseState,
)
from ..timefmt import LONDON
from . import rota

KINDS = (
    NotificationKind.READY_REMIND,
    NotificationKind.READY_ESCALATE,
    NotificationKind.READY_LAST_CALL,
)
# The subdivisions of GB in the `holidays` package.
_SUBDIV: dict[str, str] = {
    "england": "ENG",
    "wales": "WLS",
    "scotland": "SCT",
    "northern_ireland": "NIR",
}
_OPEN = (ReleaseState.SCHEDULED, ReleaseState.WATCHING)


@dataclass(frozen=True)
class Schedule:
    day_before: date  # the working day before the due date (Europe/London)
    remind: datetime  # UTC
    escalate: datetime
    last_call: datetime

    def times(self) -> tuple[datetime, datetime, datetime]:
        return self.remind, self.escalate, self.last_call


@dataclass(frozen=True)
class Confirmation:
    contact_id: str | None
    at: datetime
    for_due: datetime | None = None  # the due time confirmed; None: not known (the current one)


@lru_cache(maxsize=64)
def _bank_holidays(nation: Nation, year: int) -> frozenset[date]:
    import holidays  # imported when first needed: it is large, and most ticks never need it

    return frozenset(holidays.country_holidays("GB", subdiv=_SUBDIV[nation], years=year))


def is_working_day(day: date, nation: Nation) -> bool:
    return day.weekday() < 5 and day not in _bank_holidays(nation, day.year)


def working_day_before(day: date, nation: Nation) -> date:
    """The last working day strictly before `day` (Easter: Thursday, for a Tuesday in England)."""
    candidate = day - timedelta(days=1)
    while not is_working_day(candidate, nation):
        candidate -= timedelta(days=1)
    return candidate


def _at(day: date, when: time) -> datetime:
    # fold=0: a time in the autumn's repeated hour means its first occurrence.
    return datetime.combine(day, when, tzinfo=LONDON).astimezone(UTC)


def schedule(release: Release) -> Schedule | None:
    r = release.readiness
    if r is None:
        return None
    due_day = release.due.astimezone(LONDON).date()
    before = working_day_before(due_day, r.nation)
    last_call = min(_at(due_day, r.last_call), release.due - release.pre_window)
    return Schedule(before, _at(before, r.remind_at), _at(before, r.escalate_at), last_call)


def confirmations(events: Iterable[Event]) -> list[Confirmation]:
    """Every readiness confirmation, in order, each with the due time it was given for: the
    one recorded with it, else (recorded before due times were) the old due of the first move
    after it, else None (no move since: the current one)."""
    out: list[Confirmation] = []
    open_: list[int] = []  # confirmations without a recorded due, not yet followed by a move
    for e in events:
        if e.kind == EventKind.READY_CONFIRMED:
            recorded = _when(e.detail.get("due"))
            out.append(Confirmation(e.contact_id, e.at, recorded))
            if recorded is None:
                open_.append(len(out) - 1)
        elif e.kind == EventKind.CALENDAR_CHANGED and e.detail.get("change") == MOVED:
            old_due = _when(e.detail.get("old_due"))
            for i in open_:
                out[i] = Confirmation(out[i].contact_id, out[i].at, old_due)
            open_ = []
    return out


def confirmation(events: Iterable[Event], due: datetime | None = None) -> Confirmation | None:
    """The first confirmation that counts for `due` (the release's current due time): one
    given for another due time does not. Without `due`, the first one."""
    for c in confirmations(events):
        if due is None or c.for_due is None or c.for_due == due:
            return c
    return None


def earlier_confirmation(events: Iterable[Event], due: datetime) -> Confirmation | None:
    """The last confirmation given for another due time (shown as for that date)."""
    earlier = [c for c in confirmations(events) if c.for_due is not None and c.for_due != due]
    return earlier[-1] if earlier else None


def readiness_due(event: Event) -> datetime | None:
    """The due time a READY_CONFIRMED event was recorded for (None before they carried it)."""
    return _when(event.detail.get("due"))


def round_of(changes: Iterable[Event]) -> int:
    """How many times the calendar moved the release: each move starts a new round of
    readiness messages (0 for a release never moved, so its keys are as they always were)."""
    return sum(
        1
        for e in changes
        if e.kind == EventKind.CALENDAR_CHANGED and e.detail.get("change") == MOVED
    )


def _when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else None


def wanted(
    release: Release,
    state: ReleaseState,
    now: datetime,
    deliveries: Sequence[Delivery],
    confirmed: bool,
    round_: int = 0,
) -> list[Notification]:
    """The readiness messages that should exist by `now` (sent or to send): see the module
    docstring for the rule. Not wanted any more (confirmed, window passed, an earlier round)
    means cancelled. `round_` is round_of the release's calendar changes."""
    plan = schedule(release)
    r = release.readiness
    if plan is None or r is None or confirmed or release.stopped:
        return []
    if state not in _OPEN or now >= release.due:
        return []
    round_ = _current_round(plan.remind, deliveries, round_)
    reminders = [
        d.sent_at
        for d in deliveries
        if d.notification.kind == NotificationKind.READY_REMIND
        and d.status == DeliveryStatus.SENT
        and d.sent_at is not None
        and d.notification.key.split("|")[3] == str(round_)  # this round's, not an old date's
    ]
    first_reminder = min(reminders, default=None)
    out: list[Notification] = []
    if plan.remind <= now < plan.last_call:
        kind = NotificationKind.READY_REMIND
        out += _to(release, kind, r.notify, ("email",), plan.remind, round_)
        if now >= plan.escalate and first_reminder is not None and first_reminder <= plan.escalate:
            kind = NotificationKind.READY_ESCALATE
            out += _to(release, kind, r.escalate_to, ("email",), plan.escalate, round_)
    if now >= plan.last_call and first_reminder is not None:
        first = release.steps[0]
        kind = NotificationKind.READY_LAST_CALL
        out += _to(release, kind, first.notify, first.channels, plan.last_call, round_)
    return out


def _current_round(remind: datetime, deliveries: Sequence[Delivery], round_: int) -> int:
    """A due date edited by hand (in the config, not by the calendar: no move recorded) moves
    the readiness day too. Reminders this round already made for another day were for the old
    date, so a new round asks again; a reminder time changed in the config, same day, is not
    a new date and asks nobody twice."""
    day = remind.astimezone(LONDON).date()
    rounds = {
        int(d.notification.key.split("|")[3])
        for d in deliveries
        if d.notification.kind == NotificationKind.READY_REMIND
        and d.notification.fallback_for is None
        and d.notification.key.split("|")[3].isdigit()
        and d.notification.due_at.astimezone(LONDON).date() != day
    }
    while round_ in rounds:
        round_ += 1
    return round_


def wake_times(release: Release, now: datetime) -> list[datetime]:
    """The readiness times still to come: the run loop wakes for them."""
    plan = schedule(release)
    if plan is None or release.stopped:
        return []
    return [t for t in plan.times() if t > now]


def day_phrase(due: datetime, now: datetime) -> str:
    """'today', 'tomorrow' or 'on Monday 7 April' (with the year when it is not this year's),
    as seen in Europe/London at `now`: literally true on the day the message is read."""
    due_day, today = due.astimezone(LONDON).date(), now.astimezone(LONDON).date()
    if due_day == today:
        return "today"
    if due_day == today + timedelta(days=1):
        return "tomorrow"
    year = f" {due_day.year}" if due_day.year != today.year else ""
    return f"on {due_day.strftime('%A')} {due_day.day} {due_day.strftime('%B')}{year}"


def _to(
    release: Release,
    kind: NotificationKind,
    contact_ids: Sequence[str],
    preferred: Sequence[Channel],
    due_at: datetime,
    round_: int = 0,
) -> list[Notification]:
    out = []
    # A rota in `notify` means whoever is on call at this message's time (nobody: the chain's
    # first step instead, who were also told of that gap days ahead).
    people = {p: (via, gap) for p, via, gap in rota.reach(release, contact_ids, due_at)}
    for cid, (via, gap) in people.items():
        contact = release.contacts.get(cid)
        if contact is None:
            continue
        have = [c for c in preferred if contact.address(c) is not None]
        # The preferred channels are not this contact's: whichever one they have.
        first = contact.first_channel()
        channels = have or ([first] if first is not None else [])
        for channel in channels:
            out.append(
                Notification(
                    key=Notification.make_key(release.id, kind, cid, channel, None, round_),
                    release_id=release.id,
                    kind=kind,
                    contact_id=cid,
                    channel=channel,
                    due_at=due_at,
                    on_call_for=via,
                    rota_gap=gap,
                )
            )
    return out
