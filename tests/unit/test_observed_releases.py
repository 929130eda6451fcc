"""Observed releases: no chain, judged like any other, alerting nobody."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from releasewatch.model import EventKind, ReleaseState
from releasewatch.service import Watchdog
from tests.factories import DEFAULT_CHAIN, DUE, make_release
from tests.fakes import FixedClock, InMemoryStore, RecordingNotifier, ScriptedProber

M = timedelta(minutes=1)


def test_an_observed_release_late_past_every_step_sends_nothing_and_records_the_verdict():
    last_step = max(s.after + (s.repeat or timedelta(0)) for s in DEFAULT_CHAIN.steps)
    live_from = DUE + last_step + 20 * M  # late past every step time the chain would have
    clock = FixedClock(DUE - 20 * M)
    store = InMemoryStore()
    # Contacts kept (a head of profession, a lead official) but no chain: still nobody told,
    # not even the breach report a late release would draft for them.
    store.apply_releases([make_release(chain=None)], clock.now())
    channels = ("email", "sms", "notify_email", "notify_sms", "teams", "slack")
    notifiers = {c: RecordingNotifier() for c in channels}
    prober = ScriptedProber(clock, lambda now: now >= live_from)
    dog = Watchdog(store, prober, notifiers, clock)  # type: ignore[arg-type]
    seen: list[ReleaseState] = []
    while clock.now() < live_from + 10 * M:
        asyncio.run(dog.tick())
        record = store.get_release("lms-2025-07")
        assert record is not None
        if not seen or seen[-1] != record.state:
            seen.append(record.state)
        clock.advance(timedelta(seconds=10))

    assert all(n.sent == [] for n in notifiers.values())
    assert store.deliveries("lms-2025-07") == []  # nothing planned, so nothing claimed
    states = ReleaseState
    assert seen == [states.SCHEDULED, states.WATCHING, states.LATE, states.LIVE_LATE]
    record = store.get_release("lms-2025-07")
    assert record is not None and record.live_at is not None
    assert live_from <= record.live_at < live_from + M
    changes = [e.detail.get("to") for e in store.events("lms-2025-07")
               if e.kind == EventKind.STATE_CHANGED]  # fmt: skip
    assert "late" in changes and "live_late" in changes
    checks = store.checks("lms-2025-07")
    assert any(not c.live and c.at > DUE for c in checks) and any(c.live for c in checks)


def test_an_observed_release_is_stored_and_read_back_as_observed(tmp_path):  # type: ignore[no-untyped-def]
    from releasewatch.store.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "state.db")
    try:
        store.apply_releases([make_release(chain=None, contacts={})], DUE)
        record = store.get_release("lms-2025-07")
        assert record is not None and record.release.observed and record.release.contacts == {}
    finally:
        store.close()
