"""A watchdog whose store fails as a whole (disk full, database locked): the real run_loop, a
SQLite store whose every write raises, a page on 127.0.0.1 and a simulated clock.

The page must see no more requests than its cadence allows, the failure is logged once per
streak with its reason and shown on /health and the dashboard, and when the store recovers
the tick resumes and says so once. Today (9ef7dd6) a failed tick is retried at once, forever:
the page is requested on every attempt and every attempt logs a traceback."""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from releasewatch.bootstrap import build_watchdog
from releasewatch.clock import FixedClock
from releasewatch.links.tokens import TokenCodec
from releasewatch.local.loophealth import TickHealth
from releasewatch.local.runner import run_loop
from releasewatch.model import Chain, Contact, Step
from releasewatch.probe.http import HttpProber
from releasewatch.service import Watchdog
from releasewatch.store.sqlite import SQLiteStore
from releasewatch.web.app import WebApp
from tests.fakes import RecordingNotifier
from tests.probe_support import DUE, Handler, LoopbackHTTPServer, loopback_server, make_release

START = DUE - timedelta(minutes=1)  # the hot window: the cadence allows one probe per 10 s
HOT = timedelta(seconds=10)
MINUTE = timedelta(minutes=1)
MAX_SLEEPS = 400  # a loop that never waits is stopped here (today's code), not run for ever


class FailingStore(SQLiteStore):
    """A real SQLite store whose every write transaction fails while `failure` is set."""

    failure: str | None = None

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.failure is not None:
            raise sqlite3.OperationalError(self.failure)
        with super()._write() as conn:
            yield conn


