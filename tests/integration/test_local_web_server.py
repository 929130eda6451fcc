"""The local web server on 127.0.0.1 over the wire, with the SQLite store; and the report
command against the same database."""

from __future__ import annotations

import http.client
import logging
import os
import socket
import time
from datetime import timedelta

import pytest

from releasewatch.cli import main
from releasewatch.clock import FixedClock
from releasewatch.links.tokens import TokenCodec
from releasewatch.links.urls import SignedLinks
from releasewatch.model import EventKind
from releasewatch.store.sqlite import SQLiteStore
from releasewatch.web.app import WebApp
from releasewatch.web.local_server import LocalWebServer, local_web, serve
from tests.factories import DUE, make_release

ID = "lms-2025-07"


@pytest.fixture
def store(tmp_path):  # type: ignore[no-untyped-def]
    s = SQLiteStore(tmp_path / "rw.db")
    s.apply_releases([make_release()], DUE - timedelta(minutes=20))
    yield s
    s.close()


def request(base: str, method: str, path: str) -> tuple[int, str, dict[str, str]]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        conn.request(method, path, body=b"" if method == "POST" else None)
        response = conn.getresponse()
        return response.status, response.read().decode(), dict(response.getheaders())
    finally:
        conn.close()


def test_get_then_post_over_the_wire(store):  # type: ignore[no-untyped-def]
    clock = FixedClock(DUE + timedelta(minutes=11))
    codec = TokenCodec(b"w" * 32)
    with serve(WebApp(store, codec, clock), port=0) as base:
        assert base.startswith("http://127.0.0.1:")
        url = SignedLinks(base, codec).ack_url(ID, "web_publisher", 1, clock.now())
        assert url is not None
        path = url.removeprefix(base)
        status, body, headers = request(base, "GET", path)
        assert status == 200 and "<form method=post" in body
        assert headers["X-Frame-Options"] == "DENY"
        assert [e for e in store.events(ID) if e.kind == EventKind.ACKNOWLEDGED] == []
        status, body, _ = request(base, "POST", path)
        assert status == 200 and "Acknowledged" in body
        assert request(base, "POST", path)[0] == 409
        assert request(base, "POST", path[:-3])[0] == 400
        status, body, _ = request(base, "GET", "/")
        assert status == 200 and "@" not in body and "+4477" not in body
    acks = [e for e in store.events(ID) if e.kind == EventKind.ACKNOWLEDGED]
    assert [(a.contact_id, a.detail["step"]) for a in acks] == [("web_publisher", "1")]


def test_the_server_refuses_to_bind_anything_but_loopback(store):  # type: ignore[no-untyped-def]
    app = WebApp(store, TokenCodec(b"w" * 32), FixedClock(DUE))
    with pytest.raises(ValueError, match="loopback"):
        LocalWebServer(app, host="0.0.0.0")


def test_local_web_generates_a_secret_and_falls_back_to_a_free_port(store, tmp_path):  # type: ignore[no-untyped-def]
    clock = FixedClock(DUE)
    with local_web(store, clock, tmp_path, port=0, env={}) as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        with local_web(store, clock, tmp_path, port=port, env={}) as second:
            assert second.base_url != first.base_url
            assert any("not free" in n for n in second.notes)
    assert any("generated" in n for n in first.notes)
    assert (tmp_path / "ack-secret").exists()


