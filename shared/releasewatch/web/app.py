"""The web endpoints' logic, independent of any server: a method and a path in, a Response out.

    GET  /a/<token>        confirmation page with a form; never changes anything (mail
                           scanners and link previews fetch links: they must not acknowledge)
    POST /a/<token>        records the acknowledgement (ack_service.acknowledge)
    GET  /c/<token>        readiness: "confirm the page is uploaded and scheduled?" (no change)
    POST /c/<token>        records the confirmation (readiness_service.confirm)
    GET  /  or /dashboard  the board: releases due today (?view=tomorrow, ?view=week)
    GET  /r/<release id>   one release: escalation ladder, acks, readiness, checks timeline
    GET  /r/<id>/report.md the breach report draft (also report.docx), no contact details
    GET  /api/releases     the board as JSON (?view= as above); /api/releases/<id> a release
    GET  /punctuality      the punctuality record (?from=&to=&producer=&verdict=&sort=&order=),
                           and its files: punctuality.csv, producers.csv, punctuality.json,
                           late-and-early.atom (?from=&to=) (web/punctuality_files.py)
    GET  /static/<v>/<f>   the stylesheet and the refresh script (web/assets.py), public
    GET  /d/<token>/...    the same pages behind a signed dashboard link (`releasewatch
                           dashboard-link`): the only way in on AWS (web/function_url.py);
                           locally the bare pages stay open on 127.0.0.1
    GET  /health           JSON: is the run loop ticking? 503 with the reason and since when
                           while its ticks fail (a full disk, a locked or corrupt database)

Token problems answer with the TokenError's own 4xx and a page saying what to do. No page
shows an email address or a phone number (scrub.scrub is the last line of defence).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote

from ..acks import by_link as ack_service
from ..acks.by_link import AckOutcome, AckResult
from ..clock import Clock
from ..errors import TokenError
from ..links.tokens import (
    TokenCodec,
    TokenMalformed,
    TokenWrongPurpose,
    http_status,
    public_message,
    verify_dashboard,
)
from ..local.loophealth import HealthView, TickHealth
from ..readiness import confirm as readiness_service
from ..readiness.confirm import ConfirmOutcome, ConfirmResult
from ..readiness.policy import day_phrase
from ..store.base import Store
from ..timefmt import uk_datetime, uk_time
from . import api, assets, pages
from .api import document, to_json
from .guard import SECURITY_HEADERS
from .punctuality_names import DATA_FILES
from .render import render, roots
from .scrub import scrub
from .views import ack as ack_words
from .views.board import View, parse_view
from .views.load import load_board, load_release
from .views.problems import Health

if TYPE_CHECKING:
    from ..report.build import BreachReport

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

if TYPE_CHECKING:  # httpx and PyJWT load only where Notify's callbacks are served
    from .notify_callbacks import NotifyCallbacks

log = logging.getLogger("releasewatch.web")

JSON_HEADERS = SECURITY_HEADERS | {"Content-Type": "application/json; charset=utf-8"}


@dataclass(frozen=True)
class Response:
    status: int
    body: str | bytes
    headers: dict[str, str] = field(default_factory=lambda: dict(SECURITY_HEADERS))

    @property
    def text(self) -> str:
        return self.body if isinstance(self.body, str) else self.body.decode("utf-8", "replace")


class WebApp:
    def __init__(
        self,
        store: Store,
        codec: TokenCodec,
        clock: Clock,
        health: TickHealth | None = None,
        callbacks: NotifyCallbacks | None = None,
        *,
        last_tick: Callable[[], datetime | None] | None = None,
    ) -> None:
        self.store = store
        self.codec = codec
        self.clock = clock
        self.health = health
        self.callbacks = callbacks  # GOV.UK Notify's callbacks (web/notify_callbacks.py)
        # The poller's last tick (AWS: its heartbeat item): the board warns when it is old.
        self.last_tick = last_tick

    def handle(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes = b"",
    ) -> Response:
        path, _, query = path.partition("?")
        method = method.upper()
        if path.startswith("/notify/") and self.callbacks is not None:
            status, answer = self.callbacks.handle(method, path, headers or {}, body)
            return Response(
                status,
                json.dumps(answer),
                {"Content-Type": "application/json", "Cache-Control": "no-store"},
            )
        pages.ROOT.set(roots(path)[0])
        if path.startswith("/static/"):
            return static(path[len("/static/") :])
        if path.startswith("/d/"):
            if method not in ("GET", "HEAD"):
                return _not_allowed("GET")
            token, slash, rest = path[3:].partition("/")
            return self.signed(token, rest, slash=bool(slash), query=query)
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
        if path == "/health":
            return self.health_status()
        return self.board_page(path.lstrip("/"), query, path)

    # -- acknowledge --------------------------------------------------------------------------
    def ack_get(self, token: str) -> Response:
        try:
            result = ack_service.preview(self.store, token, self.codec, self.clock.now())
        except TokenError as exc:
            return _token_error(exc)
        if result.outcome != AckOutcome.WOULD_RECORD:
            return Response(200, _ack_page(result))
        record = self.store.get_release(result.release_id)
        never = ack_words.breach_never_held(record.release if record else None)
        body = (
            pages.para(f"Release: {result.release_title}")
            + pages.para(f"You: {result.contact_name} (chain step {result.step + 1})")
            + pages.para(
                "Acknowledging tells the others already alerted that you are dealing with it, "
                f"stops reminders to you, and {ack_words.will_hold(result)}"
                + (f" {never}" if never else "")
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
    def signed(self, token: str, rest: str, *, slash: bool = True, query: str = "") -> Response:
        """`rest` of /d/<token>/<rest>: any board page (see board_page). The token in the path
        is what the pages' relative links ("r/<id>", "../") keep."""
        try:
            verify_dashboard(self.codec, token, self.clock.now())
        except TokenError as exc:
            return _dashboard_refused(exc)
        if not slash:  # /d/<token>: send the browser to /d/<token>/ so relative links resolve
            response = Response(308, pages.page("Moved", pages.link(f"{token}/", "Releases")))
            response.headers["Location"] = f"{token}/"
            return response
        pages.ROOT.set(roots(f"/d/{token}/{rest}")[0])
        return self.board_page(rest, query, f"/d/{token}/{rest}")

    def board_page(self, rest: str, query: str, path: str) -> Response:
        """The board's pages by their path below its home: "" or "dashboard", "r/<id>",
        "r/<id>/report.md|docx", "api/releases", "api/releases/<id>"."""
        root, home = roots(path)
        view = parse_view(parse_qs(query).get("view", [None])[0])
        if rest in ("", "dashboard"):
            return self.dashboard(view, root=root, home=home)
        if rest == "api/releases":
            return self.api_board(view)
        if rest == "punctuality" or rest in DATA_FILES:
            return self.punctuality(rest, query, home=home, root=root)
        if rest.startswith("api/schema/v1/"):
            text = api.schema(rest[len("api/schema/v1/") :])
            if text is None:
                return Response(404, to_json({"error": "no such schema"}), dict(JSON_HEADERS))
            headers = dict(JSON_HEADERS) | {"Content-Type": "application/schema+json"}
            return Response(200, text, headers)
        if rest.startswith("api/releases/"):
            return self.api_release(unquote(rest[len("api/releases/") :]))
        if rest.startswith("r/"):
            release_id, _, download = unquote(rest[2:]).partition("/")
            if download:
                return self.report(release_id, download)
            return self.release_page(release_id, root=root, home=home)
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
        if self.health is not None:  # a failing calendar leaves the checks working: still 200
            body["calendar_sources_failing"] = self.health.sync_failing()
        headers = dict(SECURITY_HEADERS) | {"Content-Type": "application/json"}
        return Response(200 if view.ok else 503, scrub(json.dumps(body)), headers)

    def watchdog_health(self) -> Health:
        """What the board says about the watchdog itself (views/problems.py)."""
        health = Health()
        if self.health is not None:
            view = self.health.view()
            health = Health(
                store_failing=None if view.ok else view.reason or "unknown reason",
                store_failing_since=view.failing_since,
                store_attempts=view.attempts,
                sync_failing=self.health.sync_failing(),
                # a loop that has ticked keeps ticking every few seconds: old means stuck
                last_tick=view.last_ok,
                expect_ticks=view.last_ok is not None,
            )
        if self.last_tick is not None:
            try:
                health = replace(health, last_tick=self.last_tick(), expect_ticks=True)
            except Exception as exc:  # the table cannot be read: the watchdog cannot be vouched for
                health = replace(health, unreadable=f"cannot read the last tick: {exc}")
        return health

    # -- the board ----------------------------------------------------------------------------
    def dashboard(self, view: View = "today", *, root: str = "", home: str = "./") -> Response:
        board = load_board(self.store, self.clock.now(), view, self.watchdog_health())
        status = 200 if board.store_readable else 503
        body = render(
            "board.html", title=board.heading, board=board, root=root, home=home, refresh=True
        )
        return Response(status, body)

    def release_page(self, release_id: str, *, root: str = "", home: str = "./") -> Response:
        page = load_release(self.store, release_id, self.clock.now(), self.watchdog_health())
        if page is None:
            return Response(404, pages.page("Not found", pages.para("No such release.")))
        body = render(
            "release.html", title=page.title, page=page, root=root, home=home, refresh=True
        )
        return Response(200, body)

    def api_board(self, view: View) -> Response:
        board = load_board(self.store, self.clock.now(), view, self.watchdog_health())
        status = 200 if board.store_readable else 503
        return Response(status, document(board), dict(JSON_HEADERS))

    def api_release(self, release_id: str) -> Response:
        page = load_release(self.store, release_id, self.clock.now(), self.watchdog_health())
        if page is None:
            return Response(404, to_json({"error": "no such release"}), dict(JSON_HEADERS))
        return Response(200, document(page), dict(JSON_HEADERS))

    def punctuality(self, name: str, query: str, *, root: str = "", home: str = "./") -> Response:
        """The punctuality page, or one of its data files; a query it cannot read is a 400
        naming the parameter."""
        from ..punctuality.gather import gather
        from .punctuality_files import data_file, page_html
        from .views.punctuality import BadQuery, Query

        try:
            wanted = Query.parse(parse_qs(query))
        except BadQuery as exc:
            return Response(400, pages.page("Not a query this page can answer", pages.para(
                f"{exc}.")))  # fmt: skip
        now = self.clock.now()
        judged = gather(self.store, now)
        if name in DATA_FILES:
            headers = dict(SECURITY_HEADERS) | {"Content-Type": DATA_FILES[name]}
            return Response(200, data_file(name, judged, wanted.period, now), headers)
        schema = f"{home}api/schema/v1/punctuality.json"
        body = page_html(judged, wanted, wanted, now, root=root, home=home, schema_href=schema)
        return Response(200, body)

    def report(self, release_id: str, name: str) -> Response:
        """The breach report draft, as the head of profession gets it but without contact
        details, and scrubbed like every page."""
        fmt = {"report.md": "md", "report.docx": "docx"}.get(name)
        if fmt is None or self.store.get_release(release_id) is None:
            return Response(404, pages.page("Not found", pages.para("There is no page here.")))
        from ..report.build import build_report
        from ..report.render import render_docx, render_markdown

        draft = scrubbed_report(build_report(self.store, release_id, self.clock.now()))
        filename = f"breach-report-{release_id}.{fmt}"
        headers = dict(SECURITY_HEADERS) | {
            "Content-Disposition": f'attachment; filename="{filename}"'
        }
        if fmt == "md":
            headers["Content-Type"] = "text/markdown; charset=utf-8"
            return Response(200, render_markdown(draft), headers)
        headers["Content-Type"] = DOCX_TYPE
        return Response(200, render_docx(draft), headers)


