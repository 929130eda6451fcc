"""Shared pieces for the probe tests: a release factory, GOV.UK item shapes, a loopback server.

The server is stdlib ThreadingHTTPServer on 127.0.0.1 in a daemon thread; each test gives it
a route function that receives the request handler and writes whatever the scenario needs.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from releasewatch.model import Chain, Contact, LiveRule, Release, Step

DUE = datetime(2025, 7, 17, 8, 30, tzinfo=UTC)  # 09:30 BST
ANNOUNCEMENT = "/government/statistics/announcements/labour-market-overview-july-2025"
PUBLICATION = "/government/statistics/labour-market-overview-uk-july-2025"
TITLE = "Labour market overview, UK: July 2025"


def make_release(url: str, **overrides: Any) -> Release:
    rule = overrides.pop("rule", None) or LiveRule()
    fields: dict[str, Any] = {
        "id": "lmo-2025-07",
        "title": TITLE,
        "url": url,
        "due": DUE,
        "rule": rule,
        "chain": Chain(id="c", steps=(Step(after=timedelta(minutes=5), notify=("team",)),)),
        "contacts": {"team": Contact(id="team", name="Team", email="team@example.com")},
    }
    fields.update(overrides)
    return Release(**fields)


# -- GOV.UK Content API items (shapes from GOVUK.md) -----------------------------------------


def announcement_item(state: str = "confirmed", display_date: str = "17 July 2025 9:30am") -> Any:
    return {
        "base_path": ANNOUNCEMENT,
        "schema_name": "statistics_announcement",
        "document_type": "official_statistics_announcement",
        "title": TITLE,
        "details": {
            "display_date": display_date,
            "state": state,
            "release_timestamp": "2025-07-17T09:30:00.000+01:00",
            "format_sub_type": "official",
        },
        "links": {
            "organisations": [
                {
                    "title": "Office for National Statistics",
                    "base_path": "/government/organisations/office-for-national-statistics",
                }
            ]
        },
    }


def redirect_item(destination: str = PUBLICATION) -> Any:
    return {
        "base_path": ANNOUNCEMENT,
        "schema_name": "redirect",
        "document_type": "redirect",
        "redirects": [{"path": ANNOUNCEMENT, "type": "exact", "destination": destination}],
    }


def publication_item(first_published_at: str = "2025-07-17T08:30:36.000+00:00") -> Any:
    return {
        "base_path": PUBLICATION,
        "schema_name": "publication",
        "document_type": "official_statistics",
        "title": TITLE,
        "first_published_at": first_published_at,
        "public_updated_at": first_published_at,
        "publishing_scheduled_at": "2025-07-17T08:30:00.000+00:00",
        "scheduled_publishing_delay_seconds": 36,
        "details": {},
    }


def as_json(item: Any) -> bytes:
    return json.dumps(item).encode()


# -- loopback server ------------------------------------------------------------------------


@dataclass
class Seen:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackHTTPServer

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.server.seen.append(
            Seen(parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()})
        )
        self.server.route(self)

    def log_message(self, format: str, *args: Any) -> None:  # quiet tests
        pass

    # helpers for routes
    @property
    def route_path(self) -> str:
        return urlsplit(self.path).path

    @property
    def query(self) -> dict[str, list[str]]:
        return parse_qs(urlsplit(self.path).query)

    def reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def reset(self) -> None:
        """Close with a TCP RST (SO_LINGER 0) before answering."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def stream_forever(self, chunk: int = 64 * 1024, limit: int = 200 * 1024 * 1024) -> None:
        """An endless body (up to `limit`), counting what was written before the client left."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        block = b"x" * chunk
        try:
            while self.server.streamed < limit:
                self.wfile.write(block)
                self.server.streamed += len(block)
        except OSError:
            pass

    def trickle(self, total: int, pause: float) -> None:
        """A body sent one byte at a time, `pause` seconds apart."""
        self.send_response(200)
        self.send_header("Content-Length", str(total))
        self.end_headers()
        try:
            for _ in range(total):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(pause)
        except OSError:
            pass


class LoopbackHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, route: Callable[[Handler], None]) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.route = route
        self.seen: list[Seen] = []
        self.streamed = 0

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and vanished clients are the point of some tests

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@contextmanager
def loopback_server(
    route: Callable[[Handler], None], *, tls: tuple[Path, Path] | None = None
) -> Iterator[LoopbackHTTPServer]:
    """A server on 127.0.0.1 answering through `route`; over TLS with `tls`, a certificate and
    its key (see make_ca_and_certificate)."""
    server = LoopbackHTTPServer(route)
    if tls is not None:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@dataclass
class FakeClock:
    """The probe's Clock; a fixed time is enough here."""

    at: datetime = DUE
    calls: list[datetime] = field(default_factory=list)

    def now(self) -> datetime:
        self.calls.append(self.at)
        return self.at

    async def sleep(self, seconds: float) -> None:
        return None


def make_ca_and_certificate(folder: Path, *names: str) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate it signs for `names`, written in `folder`: (the CA's
    PEM, the certificate's PEM, its key's PEM). For TLS on loopback under a public name."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)

    def build(subject: str, issuer: x509.Name, key: Any, signer: Any, ca: bool) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if ca:
            builder = builder.add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            ).add_extension(
                x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
            )
        else:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
            ).add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "releasewatch test CA")])
    ca_cert = build("releasewatch test CA", ca_name, ca_key, ca_key, True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build(names[0], ca_name, key, ca_key, False)
    pem = serialization.Encoding.PEM
    paths = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    paths[0].write_bytes(ca_cert.public_bytes(pem))
    paths[1].write_bytes(cert.public_bytes(pem))
    paths[2].write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths
