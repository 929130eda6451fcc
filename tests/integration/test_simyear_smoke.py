"""The simulated year (tools/simyear) in small: 30 releases over two days, every probe over
HTTP to the loopback origins, replayed through the real watchdog into SQLite. The punctuality
record's verdict on each release must be what its fate says happened."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest

from releasewatch.punctuality.verdicts import Verdict
from tools.simyear.local import Settings, replay
from tools.simyear.verdicts import compare
from tools.simyear.year import Fate, Year, generate, life, working_days

pytestmark = pytest.mark.slow  # run first: see tests/conftest.py

DAY1, DAY2 = date(2027, 6, 2), date(2027, 6, 3)
FORCED = (
    Fate.LATE_MINUTES,
    Fate.LATE_HOURS,
    Fate.EARLY,
    Fate.CANCELLED,
    Fate.MOVED_SHORT,
    Fate.MOVED_LONG,
    Fate.NEVER_FOUND,
)


def tiny_year() -> Year:
    """30 releases on two days, 10 of them due at 09:30 on the second, and one release of every
    fate but on-time forced onto the first day (the generator draws them too rarely)."""
    year = generate(30, peak=10, seed=7, start=DAY1, end=DAY2, peak_day=DAY2)
    rng = random.Random(7)
    days = working_days(DAY1, DAY2 + timedelta(days=10))
    changed = list(year.releases)
    others = [i for i, r in enumerate(changed) if r.due != year.peak_due]
    for i, fate in zip(others, FORCED, strict=False):
        r = changed[i]
        n = int(r.id.split("-")[1])
        forced = life(rng, n, r.producer, r.host, r.announced_due, fate, days, year.peak_due)
        changed[i] = replace(forced, producer=r.producer)
    return replace(year, releases=tuple(sorted(changed, key=lambda r: (r.due, r.id))))


def test_a_tiny_year_is_recorded_as_its_fates_say(tmp_path: Path) -> None:
    year = tiny_year()
    assert {r.fate for r in year.releases} >= {Fate.ON_TIME, *FORCED}
    settings = Settings(
        db=tmp_path / "year.db",
        network="all",  # every probe over HTTP, parsed by the real rules
        latency=0.002,
        # the budget spaces requests in real time, and two days' probes over HTTP are thousands
        host_rates={"127.0.0.1": 1000, "127.0.0.2": 1000},
        peak_before=timedelta(0),
        peak_after=timedelta(seconds=3),
    )
    result = asyncio.run(replay(year, settings))

    # every release's verdict, due time and lateness as its fate says: 100% accuracy
    assert compare(year, result.verdicts) == []
    verdicts = result.verdicts
    by_fate = {r.fate: r for r in reversed(year.releases)}
    assert verdicts[by_fate[Fate.ON_TIME].id].verdict is Verdict.ON_TIME
    for fate in (Fate.LATE_MINUTES, Fate.LATE_HOURS, Fate.NEVER_FOUND):  # every late one caught
        late = by_fate[fate]
        assert verdicts[late.id].verdict is Verdict.LATE, fate
    late = by_fate[Fate.LATE_MINUTES]
    lateness = verdicts[late.id].lateness
    assert late.live_at is not None and lateness is not None
    # seen at the first probe after it went live: 10 s apart in the hot window, a minute after
    assert late.live_at - late.due <= lateness <= late.live_at - late.due + timedelta(minutes=1)
    assert verdicts[by_fate[Fate.CANCELLED].id].verdict is Verdict.CANCELLED
    moved = by_fate[Fate.MOVED_SHORT]
    assert verdicts[moved.id].verdict is Verdict.MOVED_SHORT_NOTICE
    assert verdicts[moved.id].due == moved.due != moved.announced_due
    assert verdicts[by_fate[Fate.MOVED_LONG].id].verdict is Verdict.ON_TIME
    assert verdicts[by_fate[Fate.EARLY].id].verdict is Verdict.EARLY
    assert result.errors == 0
    assert result.sent == 0  # observed releases alert nobody
    # the pages were fetched over HTTP, from both origins
    assert set(result.origins) == {"govuk", "ons"}
    assert all(sum(s.per_minute.values()) > 0 for s in result.origins.values())
    assert not result.requests_in_process