def test_report_command_writes_md_txt_and_docx(store, tmp_path, capsys):  # type: ignore[no-untyped-def]
    db = str(tmp_path / "rw.db")
    assert main(["report", ID, "--db", db, "--format", "md"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Breach report (draft): Labour market overview")
    assert "## 11. Corrective actions, short and long term" in out
    assert main(["report", ID, "--db", db, "--format", "txt", "-o", str(tmp_path / "r.txt")]) == 0
    assert "1. Title and link" in (tmp_path / "r.txt").read_text()
    assert main(["report", ID, "--db", db, "--format", "docx", "-o", str(tmp_path / "r.docx")]) == 0
    assert (tmp_path / "r.docx").read_bytes()[:2] == b"PK"
    assert main(["report", "nope", "--db", db]) == 2
    assert "known: lms-2025-07" in capsys.readouterr().err


# -- idle and slow clients cannot starve the process -------------------------------------------
def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_idle_sockets_cannot_starve_the_server(store):  # type: ignore[no-untyped-def]
    # GIVEN a server that allows 8 connections and 1 s of silence
    cap, idle_timeout = 8, 1.0
    app = WebApp(store, TokenCodec(b"w" * 32), FixedClock(DUE))
    with serve(app, port=0, max_connections=cap, idle_timeout=idle_timeout) as base:
        host, port = base.removeprefix("http://").split(":")
        baseline = open_fds()
        # WHEN 40 clients connect and send nothing (5 times the cap)
        idle = [socket.create_connection((host, int(port)), timeout=5) for _ in range(40)]
        try:
            time.sleep(0.3)
            # THEN a real request is still answered at once
            started = time.monotonic()
            assert request(base, "GET", "/")[0] == 200
            assert time.monotonic() - started < idle_timeout
            # ...the server holds at most `cap` of them: the process's open files stay
            # bounded (our 40 client ends, plus the server's side of at most `cap` + 2)
            assert open_fds() - baseline <= len(idle) + cap + 2
            # ...and every idle one is closed by the server after the timeout
            deadline = time.monotonic() + idle_timeout + 3
            closed = 0
            for sock in idle:
                sock.settimeout(max(0.1, deadline - time.monotonic()))
                try:
                    closed += sock.recv(1) == b""
                except ConnectionResetError:
                    closed += 1
        finally:
            for sock in idle:
                sock.close()
        assert closed == len(idle)
        # ...and the server is still there for the next request
        assert request(base, "GET", "/")[0] == 200
        # ...and, the clients gone, the process holds what it held before, plus the web
        # worker's one database connection (the file and its WAL); more requests add nothing
        settle = time.monotonic() + 3
        while open_fds() - baseline > 2 and time.monotonic() < settle:
            time.sleep(0.05)
        assert open_fds() - baseline <= 2
        after = open_fds()
        for _ in range(20):
            assert request(base, "GET", "/")[0] == 200
        time.sleep(0.2)
        assert open_fds() <= after


def test_a_client_trickling_its_headers_is_cut_off_at_the_deadline(store):  # type: ignore[no-untyped-def]
    app = WebApp(store, TokenCodec(b"w" * 32), FixedClock(DUE))
    with serve(app, port=0, idle_timeout=1.0, request_deadline=1.5) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n")
            started = time.monotonic()
            cut = False
            # a header byte every 0.5 s: never idle for the 1 s timeout, yet cut at 1.5 s
            while time.monotonic() - started < 6:
                try:
                    sock.sendall(b"X")
                    sock.settimeout(0.5)
                    if sock.recv(1) == b"":
                        cut = True
                        break
                except TimeoutError:
                    continue
                except OSError:
                    cut = True
                    break
            assert cut and time.monotonic() - started < 4


# -- nothing the server logs carries a number or an address ------------------------------------
NUMBER, ADDRESS = "+447700900123", "leak@example.com"


class ExplodingStore(SQLiteStore):
    """A store whose reads fail with a message that quotes a contact (as a driver might)."""

    def all_releases(self):  # type: ignore[no-untyped-def]
        raise ValueError(f"row for {NUMBER} <{ADDRESS}> unreadable")

    def get_release(self, release_id):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"cannot load {release_id} for {ADDRESS}")


def raw(base: str, data: bytes) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def test_the_server_never_logs_a_number_or_address(
    tmp_path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    store = ExplodingStore(tmp_path / "x.db")
    app = WebApp(store, TokenCodec(b"w" * 32), FixedClock(DUE))
    try:
        with serve(app, port=0, idle_timeout=1.0) as base:
            for method, path in [
                ("GET", f"/{NUMBER}"),
                ("GET", f"/r/{NUMBER}"),  # the store fails, quoting the address
                ("GET", "/"),  # the store fails, quoting the number
                ("GET", f"/a/{NUMBER}{ADDRESS}"),  # a malformed token
                ("POST", f"/a/{NUMBER}"),
                ("DELETE", f"/{ADDRESS}"),
                ("GET", f"/health?to={NUMBER}"),
            ]:
                assert request(base, method, path)[0] in (200, 400, 404, 405, 500, 503)
            # malformed request lines and headers: the stdlib's error paths
            raw(base, f"GET /{NUMBER} HTTP/9.9\r\n\r\n".encode())
            raw(base, f"BOGUS /{ADDRESS}\r\n\r\n".encode())
            raw(base, f"GET /{NUMBER} HTTP/1.1\r\nBad header {ADDRESS}\r\n\r\n".encode())
            raw(base, f"GET /{'9' * 70000}{NUMBER} HTTP/1.1\r\n\r\n".encode())
            raw(base, f"GET /{NUMBER} HTTP/1.1\r\n".encode())  # then idle until the timeout
    finally:
        store.close()
    out, err = capfd.readouterr()
    for text in (out, err, caplog.text):
        assert "7700900" not in text and "@example.com" not in text, text
    # the failures were logged, by kind only
    assert "ValueError" in caplog.text and "RuntimeError" in caplog.text


def test_clients_that_send_a_request_line_and_no_headers_cannot_fill_every_slot(store):  # type: ignore[no-untyped-def]
    # GIVEN a server that allows 8 connections and 5 s of silence
    cap = 8
    app = WebApp(store, TokenCodec(b"w" * 32), FixedClock(DUE))
    with serve(app, port=0, max_connections=cap, idle_timeout=5.0) as base:
        host, port = base.removeprefix("http://").split(":")
        # WHEN three times cap clients each send a request line, then never finish their headers
        held = []
        for _ in range(3 * cap):
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            held.append(sock)
        try:
            time.sleep(0.3)
            # THEN a real request is still answered at once, not hung up on
            started = time.monotonic()
            assert request(base, "GET", "/health")[0] == 200
            assert time.monotonic() - started < 2
        finally:
            for sock in held:
                sock.close()


def test_the_board_its_stylesheet_json_and_report_over_the_wire(store):  # type: ignore[no-untyped-def]
    import json
    import re

    from releasewatch.model import ReleaseState
    from tests.factories import make_check

    record = store.get_release(ID)
    # the evidence that it was late: a check after the grace period saw it not live
    store.record_checks(
        [
            make_check(at=DUE + timedelta(minutes=5), live=False),
            make_check(at=DUE + timedelta(minutes=42), live=True),
        ]
    )
    store.update_release(
        record.model_copy(
            update={"state": ReleaseState.LIVE_LATE, "live_at": DUE + timedelta(minutes=42)}
        )
    )
    clock = FixedClock(DUE + timedelta(minutes=50))
    with serve(WebApp(store, TokenCodec(b"w" * 32), clock), port=0) as base:
        status, body, headers = request(base, "GET", "/?view=today")
        assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
        assert f'data-release-id="{ID}"' in body and "Live, 42 min late" in body
        (css,) = re.findall(r'<link rel="stylesheet" href="([^"]+)">', body)
        status, text, headers = request(base, "GET", "/" + css)
        assert status == 200 and headers["Content-Type"] == "text/css; charset=utf-8"
        assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert ".govuk-tag" in text
        status, text, headers = request(base, "GET", "/api/releases?view=week")
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        assert json.loads(text)["rows"][0]["tag"]["text"] == "Live, 42 min late"
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            conn.request("GET", f"/r/{ID}/report.docx")
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        assert response.status == 200 and data[:2] == b"PK"  # a Word file, byte for byte
        assert int(response.getheader("Content-Length") or 0) == len(data)


# -- trusts nothing first: Host, body, depth, headers ---------------------------------------------
def raw_request(base: str, data: bytes, *, wait: float = 5.0) -> bytes:
    host, port = base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=wait) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_and_headers(answer: bytes) -> tuple[int, dict[str, str]]:
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:])
    return int(head[0].split()[1]), headers


