"""The local mode's web server: WebApp on 127.0.0.1, in a daemon thread.

Loopback only: in local mode the links in messages are for the person at this machine (or
behind a tunnel they set up on purpose). Request bodies are read and discarded, capped, so a
POST cannot hold a thread with a huge upload.
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ..clock import Clock
from ..links import SignedLinks
from ..store.base import Store
from ..tokens import TokenCodec, local_secret
from .app import Response, WebApp

DEFAULT_PORT = 8765
MAX_BODY = 4096


def _handler(app: WebApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "releasewatch"
        sys_version = ""

        def do_GET(self) -> None:
            self._answer(app.handle("GET", self.path))

        def do_HEAD(self) -> None:
            self._answer(app.handle("HEAD", self.path), body=False)

        def do_POST(self) -> None:
            self._drain()
            self._answer(app.handle("POST", self.path))

        def do_PUT(self) -> None:
            self._drain()
            self._answer(app.handle("PUT", self.path))

        do_DELETE = do_PUT

        def _drain(self) -> None:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                length = 0
            if length > 0:
                self.rfile.read(min(length, MAX_BODY))
            if length > MAX_BODY:
                self.close_connection = True

        def _answer(self, response: Response, body: bool = True) -> None:
            data = response.body.encode()
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return  # request lines carry tokens: the app logs what matters, without them

    return Handler


class LocalWebServer:
    def __init__(self, app: WebApp, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the local web server binds to loopback only, not {host}")
        self._server = ThreadingHTTPServer((host, port), _handler(app))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="releasewatch-web", daemon=True
        )

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


@contextmanager
def serve(app: WebApp, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> Iterator[str]:
    """Serve `app` while the block runs; yields the base URL (port 0: any free port)."""
    server = LocalWebServer(app, host, port).start()
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
) -> Iterator[LocalWeb]:
    """Everything local mode needs for acknowledge links: the signing secret (from
    $RELEASEWATCH_ACK_SECRET, or generated once beside the database), the server on
    127.0.0.1 (`port`, or any free port if that one is taken) and the SignedLinks to put in
    messages."""
    secret, note = local_secret(state_dir, env)
    codec = TokenCodec(secret)
    app = WebApp(store, codec, clock)
    notes = [note] if note else []
    try:
        server = LocalWebServer(app, port=port)
    except OSError as exc:
        notes.append(f"port {port} is not free ({exc.strerror}); serving on another port")
        server = LocalWebServer(app, port=0)
    server.start()
    # Messages carry `public_url` when people reach this server through a reverse proxy or
    # tunnel; the server itself only ever listens on 127.0.0.1.
    link_base = (public_url or server.base_url).rstrip("/")
    try:
        yield LocalWeb(server.base_url, SignedLinks(link_base, codec), tuple(notes))
    finally:
        server.stop()
