"""The punctuality record's evidence outlives the store's checks.

Checks expire (30 days by default, both stores); the state change to live keeps the checks
that decided it, so a release judged on time or late is still judged so, with its evidence,
long after its checks have gone. Driven through the watchdog and a real SQLite store."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from releasewatch.model import ReleaseRecord
from releasewatch.punctuality.verdicts import Judged, Verdict, judge
from releasewatch.service import Watchdog
from releasewatch.store.sqlite import SQLiteStore
from tests.factories import DUE, make_check, make_release
from tests.fakes import FixedClock, RecordingNotifier, ScriptedProber

S = timedelta(seconds=1)
M = timedelta(minutes=1)


def watch(tmp_path: Path, live_from: object, until: object) -> tuple[SQLiteStore, FixedClock]:
    clock = FixedClock(DUE - 20 * M)
    store = SQLiteStore(tmp_path / "state.db", check_ttl=timedelta(days=30))
    store.apply_releases([make_release(chain=None)], clock.now())
    prober = ScriptedProber(clock, lambda now: now >= live_from)
    dog = Watchdog(store, prober, {"email": RecordingNotifier()}, clock)  # type: ignore[arg-type]
    while clock.now() < until:  # type: ignore[operator]
        asyncio.run(dog.tick())
        clock.advance(10 * S)
    return store, clock


def forty_days_on(store: SQLiteStore, clock: FixedClock) -> Judged:
    """A check of another release 40 days later: the store purges expired checks as it writes."""
    later = clock.now() + timedelta(days=40)
    store.apply_releases([make_release(id="other", due=later)], later)
    store.record_checks([make_check("other", at=later)])
    record = store.get_release("lms-2025-07")
    assert isinstance(record, ReleaseRecord)
    checks = store.checks("lms-2025-07")
    assert len(checks) <= 1  # only what the record itself keeps: the rest expired
    return judge(record, checks, store.events("lms-2025-07"), later)


@pytest.mark.parametrize("kept", [True, False])
def test_on_time_stays_on_time_with_its_deciding_checks(tmp_path: Path, kept: bool) -> None:
    store, clock = watch(tmp_path, DUE + 20 * S, DUE + 30 * M)
    if not kept:  # the guard: without the evidence the state change keeps, it is unknown
        with store._write() as conn:  # rewriting history on purpose
            conn.execute("UPDATE events SET body = replace(body, 'first_live', 'x')")
    j = forty_days_on(store, clock)
    if kept:
        assert j.verdict == Verdict.ON_TIME, j.why
        assert j.first_live is not None and j.first_live.live
        assert j.last_not_live is not None and not j.last_not_live.live
        assert j.last_not_live.at < DUE + 20 * S <= j.first_live.at
    else:
        assert j.verdict == Verdict.UNKNOWN and "expired" in j.why


def test_late_stays_late_by_the_same_minutes(tmp_path: Path) -> None:
    store, clock = watch(tmp_path, DUE + 17 * M, DUE + 40 * M)
    j = forty_days_on(store, clock)
    assert j.verdict == Verdict.LATE and j.lateness_minutes == 17, j.why
    assert j.last_not_live is not None and j.last_not_live.at >= DUE + 16 * M
