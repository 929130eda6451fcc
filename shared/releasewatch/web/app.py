"""The web endpoints' logic, independent of any server: a method and a path in, a Response out.

    GET  /a/<token>        confirmation page with a form; never changes anything (mail
                           scanners and link previews fetch links: they must not acknowledge)
    POST /a/<token>        records the acknowledgement (ack_service.acknowledge)
    GET  /c/<token>        readiness: "confirm the page is uploaded and scheduled?" (no change)
    POST /c/<token>        records the confirmation (readiness_service.confirm)
    GET  /  or /dashboard  read-only list of releases and their states
    GET  /r/<release id>   one release: state, last checks, timeline (names only)
    GET  /d/<token>/...    the same two pages behind a signed dashboard link (`releasewatch
                           dashboard-link`): the only way in on AWS (web/ack_routes.py);
                           locally the bare pages stay open on 127.0.0.1
    GET  /health           JSON: is the run loop ticking? 503 with the reason and since when
                           while its ticks fail (a full disk, a locked or corrupt database)

Token problems answer with the TokenError's own 4xx and a page saying what to do. No page
shows an email address or a phone number (pages.scrub is the last line of defence).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

from .. import ack_service, readiness_service
from ..ack_service import AckOutcome, AckResult
from ..clock import Clock
from ..errors import TokenError
from ..loophealth import HealthView, TickHealth
from ..model import Check, Event, EventKind, ReleaseRecord
from ..readiness import confirmation, day_phrase, schedule
from ..readiness_service import ConfirmOutcome, ConfirmResult
from ..store.base import Store
from ..timefmt import delay_text, uk_datetime, uk_time
from ..tokens import (
    TokenCodec,
    TokenMalformed,
    TokenWrongPurpose,
    http_status,
    public_message,
    verify_dashboard,
)
from . import pages

if TYPE_CHECKING:  # httpx and PyJWT load only where Notify's callbacks are served
    from .notify_callbacks import NotifyCallbacks

log = logging.getLogger("releasewatch.web")

SECURITY_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never send it onwards
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",  # no clickjacking of the acknowledge button
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
}


@dataclass(frozen=True)
class Response:
    status: int
    body: str
    headers: dict[str, str] = field(default_factory=lambda: dict(SECURITY_HEADERS))


class WebApp:
    def __init__(
        self,
        store: Store,
        codec: TokenCodec,
        clock: Clock,
        health: TickHealth | None = None,
        callbacks: NotifyCallbacks | None = None,
    ) -> None:
        self.store = store
        self.codec = codec
        self.clock = clock
        self.health = health
        self.callbacks = callbacks  # GOV.UK Notify's callbacks (web/notify_callbacks.py)

    def handle(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Response:
        path = path.split("?", 1)[0]
        method = method.upper()
        if path.startswith("/notify/") and self.callbacks is not None:
            status, answer = self.callbacks.handle(method, path, headers or {}, body)
            return Response(
                status,
                json.dumps(answer),
                {"Content-Type": "application/json", "Cache-Control": "no-store"},
            )
        if path.startswith("/d/"):
            if method not in ("GET", "HEAD"):
                return _not_allowed("GET")
            token, slash, rest = path[3:].partition("/")
            return self.signed(token, rest, slash=bool(slash))
        if path.startswith("/a/"):
            token = path[3:]
            if method in ("GET", "HEAD"):
                return self.ack_get(token)
            if method == "POST":
                return self.ack_post(token)
            return _not_allowed("GET, POST")
        if path.startswith("/c/"):
            token = path[3:]
            if method in ("GET", "HEAD"):
                return self.confirm_get(token)
            if method == "POST":
                return self.confirm_post(token)
            return _not_allowed("GET, POST")
        if method not in ("GET", "HEAD"):
            return _not_allowed("GET")
        if path in ("/", "/dashboard"):
            return self.dashboard()
        if path == "/health":
            return self.health_status()
        if path.startswith("/r/"):
            return self.release_page(unquote(path[3:]))
        return Response(404, pages.page("Not found", pages.para("There is no page here.")))

    # -- acknowledge --------------------------------------------------------------------------
    def ack_get(self, token: str) -> Response:
        try:
            result = ack_service.preview(self.store, token, self.codec, self.clock.now())
        except TokenError as exc:
            return _token_error(exc)
        if result.outcome != AckOutcome.WOULD_RECORD:
            return Response(200, _ack_page(result))
        hold = uk_time(result.hold_until) if result.hold_until else ""
        body = (
            pages.para(f"Release: {result.release_title}")
            + pages.para(f"You: {result.contact_name} (chain step {result.step + 1})")
            + pages.para(
                "Acknowledging tells the others already alerted that you are dealing with it, "
                f"stops reminders to you, and holds the later alert steps until {hold}. If the "
                "page is still not live then, escalation resumes. The breach notice to the head "
                "of profession is never held."
            )
            + pages.form(f"./{token}", "Acknowledge")
        )
        return Response(200, pages.page("Acknowledge this alert?", body))

    def ack_post(self, token: str) -> Response:
        try:
            result = ack_service.acknowledge(self.store, token, self.codec, self.clock.now())
        except TokenError as exc:
            return _token_error(exc)
        if result.outcome == AckOutcome.RECORDED:
            log.info(
                "acknowledged: release %s step %s by contact %s",
                result.release_id,
                result.step,
                result.contact_id,
            )
        status = 409 if result.outcome == AckOutcome.NOT_NEEDED else 200
        return Response(status, _ack_page(result))

    # -- readiness ----------------------------------------------------------------------------
    def confirm_get(self, token: str) -> Response:
        now = self.clock.now()
        try:
            result = readiness_service.preview(self.store, token, self.codec, now)
        except TokenError as exc:
            return _token_error(exc)
        if result.outcome != ConfirmOutcome.WOULD_RECORD:
            return Response(200, _confirm_page(result))
        body = (
            pages.para(f"Release: {result.release_title}")
            + pages.para(f"Due at {uk_time(result.due)} {day_phrase(result.due, now)}.")
            + pages.para(f"You: {result.contact_name}")
            + pages.para(
                "Confirm only when the page is uploaded and scheduled to publish at that time. "
                "Confirming stops the readiness reminders and their escalation; the watchdog "
                "still checks the page from the due time."
            )
            + pages.form(f"./{token}", "Confirm it is ready")
        )
        return Response(200, pages.page("Confirm the release is ready?", body))

    def confirm_post(self, token: str) -> Response:
        try:
            result = readiness_service.confirm(self.store, token, self.codec, self.clock.now())
        except TokenError as exc:
            return _token_error(exc)
        if result.outcome == ConfirmOutcome.RECORDED:
            log.info(
                "readiness confirmed: release %s by contact %s",
                result.release_id,
                result.contact_id,
            )
        status = 409 if result.outcome == ConfirmOutcome.NOT_NEEDED else 200
        return Response(status, _confirm_page(result))

    # -- signed dashboard links ----------------------------------------------------------------
    def signed(self, token: str, rest: str, *, slash: bool = True) -> Response:
        """`rest` of /d/<token>/<rest>: "" or "dashboard" (the list) or "r/<id>" (a release).
        The token in the path is what the pages' relative links ("r/<id>", "../../") keep."""
        try:
            verify_dashboard(self.codec, token, self.clock.now())
        except TokenError as exc:
            return _dashboard_refused(exc)
        if not slash:  # /d/<token>: send the browser to /d/<token>/ so relative links resolve
            response = Response(308, pages.page("Moved", pages.link(f"{token}/", "Releases")))
            response.headers["Location"] = f"{token}/"
            return response
        if rest in ("", "dashboard"):
            return self.dashboard()
        if rest.startswith("r/"):
            return self.release_page(unquote(rest[2:]))
        return Response(404, pages.page("Not found", pages.para("There is no page here.")))

    # -- health -------------------------------------------------------------------------------
    def health_status(self) -> Response:
        view = self.health.view() if self.health else HealthView(ok=True)
        body: dict[str, object] = {"status": "ok" if view.ok else "failing"}
        if not view.ok:
            body |= {
                "reason": view.reason,
                "since": view.failing_since.isoformat() if view.failing_since else None,
                "failed_attempts": view.attempts,
            }
        if view.last_ok is not None:
            body["last_good_tick"] = view.last_ok.isoformat()
        headers = dict(SECURITY_HEADERS) | {"Content-Type": "application/json"}
        return Response(200 if view.ok else 503, pages.scrub(json.dumps(body)), headers)

    def _health_banner(self) -> str:
        view = self.health.view() if self.health else HealthView(ok=True)
        if view.ok:
            return ""
        since = uk_datetime(view.failing_since) if view.failing_since else "recently"
        return pages.para(
            f"The watchdog is failing: {view.reason}. Since {since}, {view.attempts} attempt(s) "
            "failed; checks and alerts are not being recorded. It keeps retrying (backing off "
            "to once a minute) and the watched pages are not polled faster than their cadence.",
            "alert",
        )

    # -- dashboard ----------------------------------------------------------------------------
    def dashboard(self) -> Response:
        banner = self._health_banner()
        try:
            stored = self.store.all_releases()
        except Exception as exc:  # a corrupt or locked store: say so, do not answer 500
            log.warning("dashboard: cannot read the store: %s", type(exc).__name__)
            body = banner + pages.para(f"Cannot read the store: {type(exc).__name__}: {exc}")
            return Response(503, pages.page("Releases", body))
        records = sorted(stored, key=lambda r: r.release.due, reverse=True)
        rows = []
        for record in records:
            r = record.release
            acks = [e for e in self.store.events(r.id) if e.kind == EventKind.ACKNOWLEDGED]
            rows.append(
                [
                    pages.link(f"r/{quote(r.id, safe='')}", r.title),
                    uk_datetime(r.due),
                    _state_html(record),
                    uk_time(record.live_at) if record.live_at else "",
                    _check_text(record.last_check),
                    ", ".join(f"{_name(record, e)} {uk_time(e.at)}" for e in acks),
                ]
            )
        body = banner + (
            pages.para(f"As of {uk_datetime(self.clock.now())}.", "muted")
            + pages.table(
                ["Release", "Due", "State", "Live at", "Last check", "Acknowledged"],
                rows,
                raw_columns=frozenset({0, 2}),
            )
            if rows
            else pages.para("No releases are stored yet.")
        )
        return Response(200, pages.page("Releases", body))

    def release_page(self, release_id: str) -> Response:
        record = self.store.get_release(release_id)
        if record is None:
            return Response(404, pages.page("Not found", pages.para("No such release.")))
        r = record.release
        checks = self.store.checks(r.id, limit=10)
        events = self.store.events(r.id)
        body = (
            pages.para(f"Due {uk_datetime(r.due)}. State: {record.state.value}.")
            + (pages.para(f"Producer: {r.producer}") if r.producer else "")
            + _readiness_line(record, events, self.clock.now())
            + (
                pages.para(
                    f"Confirmed live {uk_datetime(record.live_at)} "
                    f"({_offset(record.live_at, r.due)})."
                )
                if record.live_at
                else ""
            )
            + "<h2>Latest checks</h2>"
            + pages.table(
                ["Time", "Live", "What it saw"],
                [[uk_time(c.at), "yes" if c.live else "no", _check_text(c)] for c in checks],
            )
            + "<h2>Timeline</h2>"
            + pages.table(
                ["Time", "What", "Who", "Detail"],
                [
                    [uk_datetime(e.at), e.kind.value.replace("_", " "), _name(record, e), _det(e)]
                    for e in events
                ],
            )
            + pages.para("")
            + pages.link("../", "All releases")
        )
        return Response(200, pages.page(r.title, body))


