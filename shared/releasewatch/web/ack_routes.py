"""Acknowledge links and the HTML dashboard on the API Lambda: a Powertools Router.

Wire it beside web/routes.py in functions/api/app.py:

    from releasewatch.web import ack_routes
    app.include_router(ack_routes.router)                      # at import time
    ...
    # in lambda_handler, before app.resolve: Powertools clears the context after every resolve
    app.append_context(store=STORE, ack_codec=CODEC)           # both built once per container
                                                               # CODEC = TokenCodec(secret bytes)

Routes (all answered by web.app.WebApp, the same logic the local server runs):

    GET  /a/<token>        confirmation page with a form (no state change)
    POST /a/<token>        record the acknowledgement
    GET  /c/<token>        readiness confirmation page with a form (no state change)
    POST /c/<token>        record that the release is uploaded and scheduled
    GET  /d/<token>/       releases and their states (HTML; no addresses), behind a signed
                           dashboard link (`releasewatch dashboard-link`); also .../dashboard
    GET  /d/<token>/r/<id> one release: its escalation ladder, acks and checks (no addresses);
                           .../r/<id>/report.md and report.docx, its breach report draft
    GET  /d/<token>/api/releases[/<id>]  the same as JSON
    GET  /, /dashboard,    403 with a page saying a dashboard link is needed: the function URL
         /r/<release_id>,  is public, and these pages name people and when they were alerted
         /api/releases...
    GET  /static/<v>/<f>   the board's stylesheet and refresh script (public, cached a year)

The context may also carry `clock` (any releasewatch Clock; the system clock otherwise) and
`last_tick` (the poller's last tick, which the board warns about when it is old).
Without `ack_codec` (the signing key in SSM is missing or unreadable) every route answers 503
with a page that says so: nothing here may be served without the key that guards it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.api_gateway import Response as PowertoolsResponse
from aws_lambda_powertools.event_handler.api_gateway import Router

if TYPE_CHECKING:  # the models load on the first request, not at the handler's cold start
    from ..clock import Clock
    from ..store.base import Store
    from ..tokens import TokenCodec
    from .app import Response, WebApp

router = Router()  # type: ignore[no-untyped-call]


class KeyUnavailable(Exception):
    """The handler could not read the signing key for this request."""


def _web() -> WebApp:
    from ..clock import SystemClock
    from .app import WebApp

    store: Store = router.context["store"]
    codec: TokenCodec | None = router.context.get("ack_codec")
    if codec is None:
        raise KeyUnavailable
    clock: Clock = router.context.get("clock") or SystemClock()
    return WebApp(store, codec, clock, last_tick=router.context.get("last_tick"))


def _query() -> str:
    from urllib.parse import urlencode

    params = router.current_event.query_string_parameters or {}
    return urlencode(params)


def _set_root() -> None:
    """Message pages link the stylesheet relative to the request's path (pages.ROOT)."""
    from . import pages
    from .render import roots

    pages.ROOT.set(roots(router.current_event.path)[0])


def _answer(page: Callable[[WebApp], Response]) -> PowertoolsResponse[Any]:
    _set_root()
    try:
        web = _web()
    except KeyUnavailable:
        return _to_powertools(_unavailable())
    return _to_powertools(page(web))


def _unavailable() -> Response:
    from . import pages
    from .app import Response

    body = pages.para(
        "Acknowledge links and the dashboard are unavailable: the key that signs them cannot "
        "be read. Alerts are still being sent (without acknowledge links). Operators: check "
        "the SSM parameter named by the stack's AckSecretParameterName (the Problems alarm "
        "says so too)."
    )
    response = Response(503, pages.page("Temporarily unavailable", body))
    response.headers["Retry-After"] = "300"
    return response


def _to_powertools(response: Response) -> PowertoolsResponse[Any]:
    # bytes (a .docx download): Powertools sends them base64-encoded
    return PowertoolsResponse(
        status_code=response.status,
        content_type=response.headers.get("Content-Type"),
        body=response.body,
        headers=response.headers,
    )


@router.get("/a/<token>")
def ack_get(token: str) -> PowertoolsResponse[str]:
    return _answer(lambda web: web.ack_get(token))


@router.post("/a/<token>")
def ack_post(token: str) -> PowertoolsResponse[str]:
    return _answer(lambda web: web.ack_post(token))


@router.get("/c/<token>")
def confirm_get(token: str) -> PowertoolsResponse[str]:
    return _answer(lambda web: web.confirm_get(token))


@router.post("/c/<token>")
def confirm_post(token: str) -> PowertoolsResponse[str]:
    return _answer(lambda web: web.confirm_post(token))


# The unsigned paths: refused without reading the key or the store.
@router.get("/")
@router.get("/dashboard")
def dashboard() -> PowertoolsResponse[str]:
    return _link_required()


@router.get("/r/<release_id>")
@router.get("/r/<release_id>/<download>")
@router.get("/api/releases")
@router.get("/api/releases/<release_id>")
def release_page(release_id: str = "", download: str = "") -> PowertoolsResponse[str]:
    return _link_required()


@router.get("/static/<version>/<name>")
def static_file(version: str, name: str) -> PowertoolsResponse[Any]:
    """The stylesheet and script: public (nothing in them is about releases or people)."""
    from .app import static

    return _to_powertools(static(f"{version}/{name}"))


def _link_required() -> PowertoolsResponse[str]:
    from .app import dashboard_link_required

    _set_root()
    return _to_powertools(dashboard_link_required())


# The signed paths: /d/<token>/ and the pages its relative links reach ("r/<id>", "../").
@router.get("/d/<token>")
def signed_bare(token: str) -> PowertoolsResponse[str]:
    return _answer(lambda web: web.signed(token, "", slash=False))


@router.get("/d/<token>/")
def signed_dashboard(token: str) -> PowertoolsResponse[str]:
    return _answer(lambda web: web.signed(token, "", query=_query()))


@router.get("/d/<token>/dashboard")
def signed_dashboard_named(token: str) -> PowertoolsResponse[str]:
    return _answer(lambda web: web.signed(token, "dashboard", query=_query()))


@router.get("/d/<token>/r/<release_id>")
def signed_release(token: str, release_id: str) -> PowertoolsResponse[str]:
    return _answer(lambda web: web.signed(token, f"r/{release_id}"))


@router.get("/d/<token>/r/<release_id>/<download>")
def signed_report(token: str, release_id: str, download: str) -> PowertoolsResponse[Any]:
    return _answer(lambda web: web.signed(token, f"r/{release_id}/{download}"))


@router.get("/d/<token>/api/releases")
def signed_api_board(token: str) -> PowertoolsResponse[str]:
    return _answer(lambda web: web.signed(token, "api/releases", query=_query()))


@router.get("/d/<token>/api/releases/<release_id>")
def signed_api_release(token: str, release_id: str) -> PowertoolsResponse[str]:
    return _answer(lambda web: web.signed(token, f"api/releases/{release_id}"))
