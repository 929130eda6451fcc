"""Fan-out: 1,000 releases due the same minute, one slow loopback host (100 ms a request).

Every page is GOV.UK-sized (about 100 KB of HTML, tests/bench/govuk_page.py) and every release
has the default content rule (probe.rules.default_rule, as config applies it: title in the
visible text, GOV.UK's error wording absent), so every page is parsed, and every page is live,
so its facts (meta tags, notices) are read too. Times a whole Watchdog tick (probe, parse,
judge, record in SQLite, decide) and HttpProber.probe_many (per-host limit 50) beside a bare
httpx.AsyncClient loop making the same 1,000 cache-busted requests with the same limit (and a
plain substring test for the title), and beside two limits no tick can beat:

- the network limit, 1,000 x 100 ms / 50 = 2.0 s;
- the CPU limit: what reading one page costs (visible text, the rule's checks, the facts of a
  live page; CPU time, best of several runs) x 1,000 pages / the cores this process may use.
  Printed for lxml (the parser before selectolax, tests/lxml_page_oracle.py) too, and as an
  estimate for a Lambda function at 512 MB (about a third of a vCPU: one core's limit x 3).

Probes go through the prober's own transport (probe/transport.py), not httpx's: the bare loop
shows what httpx's would cost. The origin floor is what this origin allows any client: a bare
asyncio client that only sends the requests and reads the bodies (the origin's own event loop,
one process for 50 connections, adds a few ms a request).

The tick is timed five times and judged by its median: this machine's speed moves by a fifth
from one minute to the next, and one run is a sample of that.

Targets, printed not asserted: tick / the larger limit <= 1.3, peak memory (max RSS through
the prober and the tick) <= 120 MB.

Run: .venv/bin/python -m tests.bench.bench_fanout   (or every bench: python -m tests.bench)
"""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from releasewatch.clock import FixedClock, SystemClock
from releasewatch.local.runner import PROBE_WAIT
from releasewatch.model import Chain, Contact, LiveRule, Release, ReleaseState, Step
from releasewatch.probe import HttpProber, ProbeSettings
from releasewatch.probe.http import DEFAULT_USER_AGENT
from releasewatch.probe.pagefacts import read_text_and_facts
from releasewatch.probe.rules import default_rule, judge_page
from releasewatch.service import Watchdog
from releasewatch.store.sqlite import SQLiteStore
from tests.bench.govuk_page import govuk_page

