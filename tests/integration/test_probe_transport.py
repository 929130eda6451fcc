"""ProbeTransport on real sockets: keep-alive, servers that close or lie, and no retry storms.

A scripted server on 127.0.0.1 plays each connection as told, so the cases a real CDN produces
now and then (an idle connection closed just as it is reused, a head too big, a body cut
short) are replayed exactly, and every connection and request it saw is counted: a probe that
asks twice, or never, fails here.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releasewatch.model import Check, LiveRule
from releasewatch.probe import HttpProber, ProbeSettings
from releasewatch.probe.netguard import AddressPolicy, SystemResolver
from releasewatch.probe.transport import KEEPALIVE_EXPIRY, ProbeTransport
from tests.probe_support import TITLE, FakeClock, make_release

LIVE_PAGE = f"<html><h1>{TITLE}</h1></html>".encode()


def answer(body: bytes = LIVE_PAGE, status: str = "200 OK", extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\n"
        f"{extra}\r\n"
    ).encode() + body


@dataclass
class Conn:
    """One accepted connection, as the script sees it."""

    index: int  # 0 for the first connection the server accepted
    sock: socket.socket
    requests: list[bytes] = field(default_factory=list)

    def read_request(self) -> bytes | None:
        """The next request's head, or None when the client closed."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        self.requests.append(data)
        return data


class ScriptedServer:
    """Each connection is handed to `script(conn)` on its own thread."""

    def __init__(self, script: Callable[[Conn], None]) -> None:
        self.script = script
        self.conns: list[Conn] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()

    def url(self, path: str = "/release") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    @property
    def requests(self) -> list[bytes]:
        return [r for c in self.conns for r in c.requests]

    def serve(self) -> None:
        while True:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                conn = Conn(len(self.conns), sock)
                self.conns.append(conn)
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: Conn) -> None:
        try:
            self.script(conn)
        except OSError:
            pass
        finally:
            conn.sock.close()

    def close(self) -> None:
        # close() alone does not wake a thread blocked in accept(); shutdown() does.
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()


@contextmanager
def scripted(script: Callable[[Conn], None]) -> Iterator[ScriptedServer]:
    server = ScriptedServer(script)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.close()
        thread.join(timeout=5)


def keep_alive(conn: Conn) -> None:
    while conn.read_request() is not None:
        conn.sock.sendall(answer())


async def probe_in_turn(url: str, times: int, *, public_path: str = "fallback") -> list[Check]:
    settings = ProbeSettings(read_timeout=2.0, total_timeout=5.0, public_path=public_path)  # type: ignore[arg-type]
    prober = HttpProber(FakeClock(), settings)
    release = make_release(url, allow_loopback=True, rule=LiveRule(contains=(TITLE,)))
    try:
        return [await prober.probe(release) for _ in range(times)]
    finally:
        await prober.aclose()


# -- keep-alive ---------------------------------------------------------------------------


async def test_probes_of_one_host_share_a_kept_alive_connection() -> None:
    with scripted(keep_alive) as server:
        checks = await probe_in_turn(server.url(), 5)
    assert [c.live for c in checks] == [True] * 5, [c.reason for c in checks]
    assert (len(server.conns), len(server.requests)) == (1, 5)


async def test_an_idle_connection_the_server_closed_is_not_a_failed_probe() -> None:
    # Answers without "Connection: close", then closes: a client finds out only on reuse.
    def answer_once(conn: Conn) -> None:
        if conn.read_request() is not None:
            conn.sock.sendall(answer())

    with scripted(answer_once) as server:
        checks = await probe_in_turn(server.url(), 3, public_path="off")
    assert [c.live for c in checks] == [True] * 3, [c.reason for c in checks]
    assert (len(server.conns), len(server.requests)) == (3, 3)


async def test_a_reused_connection_closed_unanswered_is_asked_once_more_on_a_new_one() -> None:
    # The race a CDN's idle timeout makes: the request arrives as the server closes.
    def close_on_second(conn: Conn) -> None:
        if conn.read_request() is not None:
            conn.sock.sendall(answer())
        if conn.index == 0:
            conn.read_request()  # and close without a word
        else:
            keep_alive(conn)

    with scripted(close_on_second) as server:  # the public path off: the retry alone
        checks = await probe_in_turn(server.url(), 2, public_path="off")
    assert [c.live for c in checks] == [True, True], [c.reason for c in checks]
    assert [len(c.requests) for c in server.conns] == [2, 1]


