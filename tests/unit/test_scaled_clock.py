"""The demo's clock: simulated time runs fast during the demo, at real speed once it keeps its
board up afterwards (`demo --keep-serving`), so the board's ages and lateness stay true."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from releasewatch.clock import ScaledClock

START = datetime(2025, 7, 17, 8, 12, tzinfo=UTC)


def test_the_demo_clock_runs_fast_then_at_real_speed_from_where_it_was() -> None:
    clock = ScaledClock(START, 3600.0)
    time.sleep(0.05)  # three simulated minutes
    assert clock.now() - START >= timedelta(minutes=2)
    clock.real_speed()
    slowed_at = clock.now()
    assert slowed_at - START >= timedelta(minutes=2)  # no jump back to the start
    time.sleep(0.05)
    assert timedelta(0) < clock.now() - slowed_at < timedelta(seconds=1)
