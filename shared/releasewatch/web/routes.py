"""Routes of the releasewatch web API (a Powertools Router, resolved by functions/api/app.py).

For now: /health and /status. Acknowledge links and the dashboard will be added as further
routers beside this one. Routes read the store the handler puts in the router's context
(`app.append_context(store=...)`), so they do no I/O of their own to set up.

Nothing here may show an email address or a phone number: /status lists releases, their
states and what the last check saw, nothing about contacts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from .. import __version__

if TYPE_CHECKING:  # the models load with the store, on the first /status, not at import
    from ..model import ReleaseRecord
    from ..store.base import Store

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


def _store() -> Store:
    store: Store = router.context["store"]
    return store


@router.get("/health")
def health() -> dict[str, Any]:
    return {"status": "ok", "version": __version__}


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
