"""What each release's page serves at a simulated time, over loopback HTTP or in process.

Two origins, each on its own loopback address (GOV.UK-like 127.0.0.1, ONS-like 127.0.0.2: the
prober's politeness budget is per host, as for www.gov.uk and www.ons.gov.uk), in one forked
process (an origin in a thread of the watchdog's process would compete with it for the GIL,
which no real origin does):

- GOV.UK-like: the publication's page is 404 (GOV.UK's small "Page not found") until it is
  published, then ~100 KB of GOV.UK-shaped HTML (tests/bench/govuk_page.py) with the title.
- ONS-like: the release page answers 200 in every state, as ons.gov.uk does: "upcoming" (the
  title, the not-yet-published banner and data-gtm-release-status="upcoming") until
  published, then ~100 KB with the title and status "published".

Each answers after `latency` (default 100 ms, an ASSUMPTION for a CDN miss), with a Date header
from the simulated clock, and with 429 and Retry-After: 1 past `budget` requests in one second
(default 100, an ASSUMPTION: neither GOV.UK nor ONS publishes its limit). Both count
requests per simulated minute, per real second and per status, for the report.

On quiet days `FateProber` answers the same states in process, without HTTP or parsing, so
that a year replays in minutes; the peak morning always goes over HTTP.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any

from releasewatch.model import Check, Release
from releasewatch.probe.budget import DEFAULT_RATES
from tests.bench.govuk_page import govuk_page

from .clock import SimClock
from .year import SimRelease

LIVE, NOT_YET, GONE = "live", "not_yet", "gone"
_MARK = "@@TITLE@@"
_GOVUK_LIVE = govuk_page(_MARK)
_GOVUK_404 = (
    b'<!DOCTYPE html><html lang="en"><head><title>Page not found - GOV.UK</title></head><body>'
    b'<main id="main-content"><h1 class="govuk-heading-xl">Page not found</h1>'
    b'<p class="govuk-body">If you entered a web address, check it is correct.</p>'
    + b"<p>GOV.UK footer</p>" * 200
    + b"</main></body></html>"
)
_ONS_SECTION = b"<section><h2>Main points</h2><p>" + b"Estimates and commentary. " * 40 + b"</p>"


def _ons_page(status: str, banner: str, size: int) -> bytes:
    head = (
        f'<!DOCTYPE html><html lang="en"><head><title>{_MARK} - Office for National Statistics'
        f'</title></head><body><div class="ons-page" data-gtm-release-status="{status}">'
        f"<h1>{_MARK}</h1><p>{banner}</p>"
    ).encode()
    room = size - len(head) - 30
    return head + _ONS_SECTION * max(1, room // len(_ONS_SECTION)) + b"</div></body></html>"


_ONS_UPCOMING = _ons_page("upcoming", "This release is not yet published", 40 * 1024)
_ONS_LIVE = _ons_page("published", "Release date: published", 100 * 1024)


def state(release: SimRelease, now: datetime) -> str:
    if release.live_at is not None and now >= release.live_at:
        return LIVE
    return NOT_YET


def answer(release: SimRelease | None, now: datetime) -> tuple[int, bytes]:
    """The status and body a release's page serves at `now` (None: an unknown path)."""
    if release is None:
        return 404, _GOVUK_404
    live = state(release, now) == LIVE
    title = release.title.encode()
    if release.host == "ons":
        return 200, (_ONS_LIVE if live else _ONS_UPCOMING).replace(_MARK.encode(), title)
    if live:
        return 200, _GOVUK_LIVE.replace(_MARK.encode(), title)
    return 404, _GOVUK_404


@dataclass
class OriginStats:
    """What an origin saw: requests per simulated minute, answers per status."""

    per_minute: Counter[int] = field(default_factory=Counter)  # minute (epoch // 60) -> requests
    per_second: Counter[int] = field(default_factory=Counter)  # real second -> requests
    statuses: Counter[int] = field(default_factory=Counter)
    throttled: int = 0
    connections: int = 0

    def busiest_minute(self) -> int:
        """Requests in the busiest simulated minute."""
        return max(self.per_minute.values(), default=0)

    def busiest_second(self) -> int:
        return max(self.per_second.values(), default=0)


