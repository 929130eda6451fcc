"""Fan-out: 1,000 releases due the same minute, one slow loopback host (100 ms a request).

Every page is GOV.UK-sized (about 100 KB of HTML, tests/bench/govuk_page.py) and every release
has the default content rule (probe.rules.default_rule, as config applies it: title in the
visible text, GOV.UK's error wording absent), so every page is parsed. Times a whole Watchdog
tick (probe, parse, judge, record in SQLite, decide) and HttpProber.probe_many (per-host
limit 50) beside the physical ideal, 1,000 x 100 ms / 50 = 2.0 s, and beside a bare
httpx.AsyncClient loop making the same 1,000 cache-busted requests with the same limit (and a
plain substring test for the title). Targets, printed not asserted: tick / ideal <= 1.3, peak
memory (max RSS through the prober and the tick) <= 120 MB.

Run: .venv/bin/python -m tests.bench.bench_fanout   (or every bench: python -m tests.bench)
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from releasewatch.clock import FixedClock, SystemClock
from releasewatch.model import Chain, Contact, LiveRule, Release, Step
from releasewatch.probe import HttpProber, ProbeSettings
from releasewatch.probe.http import DEFAULT_USER_AGENT
from releasewatch.probe.rules import default_rule
from releasewatch.service import Watchdog
from releasewatch.store.sqlite import SQLiteStore
from tests.bench.govuk_page import govuk_page

RELEASES = 1000
LATENCY = 0.100
PER_HOST = 50
TITLE = "Labour market overview, UK: July 2025"
BODY = govuk_page(TITLE)
TARGET_RATIO = 1.3
TARGET_MB = 120


class SlowServer:
    """A minimal HTTP/1.1 keep-alive server in its own process, as an origin is: in a thread of
    this process it would compete with the prober for the GIL, which no real origin does."""

    def __init__(self) -> None:
        ctx = multiprocessing.get_context("fork")  # before any thread of ours is started
        self._requests = ctx.Value("i", 0)
        self._connections = ctx.Value("i", 0)
        self._ports: multiprocessing.Queue[int] = ctx.Queue()
        self._process = ctx.Process(
            target=_serve_forever,
            args=(self._ports, self._requests, self._connections),
            daemon=True,
        )
        self.port = 0

    def __enter__(self) -> SlowServer:
        self._process.start()
        self.port = self._ports.get(timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        self._process.terminate()
        self._process.join(5)

    @property
    def requests(self) -> int:
        return int(self._requests.value)

    @property
    def connections(self) -> int:
        return int(self._connections.value)


def _serve_forever(ports: multiprocessing.Queue[int], requests: Any, connections: Any) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        b"Cache-Control: max-age=300\r\n"
        b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n"
    )

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with connections.get_lock():
            connections.value += 1
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                if not request:
                    break
                with requests.get_lock():
                    requests.value += 1
                await asyncio.sleep(LATENCY)
                writer.write(head + BODY)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", 0, backlog=2048)
        ports.put(server.sockets[0].getsockname()[1])
        await asyncio.Event().wait()  # until terminated

    asyncio.run(main())


def releases(port: int) -> list[Release]:
    due = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    chain = Chain(id="c", steps=(Step(after=timedelta(minutes=5), notify=("team",)),))
    contacts = {"team": Contact(id="team", name="Team", email="team@example.com")}
    return [
        Release(
            id=f"r{i}",
            title=TITLE,
            url=f"http://127.0.0.1:{port}/government/statistics/release-{i}",
            due=due,
            rule=default_rule(TITLE, LiveRule()),  # what a release with no live: rule gets
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
        # Warm up each path (imports, TLS context, first connections) before timing it. The
        # bare loop runs last: it holds far more memory than the prober (one pool reads all
        # 1,000 pages), and max RSS only ever grows.
        asyncio.run(run_prober(batch[:60]))
        probe = asyncio.run(run_prober(batch))
        tick, live = asyncio.run(run_tick(batch))
        rss = max_rss_mb()
        asyncio.run(run_bare(batch[:60]))
        bare = asyncio.run(run_bare(batch))
    ideal = RELEASES * LATENCY / PER_HOST
    print(
        f"bench_fanout: {RELEASES} releases, one host, {LATENCY * 1000:.0f} ms latency, "
        f"per-host limit {PER_HOST}, {len(BODY) / 1024:.0f} KB GOV.UK-like pages, default rule"
    )
    target = f"target <= {TARGET_RATIO}"
    print(
        f"  physical ideal    {ideal:6.2f} s   ({RELEASES} x {LATENCY * 1000:.0f} ms / {PER_HOST})"
    )
    print(f"  bare httpx loop   {bare:6.2f} s   ({bare / ideal:.2f} x ideal)")
    print(
        f"  HttpProber        {probe:6.2f} s   "
        f"({probe / ideal:.2f} x ideal; {probe / bare:.2f} x bare)"
    )
    ok_tick = "ok" if tick / ideal <= TARGET_RATIO else "OVER TARGET"
    print(f"  Watchdog.tick     {tick:6.2f} s   ({live} judged live and recorded in SQLite)")
    print(f"  tick ratio        {tick / ideal:6.2f}   (whole tick / ideal; {target}: {ok_tick})")
    print(f"  server saw        {server.requests} requests on {server.connections} connections")
    ok_mem = "ok" if rss <= TARGET_MB else "OVER TARGET"
    print(
        f"  peak memory       {rss:6.1f} MB (max RSS through the prober and the tick; "
        f"target <= {TARGET_MB} MB: {ok_mem}; {max_rss_mb():.1f} MB after the bare loop)"
    )


if __name__ == "__main__":
    main()
