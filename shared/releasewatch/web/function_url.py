"""The API function's routes on its Lambda function URL, without a web framework.

    GET  /health                    is the poller ticking? 503 once its last tick is > 3 min old
    GET  /status                    releases and their states as JSON (no contacts)
    POST /notify/receipts|inbound   GOV.UK Notify's callbacks (404 when the stack has none)
    GET  /static/<v>/<f>            the board's stylesheet and script (public)
    GET|POST /a/<token>, /c/<token> acknowledge and readiness links (web.app.WebApp)
    GET  /d/<token>/...             the board behind a signed dashboard link
    GET  /, /dashboard, /r/..., /api/releases..., /punctuality (and its files)
                                    403: only a signed link opens the board

Powertools' event handler took about 200 ms of every cold start (it imports its OpenAPI,
AppSync and asyncio support), more than the board's whole 150 ms import budget; a function
URL's event already carries all a route needs (method, raw path and query, headers, body).

What a route needs is built on first use (`Deps`): /health reads no signing key, /status no
key either, and an unreadable key answers 503 only on the pages it guards.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from .guard import with_security_headers

if TYPE_CHECKING:  # the models and the board load on the first request that needs them
    from ..clock import Clock
    from ..links.tokens import TokenCodec
    from ..store.base import Store
    from .app import WebApp
    from .notify_callbacks import NotifyCallbacks

log = logging.getLogger("releasewatch.web")

JSON = "application/json"


class Unavailable(Exception):
    """A secret the route needs (the link-signing key, Notify's callback token) cannot be read
    now; the route answers 503 and the caller has logged why."""


class Reply(Protocol):
    """web.app.Response, or any answer with a status, a body and headers."""

    @property
    def status(self) -> int: ...
    @property
    def body(self) -> str | bytes: ...
    @property
    def headers(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class Answer:
    status: int
    body: str | bytes
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> Request:
        """A function URL event (payload format 2.0). A body that claims base64 and is not
        raises ValueError (answered 400)."""
        http = (event.get("requestContext") or {}).get("http") or {}
        raw = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:
                body = base64.b64decode(raw, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError("the body is not valid base64") from exc
        else:
            body = raw.encode("utf-8", "surrogateescape")
        headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
        return cls(
            method=str(http.get("method") or "GET").upper(),
            path=str(event.get("rawPath") or http.get("path") or "/"),
            query=str(event.get("rawQueryString") or ""),
            headers=headers,
            body=body,
        )


@dataclass(frozen=True)
class Deps:
    """What routes may use, each built or read only when a route asks for it."""

    store: Callable[[], Store]
    codec: Callable[[], TokenCodec]  # raises Unavailable when the key cannot be read
    clock: Clock
    last_tick: Callable[[], datetime | None] | None = None
    # Notify's callbacks: None when the stack has none (404); raises Unavailable (503)
    notify: Callable[[], NotifyCallbacks | None] = lambda: None


def to_function_url(reply: Reply) -> dict[str, Any]:
    """The function URL's response: bytes (a .docx download) go base64-encoded. Every answer,
    a JSON error as much as a page, carries the same security headers (guard.py)."""
    body = reply.body
    headers = with_security_headers(dict(reply.headers))
    if isinstance(body, bytes):
        return {
            "statusCode": reply.status,
            "headers": headers,
            "body": base64.b64encode(body).decode("ascii"),
            "isBase64Encoded": True,
        }
    return {
        "statusCode": reply.status,
        "headers": headers,
        "body": body,
        "isBase64Encoded": False,
    }


def respond(event: Mapping[str, Any], deps: Deps) -> dict[str, Any]:
    try:
        request = Request.from_event(event)
    except ValueError as exc:
        return to_function_url(_json(400, {"error": str(exc)}))
    return to_function_url(route(request, deps))


# -- routing ------------------------------------------------------------------------------------
_SEGMENT = r"(?P<token>[^/]+)"  # one path segment
_UNSIGNED_BOARD = re.compile(
    r"/(?:dashboard|r/[^/]+(?:/[^/]+)?|api/releases(?:/[^/]+)?"
    r"|punctuality(?:\.csv|\.json)?|producers\.csv|late-and-early\.atom)?"
)
_SIGNED = re.compile(rf"/d/{_SEGMENT}(?P<slash>/)?(?P<rest>.*)")
_LINK = re.compile(rf"/(?P<kind>[ac])/{_SEGMENT}")
_STATIC = re.compile(r"/static/(?P<rest>[^/]+/[^/]+)")


def route(request: Request, deps: Deps) -> Reply:
    path, method = request.path, request.method
    reading = method in ("GET", "HEAD")
    if path in ("/health", "/status"):
        if not reading:
            return _not_allowed("GET")
        return _health(deps) if path == "/health" else _status(deps)
    if path.startswith("/notify/"):
        return _notify(request, deps)
    if m := _STATIC.fullmatch(path):
        if not reading:
            return _not_allowed("GET")
        from .app import static

        return static(m["rest"])
    _set_root(path)
    if m := _LINK.fullmatch(path):
        if not (reading or method == "POST"):
            return _not_allowed("GET, POST")
        kind, token = m["kind"], m["token"]
        return _with_web(deps, lambda web: _link(web, kind, token, reading))
    if m := _SIGNED.fullmatch(path):
        if not reading:
            return _not_allowed("GET")
        token, slash, rest = m["token"], bool(m["slash"]), m["rest"]
        return _with_web(
            deps, lambda web: web.signed(token, rest, slash=slash, query=request.query)
        )
    if _UNSIGNED_BOARD.fullmatch(path):
        if not reading:
            return _not_allowed("GET")
        from .app import dashboard_link_required

        return dashboard_link_required()
    return _json(404, {"error": "not found"})


def _link(web: WebApp, kind: str, token: str, reading: bool) -> Reply:
    if kind == "a":
        return web.ack_get(token) if reading else web.ack_post(token)
    return web.confirm_get(token) if reading else web.confirm_post(token)


def _set_root(path: str) -> None:
    """Message pages link the stylesheet relative to the request's path (pages.ROOT)."""
    from . import pages
    from .render import roots

    pages.ROOT.set(roots(path)[0])


def _with_web(deps: Deps, page: Callable[[WebApp], Reply]) -> Reply:
    """A page guarded by the signing key: 503 without it, never served unguarded."""
    from .app import WebApp

    try:
        codec = deps.codec()
    except Unavailable:
        return _unavailable()
    return page(WebApp(deps.store(), codec, deps.clock, last_tick=deps.last_tick))


def _unavailable() -> Reply:
    from . import pages

    body = pages.para(
        "Acknowledge links and the dashboard are unavailable: the key that signs them cannot "
        "be read. Alerts are still being sent (without acknowledge links). Operators: check "
        "the SSM parameter named by the stack's AckSecretParameterName (the Problems alarm "
        "says so too)."
    )
    from .app import Response  # with the pages' security headers (CSP, no framing, no-store)

    response = Response(503, pages.page("Temporarily unavailable", body))
    response.headers["Retry-After"] = "300"
    return response


def _not_allowed(allow: str) -> Reply:
    answer = _json(405, {"error": f"method not allowed: {allow} only"})
    answer.headers["Allow"] = allow
    return answer


def _json(status: int, body: Mapping[str, Any]) -> Answer:
    from .scrub import scrub

    headers = {"Content-Type": JSON, "Cache-Control": "no-store"}
    return Answer(status, scrub(json.dumps(body)), headers)


# -- JSON routes --------------------------------------------------------------------------------
def _health(deps: Deps) -> Reply:
    """Is the watchdog watching? With `last_tick` (the poller's last completed invocation,
    from the table) 503 once it is more than 3 minutes old, so an external uptime check can
    watch the watchdog."""
    from .. import __version__

    if deps.last_tick is None:
        return _json(200, {"status": "ok", "version": __version__})
    from ..aws.heartbeat import health as tick_health

    try:
        ok, body = tick_health(deps.last_tick(), deps.clock.now())
    except Exception as exc:  # the table cannot be read: the watchdog cannot be vouched for
        ok, body = False, {"status": "failing", "reason": f"cannot read the last tick: {exc}"}
    return _json(200 if ok else 503, body | {"version": __version__})


def _status(deps: Deps) -> Reply:
    from .status import release_status

    records = sorted(deps.store().all_releases(), key=lambda r: (r.release.due, r.id))
    return _json(200, {"releases": [release_status(r) for r in records]})


def _notify(request: Request, deps: Deps) -> Reply:
    try:
        callbacks = deps.notify()
    except Unavailable:  # Notify retries; the poller is not reading receipts meanwhile
        return _json(503, {"error": "unavailable"})
    if callbacks is None:
        return _json(404, {"error": "not found"})
    status, answer = callbacks.handle(request.method, request.path, request.headers, request.body)
    return _json(status, answer)
