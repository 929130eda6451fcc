"""The busiest minute (issue 21): 300 releases due together, each checked every 10 s, with the
hosts' politeness budgets spreading a round of probes over seconds. A page seen live early in
a round is known at once, not when the round's last probe ends; the cadence counts from when a
probe was sent, not from when its round was judged; and a probe still queued after its tick
neither makes the run loop spin nor waits for a later wake to be recorded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from releasewatch.clock import FixedClock
from releasewatch.local.runner import run_loop, seconds_until_next
from releasewatch.model import Check, Release
from releasewatch.service import TickReport, Watchdog
from tests.factories import DUE, make_release
from tests.fakes import InMemoryStore

HOT = timedelta(seconds=10)  # the default cadence's hot interval


class GatedProber:
    """Answers "not live" at once, except for the releases in `gates`, whose probes wait for
    their gate (a request queued behind its host's budget); `took` is how long each probe
    takes on the clock (queue and answer)."""

    def __init__(self, clock: FixedClock, took: timedelta = timedelta(0)) -> None:
        self.clock = clock
        self.took = took
        self.gates: dict[str, asyncio.Event] = {}

    async def probe(self, release: Release) -> Check:
        gate = self.gates.get(release.id)
        if gate is not None:
            await gate.wait()
        self.clock.advance(self.took)
        return Check(
            release_id=release.id,
            at=self.clock.now(),
            url=release.url,
            live=False,
            reason="status 404, expected 200",
            status=404,
        )

    async def probe_many(self, releases: list[Release]) -> list[Check]:
        return [await self.probe(r) for r in releases]

    async def aclose(self) -> None:
        return None


def watched(clock: FixedClock, prober: GatedProber, *ids: str) -> tuple[InMemoryStore, Watchdog]:
    store = InMemoryStore()
    store.apply_releases([make_release(id=i, chain=None, contacts={}) for i in ids], clock.now())
    return store, Watchdog(store, prober, {}, clock)


async def until(condition: Callable[[], object], seconds: float = 2.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_check_is_recorded_when_its_probe_ends_not_when_the_rounds_last_does() -> None:
    clock = FixedClock(DUE + timedelta(seconds=20))
    prober = GatedProber(clock)
    prober.gates["queued"] = asyncio.Event()
    store, dog = watched(clock, prober, "answered", "queued")
    dog.probe_wait = 5.0  # as run_loop sets it
    tick = asyncio.ensure_future(dog.tick())
    # The first answer is stored and its release judged while the other probe still waits.
    await until(lambda: store.checks("answered"), seconds=1.0)
    answered = store.get_release("answered")
    assert answered is not None and answered.last_check is not None
    assert not store.checks("queued") and not tick.done()
    prober.gates["queued"].set()
    report = await tick
    assert sorted(c.release_id for c in report.checks) == ["answered", "queued"]
    assert report.probed == 2 and report.releases == 2


async def test_the_hot_cadence_counts_from_when_the_probe_was_sent() -> None:
    # A round of 300 probes takes seconds (the budget's queue, the answers, the judging): the
    # next check is 10 s after this one was sent, not 10 s after the round was judged.
    for wait in (5.0, None):  # the local loop's tick, and the Lambda's
        start = DUE + timedelta(seconds=20)
        clock = FixedClock(start)
        store, dog = watched(clock, GatedProber(clock, took=timedelta(seconds=4)), "lms")
        dog.probe_wait = wait
        await dog.tick()
        record = store.get_release("lms")
        assert record is not None and record.last_check is not None
        assert record.next_check_at == start + HOT, wait


async def test_a_probe_queued_past_its_tick_neither_spins_the_loop_nor_waits_to_be_recorded() -> (
    None
):
    class RealSleep(FixedClock):
        async def sleep(self, seconds: float) -> None:  # the loop really sleeps
            await asyncio.sleep(seconds)

    clock = RealSleep(DUE + timedelta(seconds=20))
    prober = GatedProber(clock)
    prober.gates["queued"] = asyncio.Event()
    store, dog = watched(clock, prober, "queued")
    dog.probe_wait = 0.05
    ticks: list[TickReport] = []
    stop = asyncio.Event()

    def on_tick(report: TickReport) -> bool:
        ticks.append(report)
        return True

    loop = asyncio.ensure_future(
        run_loop(dog, stop=stop, ceiling=timedelta(seconds=30), on_tick=on_tick)
    )
    try:
        await until(lambda: dog.probing() == {"queued"})
        # Its next check is past, but it is being probed: the loop sleeps, it does not tick.
        assert seconds_until_next(dog, clock.now(), timedelta(seconds=30)) > 1
        await asyncio.sleep(0.3)
        assert len(ticks) == 1, f"{len(ticks)} ticks while one probe was queued"
        # The probe ends: the loop wakes for it at once, not at its next sleep's end.
        prober.gates["queued"].set()
        await until(lambda: store.checks("queued"), seconds=1.0)
        assert len(ticks) == 2 and [c.release_id for c in ticks[1].checks] == ["queued"]
    finally:
        stop.set()
        await loop