SECURITY = ("X-Frame-Options", "X-Content-Type-Options", "Content-Security-Policy", "Cache-Control")


def test_a_request_for_another_host_is_refused_before_anything(store):  # type: ignore[no-untyped-def]
    # A page on another site that rebinds its own name to 127.0.0.1 (DNS rebinding) sends its
    # own name as Host: it must not read the board, nor learn whether a path exists.
    app = WebApp(store, TokenCodec(b"w" * 32), FixedClock(DUE))
    with serve(app, port=0, public_url="https://rw.example.com") as base:
        port = base.rsplit(":", 1)[1]
        for host in ("evil.example.net", f"evil.example.net:{port}", "127.0.0.1:1", ""):
            line = f"Host: {host}\r\n" if host else ""
            answer = raw_request(base, f"GET /health HTTP/1.1\r\n{line}\r\n".encode())
            status, headers = status_and_headers(answer)
            assert status == 421, host
            assert b'"status"' not in answer and b"Unknown host" in answer
            for name in SECURITY:
                assert name in headers, (host, name)
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "rw.example.com"):
            answer = raw_request(
                base, f"GET /health HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
            )
            assert status_and_headers(answer)[0] == 200, host


def test_trickled_post_bodies_cannot_fill_every_slot(store):  # type: ignore[no-untyped-def]
    # GIVEN a server with 4 slots, and 12 clients that announce a body and never send it
    app = WebApp(store, TokenCodec(b"w" * 32), FixedClock(DUE))
    with serve(app, port=0, max_connections=4, idle_timeout=5.0) as base:
        host, port = base.removeprefix("http://").split(":")
        head = f"POST /a/{'x' * 40} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: 4000\r\n\r\n"
        held = [socket.create_connection((host, int(port)), timeout=5) for _ in range(12)]
        try:
            for sock in held:
                sock.sendall(head.encode())
            time.sleep(0.2)
            # THEN each is answered without its body, and a real request gets in at once
            started = time.monotonic()
            assert request(base, "GET", "/")[0] == 200
            assert time.monotonic() - started < 2.0
            # ...and none is held open waiting for its body: each is answered or closed
            for sock in held:
                sock.settimeout(2.0)
                while sock.recv(4096):
                    pass
        finally:
            for sock in held:
                sock.close()


