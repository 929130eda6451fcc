"""The local mode's web server: WebApp on 127.0.0.1, in a daemon thread.

Loopback only: in local mode the links in messages are for the person at this machine (or
behind a tunnel they set up on purpose). Nothing is trusted first (web/guard.py):

- a request whose Host is not 127.0.0.1, localhost or [::1] on this port, or the public URL's
  host, is refused (421) before anything else: a page on another site that rebinds its name
  to 127.0.0.1 cannot read the board;
- no body is read except a Notify callback's, and that only after its bearer token matched and
  its Content-Length is within the cap: a POST elsewhere is answered and its connection closed,
  so trickled bodies cannot hold every slot;
- every answer, error pages included, carries the same security headers.

Idle and slow clients cannot starve the watchdog (its probes and outbox share this process's
file descriptors): every read waits at most `idle_timeout`, a connection lives at most
`request_deadline` however slowly it trickles, and at most `max_connections` are open at once;
at the cap, a new connection evicts the oldest one that has not yet sent its whole request
head, so a real request still gets in while sockets are held open on purpose.

Nothing is logged per request: request lines carry tokens (and could carry anything).
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ..clock import Clock
from ..links.tokens import TokenCodec, local_secret
from ..links.urls import SignedLinks
from ..local.loophealth import TickHealth
from ..store.base import Store
from . import pages
from .app import Response, WebApp
from .guard import allowed_hosts, host_allowed, with_security_headers
from .notify_callbacks import MAX_BODY as NOTIFY_MAX_BODY
from .notify_callbacks import PATHS as NOTIFY_PATHS
from .notify_callbacks import NotifyCallbacks, authorised

log = logging.getLogger("releasewatch.web")

DEFAULT_PORT = 8765
IDLE_TIMEOUT = 10.0  # seconds any one read (request line, headers, body) may wait
REQUEST_DEADLINE = 30.0  # seconds a connection may live, however slowly it trickles
MAX_CONNECTIONS = 32


def _handler(
    app: WebApp,
    idle_timeout: float,
    worker: ThreadPoolExecutor,
    hosts: Callable[[], frozenset[str]],
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "releasewatch"
        sys_version = ""
        timeout = idle_timeout  # StreamRequestHandler applies it to the socket: every read

        def parse_request(self) -> bool:
            # Request line and headers are in: the connection is no longer idle, never evicted.
            # Not before the headers: a client that sends a request line and then trickles (or
            # withholds) its headers would otherwise hold a slot no real request can take.
            parsed = super().parse_request()
            server = self.server
            if parsed and isinstance(server, _BoundedServer):
                server.mark_busy(self.connection)
            if parsed and not host_allowed(self.headers.get("Host"), hosts()):
                # Before any route, body or store: another site's page (DNS rebinding) gets
                # nothing, not even whether a path exists.
                self.close_connection = True
                self._answer(_refusal(421, "Unknown host", "This server does not serve that name."))
                return False
            return parsed

        def do_GET(self) -> None:
            self._answer(self._handle("GET"))

        def do_HEAD(self) -> None:
            self._answer(self._handle("HEAD"), body=False)

        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] in NOTIFY_PATHS:  # Notify's callbacks: JSON bodies
                self._callback()
                return
            self._no_body()
            self._answer(self._handle("POST"))

        def do_PUT(self) -> None:
            self._no_body()
            self._answer(self._handle("PUT"))

        def _callback(self) -> None:
            """Notify's callback: the token and the size first, the body only then."""
            callbacks = app.callbacks
            header = self.headers.get("Authorization") or ""
            if callbacks is not None and not authorised(header, callbacks.token):
                self._no_body()
                log.warning("notify callback refused: missing or wrong bearer token")
                self._answer(_json_refusal(401, "missing or wrong bearer token"))
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > NOTIFY_MAX_BODY:
                self._no_body()
                self._answer(_json_refusal(413 if length > 0 else 400, "body length"))
                return
            body = self.rfile.read(length) if length else b""
            self._answer(self._handle("POST", {"authorization": header}, body))

        def _handle(
            self, method: str, headers: dict[str, str] | None = None, body: bytes = b""
        ) -> Response:
            try:
                # On the one worker thread: the SQLite store opens a connection per thread
                # and keeps it, so a thread per request would leak two file descriptors each.
                return worker.submit(app.handle, method, self.path, headers, body).result()
            except Exception as exc:  # a bug or a failing store: a page, not a traceback
                log.warning("web: %s request failed: %s", method, type(exc).__name__)
                try:
                    page = pages.page("Something went wrong", pages.para("Try again shortly."))
                except Exception:  # the templates themselves failed: plain words will do
                    page = "Something went wrong. Try again shortly."
                return Response(500, page)

        do_DELETE = do_PUT

        def _no_body(self) -> None:
            """No route here needs a body: it is never read, and the connection closes after
            the answer (so the unread bytes are never taken for a next request)."""
            if self.headers.get("Content-Length") not in (None, "", "0") or self.headers.get(
                "Transfer-Encoding"
            ):
                self.close_connection = True

        def _answer(self, response: Response, body: bool = True) -> None:
            body_ = response.body
            data = body_.encode() if isinstance(body_, str) else body_
            self.send_response(response.status)
            for name, value in with_security_headers(response.headers).items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return  # request lines carry tokens: the app logs what matters, without them

    return Handler


