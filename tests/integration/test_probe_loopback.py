"""HttpProber on the real wire: a threaded HTTP server on 127.0.0.1 plays CDN and origin.

Cache-busting, timeouts, resets and streamed bodies need real sockets to be believed.
"""

from __future__ import annotations

import socket
import threading
import time

from releasewatch.model import Check, LiveRule, Release
from releasewatch.probe import HttpProber, ProbeSettings
from tests.probe_support import TITLE, FakeClock, Handler, loopback_server, make_release

LIVE_PAGE = f"<html><h1>{TITLE}</h1></html>".encode()


def busted(h: Handler) -> bool:
    return (
        "rwcb" in h.query
        and h.headers.get("Cache-Control") == "no-cache"
        and h.headers.get("Pragma") == "no-cache"
    )


async def probe(release: Release, **settings: float) -> Check:
    prober = HttpProber(FakeClock(), ProbeSettings(**settings))  # type: ignore[arg-type]
    try:
        return await prober.probe(release)
    finally:
        await prober.aclose()


def local(url: str, **overrides: object) -> Release:
    return make_release(url, allow_loopback=True, **overrides)


# -- cache-busting ------------------------------------------------------------------------


def cdn_with_stale_404(h: Handler) -> None:
    """The incident: the CDN holds a 404 from before 09:30; the origin has the page."""
    if busted(h):
        h.reply(200, LIVE_PAGE, {"Age": "0", "X-Cache": "MISS", "Cache-Control": "max-age=300"})
    else:
        h.reply(404, b"Not found", {"Age": "240", "X-Cache": "HIT"})


async def test_verdict_follows_the_origin_not_a_stale_cached_404() -> None:
    with loopback_server(cdn_with_stale_404) as server:
        check = await probe(local(server.url("/release"), rule=LiveRule(contains=(TITLE,))))
    assert check.live, check.reason
    assert (check.status, check.x_cache, check.age) == (200, "MISS", "0")
    assert "rwcb=" in check.url


async def test_without_busting_the_same_server_shows_the_stale_404() -> None:
    # Proves the fixture discriminates: the parameter (not luck) made the difference above.
    with loopback_server(cdn_with_stale_404) as server:
        check = await probe(local(server.url("/release"), cache_bust_param=None))
    assert not check.live
    assert (check.status, check.age, check.x_cache) == (404, "240", "HIT")


async def test_origin_404_with_nothing_cached_is_not_live() -> None:
    def route(h: Handler) -> None:
        h.reply(404, b"Not found", {"X-Cache": "MISS"})

    with loopback_server(route) as server:
        check = await probe(local(server.url("/release")))
    assert not check.live
    assert check.reason == "status 404, expected 200"


async def test_origin_404_while_the_cache_serves_the_page_is_live_by_the_public_path() -> None:
    # Issue 17: a CDN cannot serve what the origin never had; the public saw it (the edition
    # checks on that copy are in test_public_path.py). The origin's 404 stays on the Check.
    def route(h: Handler) -> None:
        if busted(h):
            h.reply(404, b"Not found", {"X-Cache": "MISS"})
        else:
            h.reply(200, LIVE_PAGE, {"Age": "120", "X-Cache": "HIT"})

    with loopback_server(route) as server:
        check = await probe(local(server.url("/release")))
    assert check.live, check.reason
    assert check.status == 404
    assert check.public is not None and (check.public.status, check.public.age) == (200, "120")


async def test_origin_404_with_the_public_path_off_is_not_live() -> None:
    def route(h: Handler) -> None:
        if busted(h):
            h.reply(404, b"Not found", {"X-Cache": "MISS"})
        else:
            h.reply(200, LIVE_PAGE, {"Age": "120", "X-Cache": "HIT"})

    with loopback_server(route) as server:
        check = await probe(local(server.url("/release")), public_path="off")  # type: ignore[arg-type]
    assert not check.live
    assert check.status == 404 and check.public is None


async def test_each_redirect_hop_is_busted_afresh_on_the_wire() -> None:
    def route(h: Handler) -> None:
        if h.route_path == "/announcement":
            h.reply(301, headers={"Location": "/publication", "Cache-Control": "max-age=1800"})
        else:
            h.reply(200, LIVE_PAGE)

    with loopback_server(route) as server:
        check = await probe(local(server.url("/announcement?x=1")))
    tokens = [s.query["rwcb"] for s in server.seen]
    assert [s.path for s in server.seen] == ["/announcement", "/publication"]
    assert server.seen[0].query["x"] == ["1"]
    assert len(tokens[0]) == 1 and tokens[0] != tokens[1]
    assert check.redirects == (server.url("/publication"),)
    assert check.final_url == server.url("/publication")
    assert server.seen[0].headers["user-agent"].startswith("releasewatch/")


# -- failures on the wire ----------------------------------------------------------------