def dashboard_link_required() -> Response:
    """The bare dashboard paths on AWS, where only a signed link opens the dashboard."""
    body = pages.para(
        "The dashboard opens only from a signed dashboard link. Ask an operator for one: "
        "they create it with `releasewatch dashboard-link`. Acknowledge links in alert "
        "messages work as before."
    )
    return Response(403, pages.page("Dashboard link needed", body))


def _dashboard_refused(exc: TokenError) -> Response:
    status = http_status(exc)
    log.info("dashboard link refused: %s (%s)", type(exc).__name__, status)
    if isinstance(exc, TokenWrongPurpose):
        text = (
            "This is not a dashboard link (acknowledge and confirm links do not open the "
            "dashboard). Ask an operator for one: `releasewatch dashboard-link`."
        )
    elif isinstance(exc, TokenMalformed):
        text = "This dashboard link is incomplete or damaged: copy the whole link again."
    else:
        text = public_message(exc)
    return Response(status, pages.page("Dashboard link not accepted", pages.para(text)))


def _token_error(exc: TokenError) -> Response:
    status = http_status(exc)
    log.info("acknowledge link refused: %s (%s)", type(exc).__name__, status)
    return Response(status, pages.page("Link not accepted", pages.para(public_message(exc))))


def _ack_page(result: AckResult) -> str:
    match result.outcome:
        case AckOutcome.RECORDED:
            hold = uk_time(result.hold_until) if result.hold_until else ""
            return pages.page(
                "Acknowledged",
                pages.para(
                    f"Thank you, {result.contact_name}: your acknowledgement of "
                    f"'{result.release_title}' was recorded at {uk_time(result.at)}."
                )
                + pages.para(
                    "The others already alerted will be told, and reminders to you stop. "
                    f"Later alert steps are held until {hold}; if the page is still not live "
                    "then, escalation resumes."
                ),
            )
        case AckOutcome.ALREADY_ACKNOWLEDGED:
            hold = uk_time(result.hold_until) if result.hold_until else ""
            return pages.page(
                "Already acknowledged",
                pages.para(
                    f"{result.contact_name}, you already acknowledged '{result.release_title}'. "
                    f"The hold runs until {hold}. Nothing new was recorded."
                ),
            )
        case _:
            return pages.page(
                "Nothing to acknowledge",
                pages.para(f"'{result.release_title}': {result.reason}. Nothing was recorded."),
            )


