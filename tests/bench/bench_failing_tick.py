"""A watchdog whose store fails every write: requests per minute and ticks attempted.

The real run_loop and Watchdog, a SQLite store whose every write raises "database or disk is
full", an HttpProber and a loopback page that counts requests, releases in the hot window
(cadence 10 s), time scaled 10x (a simulated minute in about 6 s). Printed beside what the
cadence allows (one request per release per 10 s, plus one at the start). Before issue 7 the
failed tick was retried at once: 18,000 ticks in 40 s and 370 requests a second to the page.

Run: .venv/bin/python -m tests.bench.bench_failing_tick   (or every bench: python -m tests.bench)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from releasewatch.clock import ScaledClock
from releasewatch.local.loophealth import TickHealth
from releasewatch.local.runner import run_loop
from releasewatch.model import Chain, Contact, LiveRule, Release, Step
from releasewatch.probe import HttpProber
from releasewatch.service import TickReport, Watchdog
from releasewatch.store.sqlite import SQLiteStore

RELEASES = 5
SPEED = 10.0
SIMULATED = timedelta(minutes=1)
HOT = timedelta(seconds=10)


class FullDisk(SQLiteStore):
    full = False

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        if self.full:
            raise sqlite3.OperationalError("database or disk is full")
        with super()._write() as conn:
            yield conn


class Page(BaseHTTPRequestHandler):
    requests = 0
    lock = threading.Lock()

    def do_GET(self) -> None:
        with Page.lock:
            Page.requests += 1
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class CountingWatchdog(Watchdog):
    attempts = 0

    async def tick(self, only=None) -> TickReport:  # type: ignore[no-untyped-def]
        self.attempts += 1
        return await super().tick(only)


def releases(port: int, due: datetime) -> list[Release]:
    chain = Chain(id="c", steps=(Step(after=timedelta(minutes=5), notify=("team",)),))
    contacts = {"team": Contact(id="team", name="Team", email="team@example.com")}
    return [
        Release(
            id=f"r{i}",
            title=f"Release {i}",
            url=f"http://127.0.0.1:{port}/release-{i}",
            due=due,
            rule=LiveRule(),
            chain=chain,
            contacts=contacts,
            allow_loopback=True,
        )
        for i in range(RELEASES)
    ]


async def measure(store: FullDisk, port: int) -> tuple[int, int, TickHealth]:
    due = datetime(2025, 7, 17, 8, 30, tzinfo=UTC)
    clock = ScaledClock(due - timedelta(minutes=1, seconds=10), SPEED)
    store.apply_releases(releases(port, due), clock.now())
    watchdog = CountingWatchdog(store, HttpProber(clock), {}, clock)
    await watchdog.tick()  # one good tick: every release's next check is now in 10 s
    store.full = True
    Page.requests = 0
    watchdog.attempts = 0
    health = TickHealth()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.call_later(SIMULATED.total_seconds() / SPEED, stop.set)
    try:
        await run_loop(watchdog, stop=stop, health=health)
    finally:
        await watchdog.prober.aclose()
    return Page.requests, watchdog.attempts, health


def main() -> None:
    logging.basicConfig(level=logging.CRITICAL)  # the one ERROR line is expected, not news
    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store = FullDisk(Path(tmp) / "rw.db")
            try:
                requests, attempts, health = asyncio.run(measure(store, server.server_address[1]))
            finally:
                store.close()
    finally:
        server.shutdown()
    minutes = SIMULATED / timedelta(minutes=1)
    allowed = RELEASES * (int(SIMULATED / HOT) + 1)
    view = health.view()
    print(
        f"failing store ({RELEASES} releases in the hot window, a simulated minute at "
        f"{SPEED:g}x):\n"
        f"  requests to the page: {requests / minutes:.0f} per minute "
        f"(the cadence allows {allowed / minutes:.0f})\n"
        f"  ticks attempted:      {attempts / minutes:.0f} per minute, {view.attempts} failed "
        f"(backoff 1 s doubling to 60 s)\n"
        f"  health: {'ok' if view.ok else 'failing: ' + str(view.reason)}"
    )


if __name__ == "__main__":
    main()