class Origins:
    """The GOV.UK-like and ONS-like loopback origins, in one child process."""

    HOSTS = ("govuk", "ons")
    ADDRESSES = {"govuk": "127.0.0.1", "ons": "127.0.0.2"}
    # the prober's budget for each, as it has it for the real hosts (requests a second)
    RATES = {"127.0.0.1": DEFAULT_RATES["gov.uk"], "127.0.0.2": DEFAULT_RATES["ons.gov.uk"]}

    def __init__(
        self,
        releases: Sequence[SimRelease],
        clock: SimClock,
        *,
        latency: float = 0.100,
        budget: int = 100,
    ) -> None:
        ctx = multiprocessing.get_context("fork")  # inherits the year and the clock's memory
        self._parent, child = ctx.Pipe()
        by_path = {(r.host, r.path): r for r in releases}
        self._process = ctx.Process(
            target=_serve, args=(child, by_path, clock, latency, budget), daemon=True
        )
        self.ports: dict[str, int] = {}
        self.stats: dict[str, OriginStats] = {}

    def __enter__(self) -> Origins:
        self._process.start()
        if not self._parent.poll(30):
            raise RuntimeError("the loopback origins did not start within 30 s")
        self.ports = self._parent.recv()
        return self

    def url(self, release: SimRelease) -> str:
        address = self.ADDRESSES[release.host]
        return f"http://{address}:{self.ports[release.host]}{release.path}"

    def collect(self) -> dict[str, OriginStats]:
        """What each origin has seen so far."""
        self._parent.send("stats")
        self.stats = self._parent.recv()
        return self.stats

    def __exit__(self, *exc: object) -> None:
        try:
            self.collect()
        finally:
            self._process.terminate()
            self._process.join(5)


def _serve(
    pipe: Any,
    by_path: dict[tuple[str, str], SimRelease],
    clock: SimClock,
    latency: float,
    budget: int,
) -> None:
    stats = {host: OriginStats() for host in Origins.HOSTS}
    second: dict[str, tuple[tuple[int, int], int]] = {h: ((0, 0), 0) for h in Origins.HOSTS}

    def handler(host: str) -> Any:
        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            stats[host].connections += 1
            try:
                while True:
                    request = await reader.readuntil(b"\r\n\r\n")
                    target = request.split(b" ", 2)[1].decode("latin-1")
                    path = target.split("?", 1)[0]
                    await asyncio.sleep(latency)
                    now_ts = clock.timestamp()
                    now = clock.now()
                    st = stats[host]
                    st.per_minute[int(now_ts // 60)] += 1
                    # A burst is what one second sees on both clocks: real seconds (the
                    # simulated clock stands still through an AWS invocation's work) and
                    # simulated ones (a quiet day replays hours in one real second).
                    real = int(time.monotonic())
                    st.per_second[real] += 1
                    key, count = second[host]
                    now_key = (int(now_ts), real)
                    count = count + 1 if now_key == key else 1
                    second[host] = (now_key, count)
                    extra = b""
                    if count > budget:
                        status, body = 429, b"Too many requests"
                        st.throttled += 1
                        extra = b"Retry-After: 1\r\n"
                    else:
                        status, body = answer(by_path.get((host, path)), now)
                    st.statuses[status] += 1
                    head = (
                        f"HTTP/1.1 {status} X\r\nContent-Type: text/html; charset=utf-8\r\n"
                        f"Date: {format_datetime(now, usegmt=True)}\r\n"
                        f"Cache-Control: max-age=300\r\nContent-Length: {len(body)}\r\n"
                    ).encode()
                    writer.write(head + extra + b"\r\n" + body)
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError, IndexError):
                pass
            finally:
                writer.close()

        return serve

    async def main() -> None:
        ports = {}
        for host in Origins.HOSTS:
            address = Origins.ADDRESSES[host]
            server = await asyncio.start_server(handler(host), address, 0, backlog=2048)
            ports[host] = server.sockets[0].getsockname()[1]
        pipe.send(ports)
        while True:
            await asyncio.to_thread(pipe.recv)
            pipe.send(stats)

    asyncio.run(main())


class FateProber:
    """A Prober answering each release's page state in process: no HTTP, no parsing (the quiet
    days of the year; the peak morning goes over HTTP). Counts what it answered per host."""

    def __init__(self, clock: SimClock, by_id: dict[str, SimRelease]) -> None:
        self.clock = clock
        self.by_id = by_id
        self.requests: Counter[str] = Counter()

    async def probe(self, release: Release) -> Check:
        sim = self.by_id[release.id]
        self.requests[sim.host] += 1
        now = self.clock.now()
        live = state(sim, now) == LIVE
        status = 200 if live or sim.host == "ons" else 404
        return Check(
            release_id=release.id,
            at=now,
            started_at=now,
            url=release.url,
            final_url=release.url,
            judged_url=release.url,
            live=live,
            status=status,
            reason="the page passes its live rule" if live else "not published yet",
            origin_date=now.replace(microsecond=0),
            elapsed_ms=0.0,
        )

    async def probe_many(self, releases: Sequence[Release]) -> list[Check]:
        return [await self.probe(r) for r in releases]

    async def aclose(self) -> None:
        return None