async def test_slow_answer_is_a_read_timeout() -> None:
    def route(h: Handler) -> None:
        time.sleep(1.0)
        h.reply(200, LIVE_PAGE)

    with loopback_server(route) as server:
        started = time.perf_counter()
        check = await probe(local(server.url("/slow")), read_timeout=0.2)
        took = time.perf_counter() - started
    assert (check.live, check.error) == (False, "timeout")
    assert "read" in check.reason
    assert took < 0.9


async def test_trickling_body_hits_the_total_timeout() -> None:
    def route(h: Handler) -> None:
        h.trickle(total=200, pause=0.05)  # each byte well within the read timeout

    with loopback_server(route) as server:
        started = time.perf_counter()
        release = local(server.url("/trickle"), rule=LiveRule(contains=("x",)))
        check = await probe(release, read_timeout=1.0, total_timeout=0.4)
        took = time.perf_counter() - started
    assert (check.live, check.error) == (False, "timeout")
    assert "total" in check.reason
    assert check.status == 200  # what was seen before the deadline is kept
    assert took < 2.0


async def test_connect_timeout_when_nobody_accepts() -> None:
    # A listening socket with a full backlog drops SYNs, so connect() hangs.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(8):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", port))
            fillers.append(s)
        time.sleep(0.05)
        started = time.perf_counter()
        check = await probe(local(f"http://127.0.0.1:{port}/"), connect_timeout=0.3)
        took = time.perf_counter() - started
    finally:
        for s in fillers:
            s.close()
        listener.close()
    assert not check.live
    # Linux drops SYNs to a listener whose backlog is full, so connect() hangs until our timeout.
    assert check.error == "timeout", check.reason
    assert "connect" in check.reason
    assert took < 1.5


async def test_connection_refused_is_a_connect_error() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    check = await probe(local(f"http://127.0.0.1:{port}/"))
    assert (check.live, check.error) == (False, "connect")


async def test_reset_before_answering_is_a_reset() -> None:
    with loopback_server(lambda h: h.reset()) as server:
        check = await probe(local(server.url("/reset")))
    assert (check.live, check.error) == (False, "reset")
    assert check.reason


async def test_server_error_on_the_wire() -> None:
    with loopback_server(lambda h: h.reply(502, b"Bad gateway")) as server:
        check = await probe(local(server.url("/")))
    assert (check.live, check.status, check.error) == (False, 502, "http_5xx")


async def test_endless_body_is_cut_off_at_the_cap() -> None:
    cap = 256 * 1024
    with loopback_server(lambda h: h.stream_forever()) as server:
        release = local(server.url("/huge"), rule=LiveRule(contains=("never there",)))
        check = await probe(release, max_body_bytes=cap)
        time.sleep(0.2)  # let the server notice the client left
        sent = server.streamed
    assert (check.live, check.error) == (False, "body_too_large")
    # The client read about `cap` bytes; socket buffers let the server push some more,
    # nowhere near the 200 MiB it would send to a client that read everything.
    assert sent < 8 * 1024 * 1024, sent


async def test_tls_to_a_plain_http_server_is_a_tls_error() -> None:
    with loopback_server(lambda h: h.reply(200, LIVE_PAGE)) as server:
        check = await probe(local(f"https://127.0.0.1:{server.port}/"))
    assert (check.live, check.error) == (False, "tls")


async def test_localhost_name_works_for_local_mode() -> None:
    with loopback_server(lambda h: h.reply(200, LIVE_PAGE)) as server:
        check = await probe(local(f"http://localhost:{server.port}/"))
    assert check.live, check.reason


async def test_probe_many_on_the_wire_mixes_outcomes_in_order() -> None:
    def route(h: Handler) -> None:
        if h.route_path == "/ok":
            h.reply(200, LIVE_PAGE)
        elif h.route_path == "/bad":
            h.reply(500)
        else:
            h.reply(404)

    with loopback_server(route) as server:
        releases = [
            local(server.url(p), id=f"r{i}") for i, p in enumerate(["/ok", "/bad", "/no"] * 5)
        ]
        prober = HttpProber(FakeClock())
        try:
            checks = await prober.probe_many(releases)
        finally:
            await prober.aclose()
    assert [c.release_id for c in checks] == [r.id for r in releases]
    assert [c.live for c in checks] == [True, False, False] * 5


async def test_the_per_host_limit_holds_on_the_wire_across_pooled_clients() -> None:
    # The prober spreads requests over several connection pools; the host limit must still hold.
    lock = threading.Lock()
    in_flight = {"now": 0, "max": 0}

    def route(h: Handler) -> None:
        with lock:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        time.sleep(0.05)
        with lock:
            in_flight["now"] -= 1
        h.reply(200, LIVE_PAGE)

    with loopback_server(route) as server:
        releases = [local(server.url(f"/p{i}"), id=f"r{i}") for i in range(40)]
        prober = HttpProber(FakeClock(), ProbeSettings(per_host_limit=5))
        try:
            checks = await prober.probe_many(releases)
        finally:
            await prober.aclose()
    assert all(c.live for c in checks)
    assert in_flight["max"] == 5  # bounded by the limit, and the limit is used in full
