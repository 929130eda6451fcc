"""A tick that reads only the releases due (their wake_at has come) does exactly what a tick
over every active release did: the same probes, the same messages at the same moments, the same
state changes, over generated histories (chains with repeats and breach steps, acks, readiness,
failing channels, failed receipts, calendar moves, pages live on time, late, early or never).

The old tick is the same Watchdog on a store whose due_releases answers every active release.
A wake time that slept through anything would show here as a message or probe missing or late.
Each store is compared with itself: memory (many examples), SQLite (its partial index) and
DynamoDB on moto (its wake-index; fewer examples, each tick is a few dozen calls).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releasewatch.calendar.changes import MOVED, Change, to_record
from releasewatch.errors import SendError
from releasewatch.model import (
    Chain,
    DeliveryStatus,
    Event,
    EventKind,
    Readiness,
    Release,
    ReleaseRecord,
    Step,
)
from releasewatch.notify.base import Message
from releasewatch.service import Watchdog
from releasewatch.store.base import Store
from releasewatch.store.memory import InMemoryStore
from releasewatch.store.sqlite import SQLiteStore
from tests.factories import CONTACTS, DUE, make_release
from tests.fakes import FixedClock, ScriptedProber
from tests.integration.aws_stores import moto_dynamodb_store

pytestmark = pytest.mark.slow  # run first: see tests/conftest.py

M = timedelta(minutes=1)
PEOPLE = tuple(CONTACTS)
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "eu-west-2",
}


class EveryActive:
    """The tick as it was: every active release, every tick (the rest is the store's own)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def due_releases(self, now: datetime) -> list[ReleaseRecord]:
        return self._store.active_releases()


@contextmanager
def stores(kind: str) -> Iterator[tuple[Store, Store]]:
    """A fresh store for the due-only tick and another for the every-release tick."""
    if kind == "memory":
        yield InMemoryStore(), InMemoryStore()
        return
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "sqlite":
            new, old = SQLiteStore(Path(tmp) / "new.db"), SQLiteStore(Path(tmp) / "old.db")
            try:
                yield new, old
            finally:
                new.close()
                old.close()
            return
        dynamodb = contextmanager(moto_dynamodb_store)
        with dynamodb(Path(tmp) / "new") as table, dynamodb(Path(tmp) / "old") as other:
            yield table, other


@dataclass
class Plan:
    releases: list[Release]
    live: dict[str, timedelta | None]  # from due; None: never live
    ticks: list[timedelta]  # gaps between ticks
    acks: list[tuple[timedelta, int, str, int]]  # (at from DUE, release, contact, step)
    confirms: list[tuple[timedelta, int]]
    failing: dict[str, tuple[timedelta, timedelta, bool]]  # channel: (from, to, permanent)
    receipts: list[tuple[timedelta, int]]  # a sent message to release i fails on receipt
    moves: list[tuple[timedelta, int, timedelta]]  # (at, release, by)
    start: timedelta = field(default=-30 * M)


steps = st.builds(
    Step,
    after=st.integers(0, 80).map(lambda m: m * M),
    notify=st.lists(st.sampled_from(PEOPLE), min_size=1, max_size=2, unique=True).map(tuple),
    channels=st.sampled_from([("email",), ("sms",), ("sms", "email")]),
    repeat=st.none() | st.integers(4, 25).map(lambda m: m * M),
    kind=st.sampled_from(["alert", "alert", "breach"]),
)


tick_gaps = (st.sampled_from([3, 4, 6, 9]) | st.integers(4, 95)).map(lambda s: timedelta(seconds=s))


# Slower stores tick less often (fewer ticks a replay); SQLite still between two hot probes.
SQLITE_GAPS = st.integers(9, 95).map(lambda s: timedelta(seconds=s))
DYNAMODB_GAPS = st.integers(20, 95).map(lambda s: timedelta(seconds=s))


@st.composite
def plans(draw: st.DrawFn, gaps: st.SearchStrategy[timedelta] = tick_gaps) -> Plan:
    count = draw(st.integers(1, 3))
    readiness = draw(st.booleans())
    releases = []
    live: dict[str, timedelta | None] = {}
    for i in range(count):
        chain: Chain | None = Chain(
            id="c", steps=tuple(draw(st.lists(steps, min_size=1, max_size=3)))
        )
        if not readiness and draw(st.integers(0, 4)) == 0:
            chain = None  # an observed release: judged and recorded, alerting nobody
        release = make_release(
            id=f"r{i}",
            due=DUE + draw(st.integers(0, 40)) * M + draw(st.sampled_from([0, 17, 30])) * M / 60,
            chain=chain,
            grace=draw(st.integers(1, 5)) * M,
            pre_window=draw(st.integers(5, 20)) * M,
            ack_timeout=draw(st.integers(5, 40)) * M,
            readiness=Readiness(
                remind_at=time(14, 0),
                escalate_at=time(16, 0),
                last_call=time(8, 30),
                notify=("web_publisher",),
                escalate_to=("lead_official",),
            )
            if readiness
            else None,
        )
        releases.append(release)
        live[release.id] = draw(st.none() | st.integers(-25, 120).map(lambda m: m * M))
    minute = st.integers(-20, 130).map(lambda m: m * M + timedelta(seconds=7))
    return Plan(
        releases=releases,
        live=live,
        # Often faster than the hot cadence (10 s), so a tick falls between two probes.
        ticks=draw(st.lists(gaps, min_size=1, max_size=8)),
        acks=draw(
            st.lists(
                st.tuples(
                    minute, st.integers(0, count - 1), st.sampled_from(PEOPLE), st.integers(0, 2)
                ),
                max_size=3,
            )
        ),
        confirms=draw(
            st.lists(
                st.tuples(st.integers(-20 * 60, 0).map(lambda m: m * M), st.integers(0, count - 1)),
                max_size=1,
            )
        )
        if readiness
        else [],
        failing=draw(
            st.dictionaries(
                st.sampled_from(["email", "sms"]),
                st.tuples(minute, st.integers(1, 60).map(lambda m: m * M), st.booleans()),
                max_size=2,
            )
        ),
        receipts=draw(st.lists(st.tuples(minute, st.integers(0, count - 1)), max_size=2)),
        moves=draw(
            st.lists(
                st.tuples(
                    st.integers(-25, 30).map(lambda m: m * M),
                    st.integers(0, count - 1),
                    st.integers(-10, 30).map(lambda m: m * M),
                ),
                max_size=1,
            )
        ),
        start=-(22 * 60 * M) if readiness else -30 * M,
    )


@dataclass
class World:
    store: Store
    clock: FixedClock
    dog: Watchdog
    sent: list[tuple[datetime, str]] = field(default_factory=list)
    transitions: list[tuple[datetime, str, str, str]] = field(default_factory=list)


class TimedNotifier:
    def __init__(self, world: Callable[[], World], channel: str, plan: Plan) -> None:
        self.world, self.channel, self.plan = world, channel, plan

    def send(self, message: Message) -> str:
        w = self.world()
        now = w.clock.now()
        window = self.plan.failing.get(self.channel)
        if window is not None and DUE + window[0] <= now < DUE + window[0] + window[1]:
            raise SendError("refused by the test", permanent=window[2])
        w.sent.append((now, message.key))
        return f"id-{len(w.sent)}"


def build(store: Store, plan: Plan) -> World:
    clock = FixedClock(DUE + plan.start)
    store.apply_releases(plan.releases, clock.now())

    def timeline(release_id: str) -> Callable[[datetime], bool]:
        offset = plan.live[release_id]
        return lambda now: offset is not None and now >= _due(store, release_id) + offset

    prober = ScriptedProber(clock, {r.id: timeline(r.id) for r in plan.releases})
    holder: list[World] = []
    notifiers = {c: TimedNotifier(lambda: holder[0], c, plan) for c in ("email", "sms")}
    dog = Watchdog(store, prober, notifiers, clock, owner="test")  # type: ignore[arg-type]
    holder.append(World(store, clock, dog))
    dog.observers.append(lambda what, payload: _observe(holder[0], what, payload))
    return holder[0]


def _due(store: Store, release_id: str) -> datetime:
    record = store.get_release(release_id)
    assert record is not None
    return record.release.due


def _observe(world: World, what: str, payload: object) -> None:
    if what == "check":
        world.sent.append((world.clock.now(), f"check {payload.release_id}"))  # type: ignore[attr-defined]
    if what == "state":
        record, before = payload  # type: ignore[misc]
        world.transitions.append((world.clock.now(), record.id, before.value, record.state.value))


def outside_inputs(plan: Plan) -> list[tuple[datetime, Callable[[World], None]]]:
    out: list[tuple[datetime, Callable[[World], None]]] = []
    for at, index, contact, step in plan.acks:
        rid = plan.releases[index].id

        def ack(w: World, rid: str = rid, contact: str = contact, step: int = step) -> None:
            w.store.add_event(
                Event(
                    release_id=rid,
                    at=w.clock.now(),
                    kind=EventKind.ACKNOWLEDGED,
                    contact_id=contact,
                    detail={"step": str(step)},
                )
            )

        out.append((DUE + at, ack))
    for at, index in plan.confirms:
        rid = plan.releases[index].id

        def confirm(w: World, rid: str = rid) -> None:
            w.store.add_event(
                Event(
                    release_id=rid,
                    at=w.clock.now(),
                    kind=EventKind.READY_CONFIRMED,
                    contact_id="web_publisher",
                    detail={"due": _due(w.store, rid).isoformat()},
                )
            )

        out.append((DUE + at, confirm))
    for at, index in plan.receipts:
        rid = plan.releases[index].id

        def receipt(w: World, rid: str = rid) -> None:
            sent = [d for d in w.store.deliveries(rid) if d.status == DeliveryStatus.SENT]
            if sent and sent[-1].provider_id is not None:
                d = sent[-1]
                w.store.record_receipt(
                    d.key,
                    d.provider_id,  # type: ignore[arg-type]
                    "permanent-failure",
                    w.clock.now(),
                    status=DeliveryStatus.FAILED,
                    error="the phone or inbox refused it",
                )

        out.append((DUE + at, receipt))
    for at, index, by in plan.moves:
        rid = plan.releases[index].id

        def move(w: World, rid: str = rid, by: timedelta = by) -> None:
            record = w.store.get_release(rid)
            assert record is not None
            old = record.release.due
            if by == timedelta(0) or record.live_at is not None:
                return
            change = Change(rid, MOVED, old, old + by)
            event = to_record(change, w.store.events(rid), w.clock.now())
            if event is not None:
                w.store.add_event(event)
            moved = record.release.model_copy(update={"due": old + by})
            others = [r.release for r in w.store.active_releases() if r.id != rid]
            if record.active:
                w.store.apply_releases([*others, moved], w.clock.now())

        out.append((DUE + at, move))
    return sorted(out, key=lambda pair: pair[0])


def replay(store: Store, plan: Plan) -> World:
    world = build(store, plan)
    inputs = outside_inputs(plan)
    end = DUE + 160 * M
    gaps = plan.ticks
    n = 0
    while world.clock.now() < end:
        # Coarse far ahead (readiness runs the day before), the drawn gaps from an hour before.
        near = world.clock.now() >= DUE - 60 * M
        gap = gaps[n % len(gaps)] if near else timedelta(minutes=11, seconds=3)
        n += 1
        tick_at = world.clock.now() + gap
        while inputs and inputs[0][0] <= tick_at:
            at, act = inputs.pop(0)
            world.clock.set(max(at, world.clock.now()))
            act(world)
        world.clock.set(tick_at)
        asyncio.run(world.dog.tick())
    return world


def equivalent(kind: str, plan: Plan) -> None:
    with stores(kind) as (due_only, every):
        old = replay(EveryActive(every), plan)
        new = replay(due_only, plan)
        same(new, old)


# The default run is short (make test's budget); WAKE_EXAMPLES=N multiplies every store's.
SCALE = int(os.environ.get("WAKE_EXAMPLES", "1"))
SLOW = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture]


