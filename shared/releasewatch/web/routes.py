"""Routes of the releasewatch web API (a Powertools Router, resolved by functions/api/app.py).

/health and /status; acknowledge links and the dashboard are web/ack_routes.py, a router
beside this one. Routes read the store the handler puts in the router's context
(`app.append_context(store=...)`), so they do no I/O of their own to set up.

Nothing here may show an email address or a phone number: /status lists releases, their
states and what the last check saw, nothing about contacts.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.api_gateway import Response, Router

from .. import __version__

if TYPE_CHECKING:  # the models load with the store, on the first /status, not at import
    from ..clock import Clock
    from ..model import ReleaseRecord
    from ..store.base import Store

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


def _store() -> Store:
    store: Store = router.context["store"]
    return store


@router.get("/health")
def health() -> Response[str]:
    """Is the watchdog watching? With `last_tick` in the context (the API Lambda: the poller's
    last completed invocation, from the table), 503 once it is more than 3 minutes old, so an
    external uptime check can watch the watchdog."""
    last_tick: Callable[[], datetime | None] | None = router.context.get("last_tick")
    if last_tick is None:
        return _json(200, {"status": "ok", "version": __version__})
    from ..aws.heartbeat import health as tick_health
    from ..clock import SystemClock

    clock: Clock = router.context.get("clock") or SystemClock()
    try:
        ok, body = tick_health(last_tick(), clock.now())
    except Exception as exc:  # the table cannot be read: the watchdog cannot be vouched for
        ok, body = False, {"status": "failing", "reason": f"cannot read the last tick: {exc}"}
    return _json(200 if ok else 503, body | {"version": __version__})


def _json(status: int, body: dict[str, Any]) -> Response[str]:
    from .pages import scrub

    return Response(
        status_code=status,
        content_type="application/json",
        body=scrub(json.dumps(body)),
        headers={"Cache-Control": "no-store"},
    )


@router.get("/status")
def status() -> dict[str, Any]:
    records = sorted(_store().all_releases(), key=lambda r: (r.release.due, r.id))
    return {"releases": [release_status(r) for r in records]}


def release_status(record: ReleaseRecord) -> dict[str, Any]:
    release = record.release
    check = record.last_check
    return {
        "id": release.id,
        "title": release.title,
        "due": release.due.isoformat(),
        "state": record.state.value,
        "active": record.active,
        "live_at": record.live_at.isoformat() if record.live_at else None,
        "last_check": None
        if check is None
        else {
            "at": check.at.isoformat(),
            "live": check.live,
            "status": check.status,
            "reason": check.reason,
            "error": check.error,
            "judged_url": check.judged_url,
        },
    }