def static(rest: str) -> Response:
    """/static/<version>/<name>: cached for a year under the current version; an old version's
    path (a page from before a deploy) gets today's file, not cached."""
    version, _, name = rest.partition("/")
    try:
        body = assets.content(name)
    except KeyError:
        return Response(404, "not found", {"Content-Type": "text/plain; charset=utf-8"})
    cache = assets.LONG_CACHE if version == assets.version() else "no-cache"
    headers = {
        "Content-Type": assets.content_type(name),
        "Cache-Control": cache,
        "X-Content-Type-Options": "nosniff",
    }
    return Response(200, body, headers)


def scrubbed_report(report: BreachReport) -> BreachReport:
    """The report with every text scrubbed: free text (an SMTP error quoting a recipient)
    must not carry an address into a download."""
    return replace(
        report,
        title=scrub(report.title),
        producer=scrub(report.producer),
        account=tuple(scrub(a) for a in report.account),
        timeline=tuple(replace(t, what=scrub(t.what)) for t in report.timeline),
        fields=tuple(
            replace(f, lines=tuple(scrub(line) for line in f.lines)) for f in report.fields
        ),
    )


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
            return pages.page(
                "Acknowledged",
                pages.para(
                    f"Thank you, {result.contact_name}: your acknowledgement of "
                    f"'{result.release_title}' was recorded at {uk_time(result.at)}."
                )
                + pages.para(
                    "The others already alerted will be told, and reminders to you stop. "
                    + ack_words.holds(result)
                ),
            )
        case AckOutcome.ALREADY_ACKNOWLEDGED:
            hold = uk_time(result.hold_until) if result.hold_until else ""
            return pages.page(
                "Already acknowledged",
                pages.para(
                    f"{result.contact_name}, you already acknowledged '{result.release_title}'. "
                    f"Reminders to you are stopped until {hold}. {ack_words.holds(result)} "
                    "Nothing new was recorded."
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


def _not_allowed(allow: str) -> Response:
    headers = dict(SECURITY_HEADERS) | {"Allow": allow}
    return Response(405, pages.page("Method not allowed", pages.para(f"Use {allow}.")), headers)
