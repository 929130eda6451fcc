"""Decompression bombs: peak memory of one probe per bomb, with the default 2 MB decoded cap.

Each bomb is served streamed in 64 KB chunks (httpx.MockTransport, as from the network) to
HttpProber.probe. Peak memory is tracemalloc's peak around the probe (Python allocations,
zlib's output included) and the process's max RSS at the end. For comparison, the same
smallest bomb read through httpx's own decoders (`aiter_bytes`, as before issue 7).
Target, printed not asserted: every bomb refused as body_too_large, peak <= 8 MB per probe.

Run: .venv/bin/python -m tests.bench.bench_decompression   (or every bench: python -m tests.bench)
"""

from __future__ import annotations

import asyncio
import resource
import sys
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Awaitable
from datetime import timedelta
from typing import TypeVar

import httpx

from releasewatch.clock import SystemClock
from releasewatch.model import Chain, Contact, LiveRule, Release, Step
from releasewatch.probe import HttpProber

MB = 1024 * 1024
TARGET_MB = 8
T = TypeVar("T")


def zeros_compressed(size: int, wbits: int, level: int = 6) -> bytes:
    c = zlib.compressobj(level, zlib.DEFLATED, wbits)
    block = bytes(MB)
    return b"".join(c.compress(block) for _ in range(size // MB)) + c.flush()


def compressed(data: bytes, wbits: int) -> bytes:
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    return c.compress(data) + c.flush()


def bombs() -> list[tuple[str, str, int, bytes]]:
    """(name, Content-Encoding, decoded size, body)."""
    gzip_1g = zeros_compressed(1024 * MB, 31, level=1)
    gzip_gzip = compressed(gzip_1g, 31)
    return [
        ("gzip 256 MB", "gzip", 256 * MB, zeros_compressed(256 * MB, 31, level=9)),
        ("gzip 1 GB", "gzip", 1024 * MB, gzip_1g),
        ("gzip, gzip 1 GB", "gzip, gzip", 1024 * MB, gzip_gzip),
        ("gzip x3 1 GB", "gzip, gzip, gzip", 1024 * MB, compressed(gzip_gzip, 31)),
        ("deflate 256 MB", "deflate", 256 * MB, zeros_compressed(256 * MB, 15, level=9)),
        ("raw deflate 256 MB", "deflate", 256 * MB, zeros_compressed(256 * MB, -15, level=9)),
    ]


async def streamed(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 64 * 1024):
        yield data[start : start + 64 * 1024]


def release() -> Release:
    return Release(
        id="bomb",
        title="Labour market overview",
        url="https://www.gov.uk/government/statistics/labour-market-overview",
        due=SystemClock().now(),
        rule=LiveRule(contains=("Labour market overview",)),
        chain=Chain(id="c", steps=(Step(after=timedelta(0), notify=("team",)),)),
        contacts={"team": Contact(id="team", name="Team", email="team@example.com")},
    )


async def probe(encoding: str, body: bytes) -> tuple[str | None, str]:
    def route(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Type": "text/html", "Content-Encoding": encoding}
        return httpx.Response(200, headers=headers, content=streamed(body))

    prober = HttpProber(SystemClock(), transport=httpx.MockTransport(route))
    try:
        check = await prober.probe(release())
    finally:
        await prober.aclose()
    return check.error, check.reason


async def httpx_decoders(encoding: str, body: bytes, cap: int) -> int:
    """How the old read_capped read a body: httpx decodes each chunk whole, then the cap."""
    response = httpx.Response(200, headers={"Content-Encoding": encoding}, content=streamed(body))
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > cap:
            break
    return total


def measure(coro: Awaitable[T]) -> tuple[T, float, float]:
    tracemalloc.start()
    try:
        started = time.perf_counter()
        result = asyncio.run(coro)  # type: ignore[arg-type]
        took = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return result, peak / MB, took


def max_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / MB


def main() -> None:
    made = bombs()
    rss_before = max_rss_mb()
    print("bench_decompression: one probe per bomb, decoded cap 2 MB, streamed in 64 KB chunks")
    print(f"  {'bomb':<20}{'sent':>10}{'decodes to':>12}{'result':>16}{'peak':>10}{'time':>9}")
    worst = 0.0
    for name, encoding, size, body in made:
        (error, _reason), peak, took = measure(probe(encoding, body))
        worst = max(worst, peak)
        print(
            f"  {name:<20}{len(body):>9,}B{size // MB:>9} MB{error or 'LIVE?':>16}"
            f"{peak:>7.1f} MB{took:>8.2f}s"
        )
    ok = "ok" if worst <= TARGET_MB else "OVER TARGET"
    target = f"target <= {TARGET_MB} MB: {ok}"
    print(f"  worst peak        {worst:6.1f} MB per probe (tracemalloc; {target})")
    print(
        f"  max RSS           {max_rss_mb():6.1f} MB (process; {rss_before:.1f} MB before probing)"
    )
    name, encoding, _size, body = made[0]
    _, peak, _ = measure(httpx_decoders(encoding, body, 2 * MB))
    print(f"  for comparison: httpx's own decoders on '{name}' peak at {peak:.1f} MB")


if __name__ == "__main__":
    main()