RELEASES = 1000
LATENCY = 0.100
PER_HOST = 50
TITLE = "Labour market overview, UK: July 2025"
# Every release is due at the next whole minute, and its page says (govuk: meta tags) that it
# was published then: live on time and this edition, as the busiest minute's releases mostly
# are. (Dated at import, "now", the pages were published before their due time: every release
# was judged early, and the tick also claimed and failed an early-release email for each.)
DUE = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
BODY = govuk_page(TITLE, first_published=DUE.isoformat(timespec="seconds"))
TARGET_RATIO = 1.3
TICK_RUNS = 5
TARGET_MB = 120
LAMBDA_512_VCPU = 1 / 3  # Lambda's CPU share grows with memory: a full vCPU at 1,769 MB


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
    due = DUE
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
    """One Watchdog tick over every release: probe, judge, record checks, decide, save state,
    each release as its probe ends (the runner's probe_wait)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        clock = FixedClock(batch[0].due + timedelta(seconds=5))  # all in the hot window
        store.apply_releases(batch, clock.now())
        prober = HttpProber(clock, ProbeSettings(per_host_limit=PER_HOST))
        dog = Watchdog(store, prober, {}, clock)
        # As `releasewatch run` and the AWS poller tick: each check judged as its probe ends
        # (every page here answers within the wait).
        dog.probe_wait = PROBE_WAIT
        try:
            started = time.perf_counter()
            report = await dog.tick()
            took = time.perf_counter() - started
        finally:
            await prober.aclose()
            store.close()
    # Counted from the states the tick saved: live on time, not early (a page dated before
    # its due time) nor merely answered.
    return took, sum(1 for _, _, state in report.transitions if state == ReleaseState.LIVE)


async def run_floor(batch: list[Release]) -> float:
    """What the origin itself allows: PER_HOST asyncio stream connections doing nothing but
    send each request and read its body (no parsing, no judging). The origin's own event loop
    adds a few ms a request at this concurrency, which no client can take back."""
    pending = iter(batch)

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", int(httpx.URL(batch[0].url).port or 80)
        )
        for n, release in enumerate(pending):
            path = httpx.URL(release.url).raw_path.decode()
            writer.write(f"GET {path}?rwcb={n} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0])
            await reader.readexactly(length)
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(PER_HOST)))
    return time.perf_counter() - started


def page_cost(parser: str = "selectolax", runs: int = 5, pages: int = 40) -> float:
    """CPU seconds to read one page as a tick does (best of `runs`): its visible text, the
    default rule's checks on it, and its facts (every bench page is live). selectolax reads
    text and facts from one parse, as the prober does (page.read_page); lxml (the oracle)
    parsed twice."""
    rule = default_rule(TITLE, LiveRule())
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        for _ in range(pages):
            if parser == "lxml":
                from tests import lxml_page_oracle as oracle

                text: str = oracle.visible_text(BODY, "text/html; charset=utf-8", "utf-8")
                oracle.read_facts(BODY, "utf-8")
            else:
                text, _ = read_text_and_facts(BODY, "utf-8")
            assert judge_page(rule, 200, "https://www.gov.uk/x", text).live
        best = min(best, (time.process_time() - started) / pages)
    return best


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def tick_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
        # This machine's speed moves by a fifth from minute to minute: the tick is timed
        # TICK_RUNS times and judged by its median.
        ticks, cpus = [], []
        for _ in range(TICK_RUNS):
            cpu_before = tick_cpu()
            took, live = asyncio.run(run_tick(batch))
            ticks.append(took)
            cpus.append(tick_cpu() - cpu_before)
        tick, tick_cpu_s = statistics.median(ticks), statistics.median(cpus)
        rss = max_rss_mb()
        floor = min(asyncio.run(run_floor(batch)) for _ in range(3))
        asyncio.run(run_bare(batch[:60]))
        bare = asyncio.run(run_bare(batch))
    per_page, per_page_lxml, used = page_cost(), page_cost("lxml"), cores()
    network = RELEASES * LATENCY / PER_HOST
    cpu = per_page * RELEASES / used
    limit = max(network, cpu)
    print(
        f"bench_fanout: {RELEASES} releases, one host, {LATENCY * 1000:.0f} ms latency, "
        f"per-host limit {PER_HOST}, {len(BODY) / 1024:.0f} KB GOV.UK-like pages, default rule"
    )
    print(
        f"  network limit     {network:6.2f} s   "
        f"({RELEASES} x {LATENCY * 1000:.0f} ms / {PER_HOST})"
    )
    print(
        f"  CPU limit         {cpu:6.2f} s   ({per_page * 1000:.2f} ms CPU a page x {RELEASES} "
        f"/ {used} cores; lxml: {per_page_lxml * 1000:.2f} ms a page, "
        f"{per_page_lxml * RELEASES / used:.2f} s)"
    )
    lam_cpu = per_page * RELEASES / LAMBDA_512_VCPU
    print(
        f"  Lambda 512 MB     {lam_cpu:6.2f} s   (estimate: CPU limit on a third of a vCPU, "
        f"{per_page * 1000:.2f} ms x {RELEASES} x 3; the larger limit there: "
        f"{max(network, lam_cpu):.2f} s)"
    )
    print(
        f"  origin floor      {floor:6.2f} s   ({floor / network:.2f} x network limit: an asyncio "
        f"client that only sends the requests and reads the bodies, best of 3)"
    )
    print(f"  bare httpx loop   {bare:6.2f} s   ({bare / network:.2f} x network limit)")
    print(
        f"  HttpProber        {probe:6.2f} s   "
        f"({probe / limit:.2f} x the larger limit; {probe / bare:.2f} x bare)"
    )
    ok_tick = "ok" if tick / limit <= TARGET_RATIO else "OVER TARGET"
    print(
        f"  Watchdog.tick     {tick:6.2f} s   (median of {TICK_RUNS}, {min(ticks):.2f} to "
        f"{max(ticks):.2f} s; {live} judged live on time and recorded in SQLite; "
        f"{tick_cpu_s:.2f} s of CPU, {tick_cpu_s / RELEASES * 1000:.1f} ms a release)"
    )
    print(
        f"  tick ratio        {tick / limit:6.2f}   (whole tick / the larger limit, "
        f"{'network' if network >= cpu else 'CPU'}; target <= {TARGET_RATIO}: {ok_tick}; "
        f"{tick / floor:.2f} x the origin floor)"
    )
    print(f"  server saw        {server.requests} requests on {server.connections} connections")
    ok_mem = "ok" if rss <= TARGET_MB else "OVER TARGET"
    print(
        f"  peak memory       {rss:6.1f} MB (max RSS through the prober and the tick; "
        f"target <= {TARGET_MB} MB: {ok_mem}; {max_rss_mb():.1f} MB after the bare loop)"
    )


if __name__ == "__main__":
    main()
