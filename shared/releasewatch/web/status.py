"""GET /status on the API function: releases, their states and what the last check saw, as
JSON. Nothing about contacts: no email address or phone number."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..model import ReleaseRecord


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