async def test_a_new_connection_closed_unanswered_fails_the_probe_without_asking_again() -> None:
    def hang_up(conn: Conn) -> None:
        conn.read_request()

    with scripted(hang_up) as server:  # the public path (asked after a failure) off
        (check,) = await probe_in_turn(server.url(), 1, public_path="off")
    assert not check.live
    assert check.error == "reset" and "without sending a response" in (check.reason or "")
    assert (len(server.conns), len(server.requests)) == (1, 1)


async def test_a_body_left_unread_closes_its_connection() -> None:
    # Bigger than max_body_bytes: the prober stops reading, so the rest of the body would
    # be read as the next answer's head if the connection went back to the pool.
    big = b"x" * 5000

    def big_then_live(conn: Conn) -> None:
        while conn.read_request() is not None:
            body = big if len(conn.requests) == 1 and conn.index == 0 else LIVE_PAGE
            conn.sock.sendall(answer(body))

    with scripted(big_then_live) as server:
        prober = HttpProber(FakeClock(), ProbeSettings(max_body_bytes=1000, read_timeout=2.0))
        release = make_release(server.url(), allow_loopback=True, rule=LiveRule(contains=(TITLE,)))
        try:
            first, second = await prober.probe(release), await prober.probe(release)
        finally:
            await prober.aclose()
    assert first.error == "body_too_large"
    assert second.live, second.reason
    assert [len(c.requests) for c in server.conns] == [1, 1]


async def test_a_response_head_past_the_limit_is_bad_http_not_unbounded_memory() -> None:
    def huge_head(conn: Conn) -> None:
        conn.read_request()
        conn.sock.sendall(b"HTTP/1.1 200 OK\r\n")
        for _ in range(400):  # 400 KB of headers, never ending the head
            conn.sock.sendall(b"X-Filler: " + b"a" * 1000 + b"\r\n")

    with scripted(huge_head) as server:
        (check,) = await probe_in_turn(server.url(), 1, public_path="off")
    assert not check.live
    assert check.error == "protocol", check.reason


async def test_a_chunked_body_sent_a_byte_at_a_time_is_read_whole() -> None:
    def chunked_trickle(conn: Conn) -> None:
        conn.read_request()
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nTransfer-Encoding: chunked\r\n\r\n"
        body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (LIVE_PAGE[:10], LIVE_PAGE[10:]))
        for byte in head + body + b"0\r\n\r\n":
            conn.sock.sendall(bytes([byte]))

    with scripted(chunked_trickle) as server:
        (check,) = await probe_in_turn(server.url(), 1)
    assert check.live, check.reason


async def test_a_cookie_one_page_sets_is_never_sent_with_another_probe() -> None:
    def set_cookie(conn: Conn) -> None:
        while conn.read_request() is not None:
            conn.sock.sendall(answer(extra="Set-Cookie: seen=1; Path=/\r\n"))

    with scripted(set_cookie) as server:
        await probe_in_turn(server.url(), 2)
    assert len(server.requests) == 2
    assert all(b"cookie:" not in r.lower() for r in server.requests)


# -- the transport itself -----------------------------------------------------------------


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_an_idle_connection_is_not_reused_past_its_expiry() -> None:
    ticks = Ticks()
    policy = AddressPolicy(allow_loopback=True)
    context = httpx.create_ssl_context()
    with scripted(keep_alive) as server:
        transport = ProbeTransport(SystemResolver(), policy, context, monotonic=ticks)
        try:
            for wait in (0.0, KEEPALIVE_EXPIRY - 0.5, KEEPALIVE_EXPIRY + 0.5):
                ticks.now += wait
                response = await transport.handle_async_request(
                    httpx.Request("GET", server.url(), extensions={"timeout": {"read": 2.0}})
                )
                assert response.status_code == 200
                assert b"".join([c async for c in response.aiter_raw()]) == LIVE_PAGE
                await response.aclose()
        finally:
            await transport.aclose()
    # The second request reused the first connection; the third came after its expiry.
    assert [len(c.requests) for c in server.conns] == [2, 1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600), st.sampled_from([b"", b"HTTP/1.1 200 OK\r\n"]))
def test_whatever_a_server_answers_a_probe_returns_a_check(noise: bytes, start: bytes) -> None:
    """Any bytes back (a valid status line or not) make a Check with a reason, on one request."""

    def reply(conn: Conn) -> None:
        conn.read_request()
        conn.sock.sendall(start + noise)
        conn.sock.shutdown(socket.SHUT_WR)
        conn.sock.recv(1)  # until the client is done

    with scripted(reply) as server:
        (check,) = asyncio.run(probe_in_turn(server.url(), 1, public_path="off"))
    assert check.reason
    assert len(server.requests) == 1