@settings(max_examples=12 * SCALE, deadline=None, suppress_health_check=SLOW)
@given(plans())
def test_the_due_only_tick_does_what_the_every_release_tick_did(plan: Plan) -> None:
    equivalent("memory", plan)


@settings(max_examples=3 * SCALE, deadline=None, suppress_health_check=SLOW)
@given(plans(SQLITE_GAPS))
def test_on_sqlite_the_due_only_tick_does_what_the_every_release_tick_did(plan: Plan) -> None:
    equivalent("sqlite", plan)


@settings(max_examples=1 * SCALE, deadline=None, suppress_health_check=SLOW)
@given(plan=plans(DYNAMODB_GAPS))
def test_on_dynamodb_the_due_only_tick_does_what_the_every_release_tick_did(
    plan: Plan, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in AWS_ENV.items():
        monkeypatch.setenv(name, value)
    equivalent("dynamodb", plan)


def same(new: World, old: World) -> None:
    # Sorted: the releases of one tick come in index order (by wake time, or by id), and the
    # order within one instant is no action of its own.
    assert sorted(new.sent) == sorted(old.sent)  # the same checks and messages, at the same moments
    assert sorted(new.transitions) == sorted(old.transitions)
    finals = [
        (r.id, r.state, r.live_at, r.active)
        for r in sorted(new.store.all_releases(), key=lambda r: r.id)
    ]
    assert finals == [
        (r.id, r.state, r.live_at, r.active)
        for r in sorted(old.store.all_releases(), key=lambda r: r.id)
    ]


def test_a_release_far_from_due_is_not_read_by_a_tick() -> None:
    """The point of it all: a week ahead, a release costs a tick nothing."""
    store = InMemoryStore()
    clock = FixedClock(DUE - timedelta(days=7))
    store.apply_releases([make_release()], clock.now())
    dog = Watchdog(store, ScriptedProber(clock, lambda now: False), {}, clock)
    first = asyncio.run(dog.tick())  # a new release: looked at once, to schedule it
    assert first.releases == 1
    record = store.get_release("lms-2025-07")
    assert record is not None and record.wake_at == DUE - timedelta(hours=24)  # the lookahead
    clock.advance(timedelta(days=2))
    assert asyncio.run(dog.tick()).releases == 0
    assert store.due_releases(clock.now()) == []
