"""A year of releases with something of everything, for the punctuality tests, the browser
tests and the README's screenshot (tools/punctuality_screenshot.py).

Six producers publish at 07:00 or 09:30 UK time on weekdays; most go out on time, some late
(minutes to hours, one by 400 days), some early (GOV.UK's first_published_at says so), some
cancelled, some moved (at short notice or well ahead), and a few while the watchdog was down
across their due time (unknown). The records are made as the watchdog makes them: policy.decide
over each check in order. Contacts with email addresses and phone numbers, acknowledgements and
deliveries are stored too, so a test can show that none of them reaches the record.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

from releasewatch.calendar import changes as calendar_changes
from releasewatch.model import Check, Event, EventKind, NotificationKind, Release
from releasewatch.policy import decide
from releasewatch.store.base import Store
from releasewatch.timefmt import LONDON
from tests.factories import make_check, make_notification, make_release

PRODUCERS = (
    "Office for National Statistics",
    "Department for Education",
    "HM Revenue and Customs",
    "Department for Work and Pensions",
    "NHS England",
    "Welsh Government",
)
START = datetime(2025, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 31, 18, 0, tzinfo=UTC)  # the year judged as of its last evening
LATE_400_DAYS = "dfe-late-400-days"
MIN = timedelta(minutes=1)


def _due(day: datetime, morning: bool) -> datetime:
    local = datetime.combine(day.astimezone(LONDON).date(), time(7, 0) if morning else time(9, 30))
    return local.replace(tzinfo=LONDON).astimezone(UTC)


def _weekdays(rng: random.Random, n: int) -> list[datetime]:
    days = []
    while len(days) < n:
        day = START + timedelta(days=rng.randrange(0, 364))
        if day.weekday() < 5:
            days.append(day)
    return sorted(days)


def seed_year(store: Store, releases: int = 120, seed: int = 2025) -> list[str]:
    """`releases` releases over the year from START, stored with their checks, events and a
    few deliveries and acknowledgements; returns their ids."""
    rng = random.Random(seed)
    made: list[tuple[Release, list[Check], list[Event]]] = []
    for n, day in enumerate(_weekdays(rng, releases)):
        producer = PRODUCERS[n % len(PRODUCERS)]
        rid = f"{producer.split()[0].lower()}-{n:03d}"
        due = _due(day, rng.random() < 0.5)
        made.append(_story(rng, rid, producer, due, rng.random()))
    made.append(_late_400_days())
    store.apply_releases([r for r, _, _ in made], START - timedelta(days=60))
    for release, checks, events in made:
        for e in events:
            store.add_event(e)
        store.record_checks(checks)
        record = store.get_release(release.id)
        assert record is not None
        for c in checks:
            record = store.update_release(decide(record, c, c.at, changes=events).record)
    _people(store, [r.id for r, _, _ in made])
    return [r.id for r, _, _ in made]


def _story(
    rng: random.Random, rid: str, producer: str, due: datetime, roll: float
) -> tuple[Release, list[Check], list[Event]]:
    title = f"{producer}: statistical bulletin {rid.rsplit('-', 1)[1]}"
    events: list[Event] = []
    extra: dict[str, object] = {}
    if roll < 0.06:  # moved: half at short notice (3 days), half well ahead (6 weeks)
        old = due - timedelta(days=7)
        notice = timedelta(days=3) if roll < 0.03 else timedelta(days=42)
        events.append(_moved(rid, old, due, old - notice))
    elif roll < 0.09:  # cancelled two days before
        extra["cancelled"] = True
        events.append(_cancelled(rid, due, due - timedelta(days=2)))
        release = make_release(rid, due=due, title=title, producer=producer, **extra)
        return release, [make_check(rid, due - timedelta(days=3))], events
    release = make_release(rid, due=due, title=title, producer=producer, **extra)
    if roll < 0.06:  # moved, then on time at the new time
        checks = [make_check(rid, due - MIN), make_check(rid, due + 20 * MIN / 60, live=True)]
    elif roll < 0.12:  # the watchdog was down from 10 minutes before due to 2 hours after
        checks = [make_check(rid, due - 10 * MIN), make_check(rid, due + 2 * 60 * MIN, live=True)]
    elif roll < 0.14:  # early, on GOV.UK's word
        early = timedelta(minutes=rng.choice((3, 45, 24 * 60, 2 * 24 * 60)))
        at = due - early + 30 * MIN if early > 40 * MIN else due - MIN
        checks = [
            make_check(rid, due - early - 60 * MIN),
            make_check(rid, at, live=True, published_at=due - early),
        ]
    elif roll < 0.24:  # late by minutes to hours
        late = timedelta(minutes=rng.choice((4, 7, 12, 25, 48, 95, 180)))
        checks = [make_check(rid, due + n * MIN) for n in range(3, int(late / MIN), 3)]
        checks += [make_check(rid, due + late, live=True)]
    else:  # on time
        checks = [make_check(rid, due - MIN), make_check(rid, due + 20 * MIN / 60, live=True)]
    return release, checks, events


def _late_400_days() -> tuple[Release, list[Check], list[Event]]:
    due = _due(START + timedelta(days=2), False) - timedelta(days=400 - 362)
    late = due + timedelta(days=400)
    release = make_release(LATE_400_DAYS, due=due, producer=PRODUCERS[1],
                           title="School workforce census: delayed tables")  # fmt: skip
    checks = [make_check(LATE_400_DAYS, due + 5 * MIN), make_check(LATE_400_DAYS, late - MIN),
              make_check(LATE_400_DAYS, late, live=True)]  # fmt: skip
    return release, checks, []


def _moved(rid: str, old: datetime, new: datetime, at: datetime) -> Event:
    change = calendar_changes.Change(rid, calendar_changes.MOVED, old, new, note="Revised date")
    return change.event(at, change.base)


def _cancelled(rid: str, due: datetime, at: datetime) -> Event:
    change = calendar_changes.Change(
        rid, calendar_changes.CANCELLED, due, due, note="Data supplier withdrew"
    )
    return change.event(at, change.base)


def _people(store: Store, ids: list[str]) -> None:
    """Alerts sent to the fixtures' contacts and their acknowledgements, on every tenth
    release: what must never reach the public record."""
    for rid in ids[::10]:
        record = store.get_release(rid)
        assert record is not None
        at = record.release.due + 10 * MIN
        n = make_notification(rid, NotificationKind.ALERT, "web_publisher", "sms", due_at=at)
        store.claim(n, "seed", at, timedelta(minutes=1))
        store.mark_sent(n.key, "seed", at, "provider-1")
        store.add_event(
            Event(
                release_id=rid,
                at=at + MIN,
                kind=EventKind.ACKNOWLEDGED,
                contact_id="web_publisher",
                detail={"step": "1", "by": "Alice Publisher +447700900101"},
            )
        )
