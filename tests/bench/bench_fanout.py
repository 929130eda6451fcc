"""Fan-out: 1,000 releases due the same minute, one slow loopback host (100 ms a request).

Times a whole Watchdog tick (probe, judge, record in SQLite, decide) and HttpProber.probe_many
(per-host limit 50) against a bare httpx.AsyncClient loop making
the same 1,000 cache-busted requests with the same limit. Targets, printed not asserted:
prober/bare wall-time ratio <= 1.3, peak memory (max RSS of this process) <= 120 MB.

Run: .venv/bin/python -m tests.bench.bench_fanout   (or every bench: python -m tests.bench)
"""

from __future__ import annotations

import asyncio
import itertools
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from releasewatch.clock import FixedClock, SystemClock
from releasewatch.model import Chain, Contact, LiveRule, Release, Step
from releasewatch.probe import HttpProber, ProbeSettings
from releasewatch.probe.http import DEFAULT_USER_AGENT
from releasewatch.service import Watchdog
from releasewatch.store.sqlite import SQLiteStore

RELEASES = 1000
LATENCY = 0.100
PER_HOST = 50
TITLE = "Labour market overview"
BODY = f"<html><h1>{TITLE}</h1>{'<p>main points</p>' * 200}</html>".encode()
TARGET_RATIO = 1.3
TARGET_MB = 120


class SlowServer:
    """A minimal HTTP/1.1 keep-alive server on its own event loop in a thread."""

    def __init__(self) -> None:
        self.port = 0
        self.requests = 0
        self.connections = 0
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> SlowServer:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", 0, backlog=2048)
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()
        # Close the connection handlers too, so the loop shuts down without warnings.
        pending = asyncio.all_tasks(self._loop)
        for task in pending:
            task.cancel()
        self._loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self._loop.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nCache-Control: max-age=300\r\n"
            b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n"
        )
        self.connections += 1
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                if not request:
                    break
                self.requests += 1
                await asyncio.sleep(LATENCY)
                writer.write(head + BODY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


def releases(port: int) -> list[Release]:
    due = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    chain = Chain(id="c", steps=(Step(after=timedelta(minutes=5), notify=("team",)),))
    contacts = {"team": Contact(id="team", name="Team", email="team@example.com")}
    return [
        Release(
            id=f"r{i}",
            title=f"Release {i}",
            url=f"http://127.0.0.1:{port}/government/statistics/release-{i}",
            due=due,
            rule=LiveRule(contains=(TITLE,)),
            chain=chain,
            contacts=contacts,
            allow_loopback=True,
        )
        for i in range(RELEASES)
    ]


async def run_prober(batch: list[Release]) -> float:
    prober = HttpProber(SystemClock(), ProbeSettings(per_host_limit=PER_HOST))
    try:
        started = time.perf_counter()
        checks = await prober.probe_many(batch)
        took = time.perf_counter() - started
    finally:
        await prober.aclose()
    failed = [c for c in checks if not c.live]
    if failed:
        print(f"  prober: {len(failed)} not live, e.g. {failed[0].reason}", file=sys.stderr)
    return took


async def run_bare(batch: list[Release]) -> float:
    counter = itertools.count()
    headers = {"Cache-Control": "no-cache", "Pragma": "no-cache", "User-Agent": DEFAULT_USER_AGENT}
    limits = httpx.Limits(max_connections=PER_HOST, max_keepalive_connections=PER_HOST)
    # No pool timeout: the bare loop queues all 1,000 in httpx's pool and must not give up.
    timeout = httpx.Timeout(20.0, pool=None)
    async with httpx.AsyncClient(limits=limits, timeout=timeout, headers=headers) as client:

        async def one(release: Release) -> bool:
            response = await client.get(release.url, params={"rwcb": str(next(counter))})
            return response.status_code == 200 and TITLE in response.text

        started = time.perf_counter()
        results = await asyncio.gather(*(one(r) for r in batch))
        took = time.perf_counter() - started
    if not all(results):
        print(f"  bare: {results.count(False)} failed", file=sys.stderr)
    return took


async def run_tick(batch: list[Release]) -> tuple[float, int]:
    """One Watchdog tick over every release: probe, judge, record checks, decide, save state."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        clock = FixedClock(batch[0].due + timedelta(seconds=5))  # all in the hot window
        store.apply_releases(batch, clock.now())
        prober = HttpProber(clock, ProbeSettings(per_host_limit=PER_HOST))
        dog = Watchdog(store, prober, {}, clock)
        try:
            started = time.perf_counter()
            report = await dog.tick()
            took = time.perf_counter() - started
        finally:
            await prober.aclose()
            store.close()
    return took, sum(1 for c in report.checks if c.live)


def max_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / (1024 * 1024)


def main() -> None:
    with SlowServer() as server:
        batch = releases(server.port)
        # Warm up both paths (imports, TLS context, first connections) before timing.
        asyncio.run(run_bare(batch[:60]))
        asyncio.run(run_prober(batch[:60]))
        bare = asyncio.run(run_bare(batch))
        probe = asyncio.run(run_prober(batch))
        tick, live = asyncio.run(run_tick(batch))
    ratio = probe / bare
    tick_ratio = tick / bare
    rss = max_rss_mb()
    floor = RELEASES / PER_HOST * LATENCY
    print(
        f"bench_fanout: {RELEASES} releases, one host, {LATENCY * 1000:.0f} ms latency, "
        f"per-host limit {PER_HOST} (floor {floor:.1f} s)"
    )
    print(f"  bare httpx loop   {bare:6.2f} s")
    print(f"  HttpProber        {probe:6.2f} s")
    ok_ratio = "ok" if ratio <= TARGET_RATIO else "OVER TARGET"
    ok_mem = "ok" if rss <= TARGET_MB else "OVER TARGET"
    print(f"  Watchdog.tick     {tick:6.2f} s   ({live} judged live and recorded in SQLite)")
    target = f"target <= {TARGET_RATIO}"
    print(f"  ratio             {ratio:6.2f}   (probe_many / bare; {target}: {ok_ratio})")
    ok_tick = "ok" if tick_ratio <= TARGET_RATIO else "OVER TARGET"
    print(f"  tick ratio        {tick_ratio:6.2f}   (whole tick / bare; {target}: {ok_tick})")
    print(f"  server saw        {server.requests} requests on {server.connections} connections")
    print(f"  peak memory       {rss:6.1f} MB (max RSS; target <= {TARGET_MB} MB: {ok_mem})")


if __name__ == "__main__":
    main()
