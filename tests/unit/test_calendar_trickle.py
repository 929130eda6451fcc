"""The watch loop never waits for a calendar: while a calendar source trickles (a loopback
server sending a byte at a time, never finishing), `run`'s periodic sync is under way beside
the ticks, and a release that goes past due meanwhile is alerted on time. A source that
trickles past its deadline fails alone; the others are applied."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releasewatch.calendar import sync as sync_module
from releasewatch.calendar.fetch import FeedFetcher
from releasewatch.calendar.imports import imports_path
from releasewatch.calendar.resync import Resync
from releasewatch.calendar.sync import sync_once
from releasewatch.config.load import load_config
from releasewatch.local.runner import run_loop
from releasewatch.service import Watchdog
from releasewatch.store.sqlite import SQLiteStore
from tests.fakes import FixedClock, RecordingNotifier, ScriptedProber
from tests.probe_support import Handler, LoopbackHTTPServer, loopback_server

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)  # 13:00 in London
CONFIG = """\
local_mode: true
contacts:
  team: {{name: Stats team, email: team@example.com}}
chains:
  default:
    - {{after: 5m, notify: [team]}}
releases:
  - id: lms
    title: Labour market
    url: https://www.example.com/lms
    due: 2026-07-01 13:10
    chain: default
defaults: {{chain: default}}
calendars:
  - ics: "{trickle}"
  - csv: releases.csv
"""
CSV = "id,title,url,due\ngdp,GDP,https://www.example.com/gdp,2026-07-20 09:30\n"


class Trickle:
    """Answers 200 and then one byte every 50 ms until told to stop: never a whole body."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.sent = 0

    def __call__(self, h: Handler) -> None:
        h.send_response(200)
        h.send_header("Content-Type", "text/calendar")
        h.send_header("Content-Length", str(10**6))
        h.end_headers()
        h.wfile.write(b"BEGIN:VCALENDAR\r\n")
        while not self.stop.wait(0.05):
            try:
                h.wfile.write(b" ")
                h.wfile.flush()
            except OSError:  # the client gave up: as it should
                return
            self.sent += 1


@pytest.fixture
def trickle() -> Iterator[tuple[Trickle, LoopbackHTTPServer]]:
    route = Trickle()
    with loopback_server(route) as server:
        try:
            yield route, server
        finally:
            route.stop.set()


def setup(tmp_path: Path, server: LoopbackHTTPServer) -> tuple[Path, SQLiteStore]:
    (tmp_path / "releases.csv").write_text(CSV)
    config = tmp_path / "releasewatch.yaml"
    config.write_text(CONFIG.format(trickle=server.url("/cal.ics")))
    store = SQLiteStore(tmp_path / "rw.db")
    store.apply_releases(load_config(config).releases, NOW)
    return config, store


def test_a_release_past_due_is_alerted_on_time_while_a_calendar_trickles(tmp_path, trickle):
    route, server = trickle
    config, store = setup(tmp_path, server)
    clock = FixedClock(NOW)
    email = RecordingNotifier()
    dog = Watchdog(store, ScriptedProber(clock, lambda _t: False), {"email": email}, clock)
    resync = Resync(load_config(config), store, imports_path(tmp_path / "rw.db"), console=print)
    seen: list[tuple[datetime, int, bool]] = []  # (clock, alerts so far, sync under way)

    def on_tick(_report: object) -> bool:
        seen.append((clock.now(), len(email.sent), resync.running))
        if clock.now() < NOW + timedelta(minutes=30):
            return True
        # This clock races through half an hour in milliseconds: on a busy machine the source
        # may not have sent its first trickled byte yet. Tick on (in real time) until it has.
        time.sleep(0.01)
        return route.sent == 0

    async def go() -> None:
        # Real time: the loop must not wait out the source (its deadline is 120 s).
        async with asyncio.timeout(30):
            await run_loop(
                dog,
                stop=asyncio.Event(),
                ceiling=timedelta(minutes=1),
                on_tick=on_tick,
                resync=resync,
                sync_every=timedelta(minutes=1),
                gate=resync.gate,
            )

    try:
        asyncio.run(go())
    finally:
        store.close()
    assert resync.runs == 1  # started at 13:01, still under way to the end, never twice
    assert route.sent > 0 and len(server.seen) == 1
    # The alert left at 13:15 (due 13:10, first step after 5 minutes), with the sync running.
    first_alert = next(at for at, alerts, _ in seen if alerts)
    assert first_alert == NOW + timedelta(minutes=15)
    assert all(running for at, _, running in seen if at > NOW + timedelta(minutes=1))
    assert [m.contact_id for m in email.sent] == ["team"]


def test_a_source_that_trickles_past_its_deadline_fails_alone_and_the_rest_applies(
    tmp_path, trickle, monkeypatch
):
    monkeypatch.setattr(sync_module, "SOURCE_DEADLINE", 1.0)
    _, server = trickle
    config, store = setup(tmp_path, server)
    fetcher = FeedFetcher(local_mode=True)

    async def go() -> sync_module.Plan:
        try:
            return await sync_once(
                load_config(config), store, tmp_path / "imports.json", fetcher, NOW
            )
        finally:
            await fetcher.aclose()

    started = time.monotonic()
    plan = asyncio.run(go())
    try:
        assert time.monotonic() - started < 10
        [(label, why)] = plan.failures.items()
        assert label.startswith("ics:http://127.0.0.1")
        assert why == "not read within 1 s (the deadline per calendar source)"
        assert {r.id for r in store.active_releases()} == {"lms", "gdp"}
    finally:
        store.close()