class _BoundedServer(ThreadingHTTPServer):
    """A thread per connection, as ThreadingHTTPServer, but at most `max_connections` of them
    and none older than `request_deadline`."""

    daemon_threads = True
    request_queue_size = 64  # the kernel's accept queue (no file descriptors): bursts wait there

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        *,
        max_connections: int,
        request_deadline: float,
    ) -> None:
        super().__init__(address, handler)
        self.max_connections = max_connections
        self.request_deadline = request_deadline
        self._open: dict[socket.socket, tuple[float, bool]] = {}  # started, busy
        self._guard = threading.Lock()

    def process_request(self, request: object, client_address: object) -> None:
        assert isinstance(request, socket.socket)
        with self._guard:
            evict = None
            if len(self._open) >= self.max_connections:
                idle = [(t, s) for s, (t, busy) in self._open.items() if not busy]
                if idle:
                    evict = min(idle, key=lambda pair: pair[0])[1]
                    del self._open[evict]
            refuse = evict is None and len(self._open) >= self.max_connections
            if not refuse:
                self._open[request] = (time.monotonic(), False)
        if evict is not None:
            _hang_up(evict)
        if refuse:  # every slot is answering a request: this one waits for none of them
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def mark_busy(self, request: socket.socket) -> None:
        with self._guard:
            if request in self._open:
                self._open[request] = (self._open[request][0], True)

    def shutdown_request(self, request: object) -> None:
        with self._guard:
            self._open.pop(request, None)  # type: ignore[call-overload]
        super().shutdown_request(request)  # type: ignore[arg-type]

    def service_actions(self) -> None:
        """Called by serve_forever between polls: hang up on connections past the deadline."""
        cutoff = time.monotonic() - self.request_deadline
        with self._guard:
            late = [s for s, (started, _) in self._open.items() if started < cutoff]
        for sock in late:
            _hang_up(sock)

    def handle_error(self, request: object, client_address: object) -> None:
        # The default prints a traceback to stderr; one line, without the request, is enough.
        log.warning("web: a connection failed", exc_info=False)


def _refusal(status: int, title: str, words: str) -> Response:
    try:
        return Response(status, pages.page(title, pages.para(words)))
    except Exception:  # the templates themselves failed: plain words will do
        return Response(status, f"{title}. {words}")


def _json_refusal(status: int, error: str) -> Response:
    return Response(status, json.dumps({"error": error}), {"Content-Type": "application/json"})


def _hang_up(sock: socket.socket) -> None:
    """Wake the thread blocked reading `sock`; it then closes the socket itself."""
    with contextlib.suppress(OSError):  # already gone
        sock.shutdown(socket.SHUT_RDWR)


class LocalWebServer:
    def __init__(
        self,
        app: WebApp,
        host: str = "127.0.0.1",
        port: int = DEFAULT_PORT,
        *,
        idle_timeout: float = IDLE_TIMEOUT,
        request_deadline: float = REQUEST_DEADLINE,
        max_connections: int = MAX_CONNECTIONS,
        public_url: str | None = None,
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the local web server binds to loopback only, not {host}")
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="releasewatch-web")
        self.public_url = public_url
        self._server = _BoundedServer(
            (host, port),
            _handler(app, idle_timeout, self._worker, self.allowed_hosts),
            max_connections=max_connections,
            request_deadline=request_deadline,
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.2},
            name="releasewatch-web",
            daemon=True,
        )

    def allowed_hosts(self) -> frozenset[str]:
        """The Host values answered: loopback names on the bound port, and the public URL's."""
        port = int(self._server.server_address[1])
        return allowed_hosts(port, (self.public_url,))

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> LocalWebServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._worker.shutdown(wait=False)


@contextmanager
def serve(
    app: WebApp,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    public_url: str | None = None,
    **limits: float,
) -> Iterator[str]:
    """Serve `app` while the block runs; yields the base URL (port 0: any free port).
    `limits`: LocalWebServer's idle_timeout, request_deadline, max_connections."""
    server = LocalWebServer(app, host, port, public_url=public_url, **limits).start()  # type: ignore[arg-type]
    try:
        yield server.base_url
    finally:
        server.stop()


@dataclass(frozen=True)
class LocalWeb:
    base_url: str
    links: SignedLinks
    notes: tuple[str, ...]


@contextmanager
def local_web(
    store: Store,
    clock: Clock,
    state_dir: Path,
    port: int = DEFAULT_PORT,
    env: Mapping[str, str] | None = None,
    public_url: str | None = None,
    health: TickHealth | None = None,
    callbacks: NotifyCallbacks | None = None,
) -> Iterator[LocalWeb]:
    """Everything local mode needs for acknowledge links: the signing secret (from
    $RELEASEWATCH_ACK_SECRET, or generated once beside the database), the server on
    127.0.0.1 (`port`, or any free port if that one is taken) and the SignedLinks to put in
    messages."""
    secret, note = local_secret(state_dir, env)
    codec = TokenCodec(secret)
    app = WebApp(store, codec, clock, health, callbacks)
    notes = [note] if note else []
    try:
        server = LocalWebServer(app, port=port, public_url=public_url)
    except OSError as exc:
        notes.append(f"port {port} is not free ({exc.strerror}); serving on another port")
        server = LocalWebServer(app, port=0, public_url=public_url)
    server.start()
    # Messages carry `public_url` when people reach this server through a reverse proxy or
    # tunnel; the server itself only ever listens on 127.0.0.1.
    link_base = (public_url or server.base_url).rstrip("/")
    try:
        yield LocalWeb(server.base_url, SignedLinks(link_base, codec), tuple(notes))
    finally:
        server.stop()
