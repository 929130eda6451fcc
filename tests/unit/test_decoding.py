"""Decoded size is capped while decoding, not after: compression bombs never inflate in memory.

A 64 MB run of zeros gzips to ~65 KB, and gzipped again to ~200 bytes. httpx's decoders
inflate a whole network chunk at once (and `gzip, gzip` multiplies), so the old cap, checked
after each decoded chunk, came only after the memory was taken. Peak memory is measured with
tracemalloc around one probe; the cap is the default 2 MB.
"""

from __future__ import annotations

import functools
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator

import httpx
import pytest

from releasewatch.model import Check, LiveRule
from releasewatch.probe import HttpProber
from releasewatch.probe.decoding import ACCEPT_ENCODING, BoundedDecoder, parse_encodings
from tests.probe_support import FakeClock, Handler, loopback_server, make_release

URL = "https://www.gov.uk/government/statistics/labour-market-overview-uk-july-2025"
RULE = LiveRule(contains=("Labour market overview",))
PAGE = (
    b"<html><body><h1>Labour market overview</h1>" + b"<p>Main points</p>" * 500 + b"</body></html>"
)
BOMB_SIZE = 64 * 1024 * 1024
PEAK_LIMIT = 8 * 1024 * 1024  # the 2 MB cap, a copy of it, and change


def compress(data: bytes | None, wbits: int, *, size: int = 0) -> bytes:
    """`data` (or `size` zero bytes, fed a megabyte at a time) compressed with `wbits`."""
    c = zlib.compressobj(6, zlib.DEFLATED, wbits)
    if data is not None:
        return c.compress(data) + c.flush()
    block = bytes(1024 * 1024)
    return b"".join([c.compress(block) for _ in range(size // len(block))]) + c.flush()


GZIP, ZLIB, RAW = 31, 15, -15


@functools.cache
def bomb(kind: str) -> bytes:
    if kind == "gzip":
        return compress(None, GZIP, size=BOMB_SIZE)
    if kind == "gzip, gzip":
        return compress(bomb("gzip"), GZIP)
    if kind == "deflate":
        return compress(None, ZLIB, size=BOMB_SIZE)
    if kind == "raw deflate":
        return compress(None, RAW, size=BOMB_SIZE)
    raise AssertionError(kind)


async def chunks(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def probe_mock(body: bytes, encoding: str) -> tuple[Check, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def route(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        headers = {"Content-Type": "text/html", "Content-Encoding": encoding}
        # A streamed body, as from the network (a bytes body would be decoded by httpx at once).
        return httpx.Response(200, headers=headers, content=chunks(body))

    prober = HttpProber(FakeClock(), transport=httpx.MockTransport(route))
    try:
        return await prober.probe(make_release(URL, rule=RULE)), seen
    finally:
        await prober.aclose()


async def measured(coro):  # type: ignore[no-untyped-def]
    """(result, peak bytes allocated, seconds) for awaiting `coro`."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        started = time.perf_counter()
        result = await coro
        took = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return result, peak, took


@pytest.mark.parametrize(
    ("kind", "header"),
    [
        ("gzip", "gzip"),
        ("gzip, gzip", "gzip, gzip"),
        ("deflate", "deflate"),
        ("raw deflate", "deflate"),
    ],
)
async def test_a_compression_bomb_is_refused_within_the_cap(kind: str, header: str) -> None:
    data = bomb(kind)
    (check, _), peak, took = await measured(probe_mock(data, header))
    assert (check.live, check.error) == (False, "body_too_large")
    assert "decoded" in check.reason
    assert peak < PEAK_LIMIT, f"{kind}: {len(data)} bytes took {peak / 2**20:.0f} MB"
    assert took < 2.0


async def test_a_stacked_gzip_bomb_over_the_wire_is_refused_within_the_cap() -> None:
    data = bomb("gzip, gzip")

    def route(h: Handler) -> None:
        h.reply(200, data, {"Content-Type": "text/html", "Content-Encoding": "gzip, gzip"})

    with loopback_server(route) as server:
        prober = HttpProber(FakeClock())
        release = make_release(server.url("/bomb"), rule=RULE, allow_loopback=True)
        try:
            check, peak, _ = await measured(prober.probe(release))
        finally:
            await prober.aclose()
    assert len(data) < 2048  # a 2 KB answer...
    assert (check.live, check.error) == (False, "body_too_large")
    assert peak < PEAK_LIMIT  # ...never takes more than the cap


@pytest.mark.parametrize(
    ("body", "header"),
    [
        (compress(PAGE, GZIP), "gzip"),
        (compress(PAGE, GZIP), "x-gzip"),
        (compress(compress(PAGE, GZIP), GZIP), "gzip, gzip"),
        (compress(PAGE, ZLIB), "deflate"),
        (compress(PAGE, RAW), "deflate"),
        (compress(PAGE[:100], GZIP) + compress(PAGE[100:], GZIP), "gzip"),  # two members
        (PAGE, "identity"),
        (compress(PAGE, GZIP), "identity, gzip"),
    ],
)
async def test_honest_encoded_pages_are_decoded_and_judged(body: bytes, header: str) -> None:
    check, seen = await probe_mock(body, header)
    assert check.live, check.reason
    assert seen[0].headers["accept-encoding"] == ACCEPT_ENCODING == "gzip, deflate"


@pytest.mark.parametrize("header", ["br", "zstd", "compress", "gzip, br", "gzip, gzip, gzip, gzip"])
async def test_an_encoding_not_asked_for_is_a_clear_failure(header: str) -> None:
    check, _ = await probe_mock(PAGE, header)
    assert (check.live, check.error) == (False, "unsupported_encoding")
    assert "unsupported content-encoding" in check.reason


async def test_a_corrupt_gzip_body_is_a_clear_failure() -> None:
    check, _ = await probe_mock(b"\x1f\x8b\x08\x00garbage" * 10, "gzip")
    assert (check.live, check.error) == (False, "bad_encoding")
    assert "gzip" in check.reason


async def test_a_plain_body_over_the_cap_is_still_refused() -> None:
    check, _ = await probe_mock(b"x" * (3 * 1024 * 1024), "identity")
    assert check.error == "body_too_large"


@pytest.mark.parametrize(
    ("body", "header"),
    [
        (compress(PAGE, RAW), "deflate"),
        (compress(PAGE, ZLIB), "deflate"),
        (compress(PAGE, GZIP) + compress(PAGE, GZIP), "gzip"),
        (compress(compress(PAGE, RAW), GZIP), "deflate, gzip"),
    ],
)
def test_decoding_does_not_depend_on_how_the_body_is_chunked(body: bytes, header: str) -> None:
    encodings = parse_encodings(header)
    for size in (1, 2, 7, 1000):
        decoder = BoundedDecoder(encodings, 10 * len(PAGE))
        for start in range(0, len(body), size):
            decoder.feed(body[start : start + size])
        assert bytes(decoder.body) in (PAGE, PAGE + PAGE), (header, size)