def test_a_callback_is_authenticated_before_its_body_is_read(store):  # type: ignore[no-untyped-def]
    from releasewatch.web.notify_callbacks import NotifyCallbacks

    token = "t" * 32
    hooks = NotifyCallbacks(store, FixedClock(DUE), token.encode())
    app = WebApp(store, TokenCodec(b"w" * 32), FixedClock(DUE), callbacks=hooks)
    with serve(app, port=0) as base:
        host = base.removeprefix("http://")
        # No token, a body announced and never sent: refused at once, not after a timeout
        started = time.monotonic()
        answer = raw_request(
            base,
            f"POST /notify/receipts HTTP/1.1\r\nHost: {host}\r\n"
            "Content-Length: 9000\r\n\r\n".encode(),
        )
        status, headers = status_and_headers(answer)
        assert status == 401 and time.monotonic() - started < 2.0
        assert all(name in headers for name in SECURITY)
        # With the token: 16 KB of "[" is a 400, not a RecursionError's 500
        auth = f"Authorization: Bearer {token}\r\n"
        body = b"[" * 16_000
        answer = raw_request(
            base,
            f"POST /notify/receipts HTTP/1.1\r\nHost: {host}\r\n{auth}"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body,
        )
        status, headers = status_and_headers(answer)
        assert status == 400 and b"nested deeper" in answer
        assert all(name in headers for name in SECURITY)
        # ...and a body over the cap is refused unread
        answer = raw_request(
            base,
            f"POST /notify/receipts HTTP/1.1\r\nHost: {host}\r\n{auth}"
            "Content-Length: 99999\r\n\r\n".encode(),
        )
        assert status_and_headers(answer)[0] == 413


def test_error_pages_carry_the_same_security_headers(store):  # type: ignore[no-untyped-def]
    app = WebApp(store, TokenCodec(b"w" * 32), FixedClock(DUE))
    with serve(app, port=0) as base:
        for method, path in (
            ("GET", "/static/x/missing.css"),
            ("DELETE", "/"),
            ("GET", f"/a/{'x' * 40}"),
            ("GET", "/d/not-a-token/"),
        ):
            status, _, headers = request(base, method, path)
            assert status >= 400, path
            for name in SECURITY:
                assert name in headers, (path, name)