class SimClock(FixedClock):
    """Simulated time: sleeping advances it (a tick itself takes 10 ms), and the loop is
    stopped at `until` or after MAX_SLEEPS sleeps, whichever comes first."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self.until = start
        self.stop = asyncio.Event()
        self.sleeps = 0

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.advance(max(seconds, 0.01))
        if self.now() >= self.until or self.sleeps >= MAX_SLEEPS:
            self.stop.set()
        await asyncio.sleep(0)


def missing(h: Handler) -> None:
    h.reply(404, b"Not found")


@pytest.fixture
def origin() -> Iterator[LoopbackHTTPServer]:
    with loopback_server(missing) as server:
        yield server


async def setup(
    tmp_path: Path, origin: LoopbackHTTPServer
) -> tuple[FailingStore, SimClock, Watchdog]:
    """A watchdog that has been working: its last good tick, 10 s before START, set the
    next check for START (a store that fails from then on never moves it on)."""
    clock = SimClock(START - HOT)
    store = FailingStore(tmp_path / "rw.db")
    chain = Chain(id="c", steps=(Step(after=timedelta(minutes=5), notify=("team",)),))
    contacts = {"team": Contact(id="team", name="Team", email="team@example.com")}
    release = make_release(
        origin.url("/release"), allow_loopback=True, chain=chain, contacts=contacts
    )
    store.apply_releases([release], clock.now())
    notifier = RecordingNotifier()
    watchdog = build_watchdog(
        store, {"email": notifier, "sms": notifier}, clock, prober=HttpProber(clock)
    )
    await watchdog.tick()
    record = store.get_release("lmo-2025-07")
    assert record is not None and record.next_check_at == START
    clock.set(START)
    origin.seen.clear()
    return store, clock, watchdog


async def run_for(watchdog: Watchdog, clock: SimClock, span: timedelta, health: TickHealth) -> int:
    """Run the real loop for `span` of simulated time; returns the sleeps it took."""
    clock.until = clock.now() + span
    clock.stop.clear()
    clock.sleeps = 0
    await run_loop(watchdog, stop=clock.stop, health=health)
    return clock.sleeps


def allowed(span: timedelta) -> int:
    # One probe per cadence interval, plus one at the start of the span.
    return int(span / HOT) + 1


def runner_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name.startswith("releasewatch") and r.levelno >= logging.INFO
    ]


@pytest.mark.parametrize("failure", ["database or disk is full", "database is locked"])
async def test_a_failing_store_neither_hammers_the_page_nor_floods_the_log(
    tmp_path: Path,
    origin: LoopbackHTTPServer,
    caplog: pytest.LogCaptureFixture,
    failure: str,
) -> None:
    caplog.set_level(logging.INFO, logger="releasewatch")
    store, clock, watchdog = await setup(tmp_path, origin)
    health = TickHealth()
    web = WebApp(store, TokenCodec(b"k" * 32), clock, health)
    try:
        # GIVEN the store fails every write (the disk is full, or another process holds the lock)
        store.failure = failure
        # WHEN the watchdog runs for a minute in the hot window
        await run_for(watchdog, clock, MINUTE, health)
        # THEN the page saw no more requests than the cadence allows, not one per attempt
        requests = probes(origin)
        assert 1 <= requests <= allowed(MINUTE), f"{requests} requests in a minute"
        assert clock.now() >= START + MINUTE, "the loop never waited"
        # ...the streak was logged once, with the reason
        records = runner_records(caplog)
        assert [r.levelno for r in records] == [logging.ERROR], [r.getMessage() for r in records]
        assert failure in records[0].getMessage()
        # ...and /health and the dashboard say so, with since when
        got = web.handle("GET", "/health")
        assert got.status == 503 and got.headers["Content-Type"] == "application/json"
        body = json.loads(got.body)
        assert body["status"] == "failing" and failure in body["reason"]
        assert datetime.fromisoformat(body["since"]) == START
        dashboard = web.handle("GET", "/").body
        assert "The watchdog is failing" in dashboard and failure in dashboard

        # GIVEN the store recovers
        store.failure = None
        caplog.clear()
        before = probes(origin)
        # WHEN the loop goes on
        await run_for(watchdog, clock, MINUTE, health)
        # THEN the tick resumed: checks are recorded again, at the cadence...
        assert 1 <= probes(origin) - before <= allowed(MINUTE)
        record = store.get_release("lmo-2025-07")
        assert record is not None and record.last_check is not None
        assert record.last_check.at >= START + MINUTE
        # ...the recovery was logged once, and /health is ok again
        records = runner_records(caplog)
        assert [r.levelno for r in records] == [logging.WARNING], [r.getMessage() for r in records]
        assert "works again" in records[0].getMessage()
        assert web.handle("GET", "/health").status == 200
        assert "The watchdog is failing" not in web.handle("GET", "/").body
    finally:
        await watchdog.prober.aclose()
        store.close()


async def test_failed_ticks_back_off_to_a_cap(tmp_path: Path, origin: LoopbackHTTPServer) -> None:
    # GIVEN a store that fails for ten simulated minutes
    store, clock, watchdog = await setup(tmp_path, origin)
    health = TickHealth()
    store.failure = "database or disk is full"
    try:
        sleeps = await run_for(watchdog, clock, timedelta(minutes=10), health)
        # THEN failed attempts came 1, 2, 4 ... s apart, then once a minute: about 15 of them
        # (ticks with nothing to write in between succeed, and probe nothing), not thousands
        failed = health.view().attempts
        assert 10 <= failed <= 17, failed
        assert sleeps <= 150, sleeps
        # ...and the page was asked at most once per failed attempt, never above its cadence
        assert probes(origin) <= min(failed, allowed(timedelta(minutes=10)))
    finally:
        await watchdog.prober.aclose()
        store.close()


def probes(origin: LoopbackHTTPServer) -> int:
    """The probes the page saw: each asks the origin (cache-busted) once, and the public path
    (no parameter) at most once beside it, while the release is not seen live."""
    origin_path = [s for s in origin.seen if "rwcb" in s.query]
    assert len(origin.seen) - len(origin_path) <= len(origin_path), "public path asked twice"
    return len(origin_path)


class ForgetfulStore(SQLiteStore):
    """Accepts every release update and keeps none: the stored next check never moves on."""

    def update_release(self, record):  # type: ignore[no-untyped-def]
        return record.model_copy(update={"version": record.version + 1})


async def test_the_page_is_never_probed_faster_than_its_cadence_whatever_the_store_says(
    tmp_path: Path, origin: LoopbackHTTPServer
) -> None:
    # GIVEN a store that says, every time, that the release is due for a check
    clock = SimClock(START)
    store = ForgetfulStore(tmp_path / "rw.db")
    release = make_release(origin.url("/release"), allow_loopback=True)
    store.apply_releases([release], clock.now())
    watchdog = build_watchdog(store, {}, clock, prober=HttpProber(clock))
    try:
        # WHEN something ticks every second for a minute (no runner, no backoff)
        for _ in range(60):
            report = await watchdog.tick()
            assert report.errors == []
            clock.advance(1)
        # THEN the page saw one request per cadence interval, not one per tick
        assert probes(origin) == allowed(MINUTE) - 1  # at 0, 10, ... 50 s
    finally:
        await watchdog.prober.aclose()
        store.close()
