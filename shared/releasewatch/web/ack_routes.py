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
    GET  /dashboard        releases and their states (HTML; no addresses)
    GET  /r/<release_id>   one release's checks and timeline (HTML; no addresses)

The context may also carry `clock` (any releasewatch Clock; the system clock otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response as PowertoolsResponse
from aws_lambda_powertools.event_handler.api_gateway import Router

if TYPE_CHECKING:  # the models load on the first request, not at the handler's cold start
    from ..clock import Clock
    from ..store.base import Store
    from ..tokens import TokenCodec
    from .app import Response, WebApp

router = Router()  # type: ignore[no-untyped-call]


def _web() -> WebApp:
    from ..clock import SystemClock
    from .app import WebApp

    store: Store = router.context["store"]
    codec: TokenCodec = router.context["ack_codec"]
    clock: Clock = router.context.get("clock") or SystemClock()
    return WebApp(store, codec, clock)


def _to_powertools(response: Response) -> PowertoolsResponse[str]:
    return PowertoolsResponse(
        status_code=response.status,
        content_type=response.headers.get("Content-Type"),
        body=response.body,
        headers=response.headers,
    )


@router.get("/a/<token>")
def ack_get(token: str) -> PowertoolsResponse[str]:
    return _to_powertools(_web().ack_get(token))


@router.post("/a/<token>")
def ack_post(token: str) -> PowertoolsResponse[str]:
    return _to_powertools(_web().ack_post(token))


@router.get("/c/<token>")
def confirm_get(token: str) -> PowertoolsResponse[str]:
    return _to_powertools(_web().confirm_get(token))


@router.post("/c/<token>")
def confirm_post(token: str) -> PowertoolsResponse[str]:
    return _to_powertools(_web().confirm_post(token))


@router.get("/dashboard")
def dashboard() -> PowertoolsResponse[str]:
    return _to_powertools(_web().dashboard())


@router.get("/r/<release_id>")
def release_page(release_id: str) -> PowertoolsResponse[str]:
    return _to_powertools(_web().release_page(release_id))
