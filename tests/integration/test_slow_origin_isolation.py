"""One release whose origin answers slowly (a body trickled a byte at a time, never finishing
before the probe's total timeout) must not hold up the other releases of the same tick: their
checks are recorded and their alerts sent while the slow probe is still running.

Today (390e87f) the tick waits for every probe: one trickling page delays every release's
check and alert by the whole total timeout (20 s by default), on every tick."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from releasewatch.bootstrap import build_watchdog
from releasewatch.clock import FixedClock
from releasewatch.model import Chain, Contact, LiveRule, Step
from releasewatch.probe.http import HttpProber, ProbeSettings
from releasewatch.store.sqlite import SQLiteStore
from tests.fakes import RecordingNotifier
from tests.probe_support import DUE, Handler, LoopbackHTTPServer, loopback_server, make_release

TOTAL = 4.0  # the probe's total timeout here (20 s by default)


def route(h: Handler) -> None:
    if h.route_path == "/slow":
        h.trickle(total=100, pause=0.2)  # 20 s to finish: cut off at TOTAL
    else:
        h.reply(404, b"Not found")


@pytest.fixture
def origin() -> Iterator[LoopbackHTTPServer]:
    with loopback_server(route) as server:
        yield server


async def test_a_trickling_origin_does_not_hold_up_the_other_releases(
    tmp_path: Path, origin: LoopbackHTTPServer
) -> None:
    clock = FixedClock(DUE + timedelta(minutes=6))  # the 5-minute step has fired for both
    store = SQLiteStore(tmp_path / "rw.db")
    chain = Chain(id="c", steps=(Step(after=timedelta(minutes=5), notify=("team",)),))
    contacts = {"team": Contact(id="team", name="Team", email="team@example.com")}
    rule = LiveRule(contains=("Labour market overview",))  # the body is read
    common = {"allow_loopback": True, "chain": chain, "contacts": contacts, "rule": rule}
    slow = make_release(origin.url("/slow"), id="slow", **common)
    fine = make_release(origin.url("/fine"), id="fine", **common)
    store.apply_releases([slow, fine], clock.now())
    notifier = RecordingNotifier()
    prober = HttpProber(clock, ProbeSettings(total_timeout=TOTAL))
    watchdog = build_watchdog(store, {"email": notifier}, clock, prober=prober)
    watchdog.probe_wait = 1.0  # as run_loop sets it (PROBE_WAIT)
    try:
        began = time.perf_counter()
        report = await watchdog.tick()
        took = time.perf_counter() - began
        # The other release was probed, judged and escalated without waiting for the slow one.
        assert took < TOTAL - 1, f"the tick waited {took:.1f}s for the slow origin"
        assert [c.release_id for c in report.checks] == ["fine"]
        assert not report.checks[0].live
        # ...and the slow release's own alert was not held up either: its chain runs on time.
        alerted = {m.key.split("|")[0] for m in notifier.sent}
        assert {"slow", "fine"} <= {k for k in alerted}, notifier.keys()
        # The slow probe finishes (here: times out) in the background and is recorded by a
        # later tick; it is not probed again meanwhile.
        await asyncio.sleep(TOTAL)
        later = await watchdog.tick()
        slow_checks = [c for c in later.checks if c.release_id == "slow"]
        assert len(slow_checks) == 1 and slow_checks[0].error == "timeout"
        assert len([s for s in origin.seen if s.path == "/slow"]) == 1
    finally:
        await prober.aclose()
