"""A loopback fake of GOV.UK Notify's v2 API, strict where the real one is.

It checks every request's JWT (HS256 signature with the key's secret, `iss` = the service id,
`iat` within 30 s of its clock), the template ids and the personalisation keys each template
needs, and answers with Notify's error bodies (`{"status_code", "errors": [{error, message}]}`).
It answers 429 or 5xx when told to (`fail_next`), or accepts a message and then answers 500
(`fail_after_accept`: the worst case for duplicates), records every accepted message, serves
GET /v2/notifications/{id} and GET /v2/received-text-messages (newest first, `older_than`),
and posts delivery receipts and received texts to a callback URL with the bearer token.
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt

SERVICE_ID = "26785a09-ab16-4eb0-8407-a37497a57506"
SECRET = "3d844edf-8d35-48ac-975b-e847b4f122b0"
API_KEY = f"releasewatch_test-{SERVICE_ID}-{SECRET}"
EMAIL_TEMPLATE = "f33517ff-2a88-4f6e-b855-c550268ce08a"
SMS_TEMPLATE = "8b0f2a5e-1f6a-4d8e-9c3b-0d3e3e1a2b4c"
SMS_SENDER = "a1b2c3d4-0000-4000-8000-000000000001"
REPLY_TO = "a1b2c3d4-0000-4000-8000-000000000002"
INBOUND_NUMBER = "07700900999"


def _fmt(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Sent:
    id: str
    type: str  # "email" | "sms"
    to: str
    template_id: str
    personalisation: dict[str, str]
    reference: str | None
    sender_id: str | None
    created_at: datetime
    status: str = "sending"


@dataclass
class Received:
    id: str
    user_number: str  # as Notify gives it: 447700900123
    content: str
    created_at: datetime


@dataclass
class FakeNotify:
    now: Callable[[], datetime]
    service_id: str = SERVICE_ID
    secret: str = SECRET
    templates: dict[str, tuple[str, tuple[str, ...]]] = field(
        default_factory=lambda: {
            EMAIL_TEMPLATE: ("email", ("subject", "body")),
            SMS_TEMPLATE: ("sms", ("body",)),
        }
    )
    # Statuses to answer the next sends with instead of accepting them (429, 500, 503...).
    fail_next: list[int] = field(default_factory=list)
    fail_after_accept: bool = False
    sent: list[Sent] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)  # (status, error) answered
    gets: list[str] = field(default_factory=list)  # paths of GET requests
    # The status GET /v2/notifications/{id} reports for a message (default: its `status`).
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- the API ------------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        error = self._auth(headers.get("authorization", ""))
        if error is not None:
            return self._refuse(403, "AuthError", error)
        url = urlsplit(path)
        if method == "POST" and url.path in ("/v2/notifications/email", "/v2/notifications/sms"):
            return self._send(url.path.rsplit("/", 1)[1], body)
        if method == "GET" and url.path.startswith("/v2/notifications/"):
            with self.lock:
                self.gets.append(url.path)
            return self._get(url.path.rsplit("/", 1)[1])
        if method == "GET" and url.path == "/v2/received-text-messages":
            with self.lock:
                self.gets.append(url.path)
            older = parse_qs(url.query).get("older_than", [None])[0]
            return self._received(older)
        return self._refuse(404, "NotFound", "no such endpoint")

    def _auth(self, header: str) -> str | None:
        if not header.startswith("Bearer "):
            return "Unauthorized: authentication token must be provided"
        token = header.removeprefix("Bearer ")
        try:
            head = jwt.get_unverified_header(token)
            claims = jwt.decode(
                token, self.secret, algorithms=["HS256"], options={"verify_iat": False}
            )
        except jwt.InvalidSignatureError:
            return "Invalid token: API key not found"
        except jwt.PyJWTError as exc:
            return f"Invalid token: {type(exc).__name__}"
        if head.get("typ") != "JWT" or head.get("alg") != "HS256":
            return "Invalid token: header"
        if claims.get("iss") != self.service_id:
            return "Invalid token: service not found"
        iat = claims.get("iat")
        if not isinstance(iat, int) or abs(iat - self.now().timestamp()) > 30:
            return "Error: Your system clock must be accurate to within 30 seconds"
        return None

    def _refuse(self, status: int, error: str, message: str) -> tuple[int, Any]:
        with self.lock:
            self.refused.append((status, error))
        return status, {"status_code": status, "errors": [{"error": error, "message": message}]}

    def _send(self, kind: str, raw: bytes) -> tuple[int, Any]:
        try:
            body = json.loads(raw)
        except ValueError:
            return self._refuse(400, "BadRequestError", "Invalid JSON supplied in POST data")
        with self.lock:
            failing = self.fail_next.pop(0) if self.fail_next else None
        if failing == 429:
            return self._refuse(429, "RateLimitError", "Exceeded rate limit for key type LIVE")
        if failing is not None:
            return self._refuse(failing, "Exception", "Internal server error")
        template = body.get("template_id")
        known = self.templates.get(template)
        if known is None or known[0] != kind:
            return self._refuse(400, "BadRequestError", "Template not found")
        personalisation = body.get("personalisation") or {}
        missing = [k for k in known[1] if k not in personalisation]
        if missing:
            return self._refuse(
                400, "BadRequestError", f"Missing personalisation: {', '.join(missing)}"
            )
        to = body.get("phone_number" if kind == "sms" else "email_address")
        if not isinstance(to, str) or not to:
            return self._refuse(400, "ValidationError", f"{kind} recipient is a required property")
        sender = body.get("sms_sender_id" if kind == "sms" else "email_reply_to_id")
        message = Sent(
            id=str(uuid.uuid4()),
            type=kind,
            to=to,
            template_id=template,
            personalisation=dict(personalisation),
            reference=body.get("reference"),
            sender_id=sender,
            created_at=self.now(),
        )
        with self.lock:
            self.sent.append(message)
        if self.fail_after_accept:
            return 500, {"status_code": 500, "errors": [{"error": "Exception", "message": "x"}]}
        content: dict[str, Any] = {"body": personalisation.get("body", "")}
        if kind == "email":
            content["subject"] = personalisation.get("subject", "")
            content["from_email"] = "releasewatch@notifications.service.gov.uk"
        else:
            content["from_number"] = "GOVUK"
        return 201, {
            "id": message.id,
            "reference": message.reference,
            "content": content,
            "uri": f"https://api.notifications.service.gov.uk/v2/notifications/{message.id}",
            "template": {"id": template, "version": 1, "uri": "..."},
        }

    def _get(self, notification_id: str) -> tuple[int, Any]:
        with self.lock:
            found = next((m for m in self.sent if m.id == notification_id), None)
        if found is None:
            return self._refuse(404, "NoResultFound", "No result found")
        return 200, {
            "id": found.id,
            "reference": found.reference,
            "type": found.type,
            "status": found.status,
            "template": {"id": found.template_id, "version": 1},
            "created_at": _fmt(found.created_at),
            "completed_at": None,
        }

    def _received(self, older_than: str | None) -> tuple[int, Any]:
        with self.lock:
            newest_first = sorted(self.received, key=lambda r: r.created_at, reverse=True)
        if older_than is not None:
            ids = [r.id for r in newest_first]
            newest_first = newest_first[ids.index(older_than) + 1 :] if older_than in ids else []
        page = newest_first[:250]
        return 200, {
            "received_text_messages": [
                {
                    "id": r.id,
                    "user_number": r.user_number,
                    "notify_number": INBOUND_NUMBER,
                    "created_at": _fmt(r.created_at),
                    "service_id": self.service_id,
                    "content": r.content,
                }
                for r in page
            ],
            "links": {"current": "/v2/received-text-messages"},
        }

    # -- the outside world --------------------------------------------------------------------
    def deliver(self, message: Sent, status: str) -> None:
        with self.lock:
            message.status = status

    def reply(self, user_number: str, content: str) -> Received:
        """A text to the service's reply number (user_number like 447700900123)."""
        text = Received(str(uuid.uuid4()), user_number, content, self.now())
        with self.lock:
            self.received.append(text)
        return text

    def receipt_payload(self, message: Sent, status: str) -> dict[str, Any]:
        now = _fmt(self.now())
        return {
            "id": message.id,
            "reference": message.reference,
            "to": message.to,
            "status": status,
            "created_at": _fmt(message.created_at),
            "completed_at": now,
            "sent_at": now,
            "notification_type": message.type,
            "template_id": message.template_id,
            "template_version": 1,
        }

    @staticmethod
    def inbound_payload(text: Received) -> dict[str, Any]:
        return {
            "id": text.id,
            "source_number": text.user_number,
            "destination_number": INBOUND_NUMBER,
            "message": text.content,
            "date_received": _fmt(text.created_at),
        }

    @staticmethod
    def callback(url: str, token: str, payload: dict[str, Any]) -> httpx.Response:
        """What Notify does: POST the JSON with the service's bearer token."""
        return httpx.post(
            url, json=payload, headers={"Authorization": f"Bearer {token}"}, timeout=5
        )


def _handler(fake: FakeNotify) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _do(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, answer = fake.handle(method, self.path, headers, body)
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self._do("GET")

        def do_POST(self) -> None:
            self._do("POST")

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler


@contextlib.contextmanager
def serve_notify(fake: FakeNotify) -> Iterator[str]:
    """Serve `fake` on 127.0.0.1 while the block runs; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