def _confirm_page(result: ConfirmResult) -> str:
    match result.outcome:
        case ConfirmOutcome.RECORDED:
            return pages.page(
                "Confirmed",
                pages.para(
                    f"Thank you, {result.contact_name}: '{result.release_title}' was confirmed "
                    f"uploaded and scheduled at {uk_datetime(result.at)}. The readiness reminders "
                    "stop; the page is still checked from its due time."
                ),
            )
        case ConfirmOutcome.ALREADY_CONFIRMED:
            when = uk_datetime(result.by_at) if result.by_at else ""
            return pages.page(
                "Already confirmed",
                pages.para(
                    f"'{result.release_title}' was already confirmed ready by {result.by} at "
                    f"{when}. Nothing new was recorded."
                ),
            )
        case _:
            return pages.page(
                "Nothing to confirm",
                pages.para(f"'{result.release_title}': {result.reason}. Nothing was recorded."),
            )


def _readiness_line(record: ReleaseRecord, events: list[Event], now: datetime) -> str:
    """One line on the release page: confirmed by whom and when, or when it will be asked."""
    done = confirmation(events)
    if done is not None:
        contact = record.release.contacts.get(done.contact_id or "")
        who = contact.name if contact else (done.contact_id or "someone")
        return pages.para(f"Readiness confirmed by {who} at {uk_datetime(done.at)}.")
    plan = schedule(record.release)
    if plan is None or record.state.is_live or record.release.cancelled:
        return ""
    verb = "is asked" if now < plan.remind else "was asked"
    return pages.para(
        f"Readiness not confirmed yet: the team {verb} at {uk_datetime(plan.remind)}."
    )


