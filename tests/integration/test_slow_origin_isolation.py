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
from typing import Any

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
        # One probe: one cache-busted request, and in the quarter of the total it leaves, one
        # to the public path, which trickles too.
        assert len([s for s in origin.seen if s.path == "/slow" and "rwcb" in s.query]) == 1
        public = slow_checks[0].public
        assert public is not None and public.error == "timeout"
    finally:
        await prober.aclose()


# -- the same on AWS: one poller invocation ---------------------------------------------------
POLLER_ENV = {
    "TABLE_NAME": "releasewatch-slow-origin",
    "SENDER_EMAIL": "releasewatch@example.com",
    "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
    "PROBE_WAIT_SECONDS": "0.5",
    "WINDOW_SECONDS": "0",  # one tick, no hot re-polls: the slow probe is all that is left
}


def poller_for(tmp_path: Path, origin: LoopbackHTTPServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    from releasewatch.aws.poller import build_poller
    from releasewatch.aws.settings import PollerSettings
    from releasewatch.links.urls import NoLinks

    for name, value in POLLER_ENV.items():
        monkeypatch.setenv(name, value)
    clock = FixedClock(DUE + timedelta(minutes=6))
    store = SQLiteStore(tmp_path / "rw.db")
    chain = Chain(id="c", steps=(Step(after=timedelta(minutes=5), notify=("team",)),))
    contacts = {"team": Contact(id="team", name="Team", email="team@example.com")}
    rule = LiveRule(contains=("Labour market overview",))
    common = {"allow_loopback": True, "chain": chain, "contacts": contacts, "rule": rule}
    store.apply_releases(
        [
            make_release(origin.url("/slow"), id="slow", **common),
            make_release(origin.url("/fine"), id="fine", **common),
        ],
        clock.now(),
    )
    sent_at: dict[str, float] = {}

    class Timed(RecordingNotifier):
        def send(self, message: Any) -> str:
            sent_at.setdefault(message.key.split("|")[0], time.perf_counter())
            return super().send(message)

    prober = HttpProber(clock, ProbeSettings(total_timeout=TOTAL))
    poller = build_poller(
        PollerSettings.from_env(),
        clock=clock,
        store=store,
        notifiers={"email": Timed()},
        prober=prober,
        links=NoLinks(),
    )
    return poller, store, prober, sent_at


async def test_on_aws_a_slow_origin_is_waited_for_only_after_the_others_are_alerted(
    tmp_path: Path, origin: LoopbackHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    poller, store, prober, sent_at = poller_for(tmp_path, origin, monkeypatch)
    try:
        began = time.perf_counter()
        report = await poller.run_async(lambda: 60_000)  # 40 s to spare past the reserve
        took = time.perf_counter() - began
        # the other release was checked and alerted without waiting for the slow origin
        assert sent_at["fine"] - began < TOTAL - 1
        # ...and the invocation used its spare time to finish the slow probe and record it
        (slow,) = store.checks("slow")
        assert slow.error == "timeout" and not slow.live
        assert took >= TOTAL - 0.5 and report.ticks == 2
        assert poller.watchdog.inflight_tasks() == []
    finally:
        await prober.aclose()


async def test_on_aws_a_probe_never_outlives_its_invocation(
    tmp_path: Path, origin: LoopbackHTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An invocation with no time to spare past its reserve: the slow probe is cancelled rather
    # than left on the loop while Lambda freezes the process (its answer would be stamped a
    # minute late); nothing is recorded for it, and the next invocation probes it afresh.
    poller, store, prober, sent_at = poller_for(tmp_path, origin, monkeypatch)
    try:
        began = time.perf_counter()
        await poller.run_async(lambda: 20_000)  # exactly the reserve
        assert time.perf_counter() - began < TOTAL - 1
        assert {"fine", "slow"} <= set(sent_at)  # both chains ran on time
        assert store.checks("slow") == [] and len(store.checks("fine")) == 1
        assert (
            poller.watchdog.inflight_tasks() == [] and poller.watchdog.finished_inflight() == set()
        )
    finally:
        await prober.aclose()
