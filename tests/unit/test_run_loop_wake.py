"""The local run loop's sleep reads only the releases due before its ceiling, like the tick:
a release watched days ahead costs the loop nothing, and it still wakes for one due sooner."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from releasewatch.local.runner import seconds_until_next
from releasewatch.model import ReleaseRecord
from releasewatch.service import Watchdog
from tests.factories import DUE, make_release
from tests.fakes import FixedClock, InMemoryStore, ScriptedProber


class NoFullReads(InMemoryStore):
    """Fails the test if anything asks for every active release."""

    def active_releases(self) -> list[ReleaseRecord]:
        raise AssertionError("the run loop read every active release")

    def read(self, now: datetime) -> list[str]:
        return [r.id for r in self.due_releases(now)]


def test_the_loop_sleeps_reading_only_the_releases_due_before_its_ceiling() -> None:
    store = NoFullReads()
    clock = FixedClock(DUE - timedelta(minutes=3))
    far = make_release(id="far", due=DUE + timedelta(days=3))
    near = make_release(id="near")
    store.apply_releases([far, near], clock.now())
    dog = Watchdog(store, ScriptedProber(clock, lambda now: False), {}, clock)
    asyncio.run(dog.tick())  # each release gets its wake time
    clock.advance(timedelta(seconds=1))
    ceiling = timedelta(minutes=5)
    assert store.read(clock.now() + ceiling) == ["near"]  # the far one is not read
    # ...and the loop wakes for the near one's next check (a minute apart, 2-15 min before)
    asleep = seconds_until_next(dog, clock.now(), ceiling)
    near_record = store.get_release("near")
    assert near_record is not None and near_record.next_check_at is not None
    assert asleep == (near_record.next_check_at - clock.now()).total_seconds() < 60