def _not_allowed(allow: str) -> Response:
    headers = dict(SECURITY_HEADERS) | {"Allow": allow}
    return Response(405, pages.page("Method not allowed", pages.para(f"Use {allow}.")), headers)


def _state_html(record: ReleaseRecord) -> str:
    state = record.state.value
    css = {"late": "late", "live_late": "late", "early": "early", "live": "live"}.get(state, "")
    return f'<span class="{css}">{state.replace("_", " ")}</span>'


def _check_text(check: Check | None) -> str:
    if check is None:
        return "no check yet"
    seen = f"HTTP {check.status}" if check.status is not None else (check.error or "no answer")
    judged = f" (judged {check.judged_url})" if check.judged_url else ""
    return f"{uk_time(check.at)}: {seen}, {check.reason}{judged}"


def _name(record: ReleaseRecord, event: Event) -> str:
    if event.contact_id is None:
        return ""
    contact = record.release.contacts.get(event.contact_id)
    return contact.name if contact else event.contact_id


def _det(event: Event) -> str:
    shown = ("kind", "channel", "step", "occurrence", "from", "to", "reason", "permanent")
    return ", ".join(f"{k} {v}" for k, v in event.detail.items() if k in shown)


def _offset(live_at: datetime, due: datetime) -> str:
    delta = live_at - due
    return f"{delay_text(delta)} {'early' if delta.total_seconds() < 0 else 'after due'}"
