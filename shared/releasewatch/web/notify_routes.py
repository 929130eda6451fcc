"""GOV.UK Notify's callbacks on the API function URL: a Powertools Router.

    POST /notify/receipts   delivery receipts
    POST /notify/inbound    received text messages (replies to alert texts)

Both answered by web/notify_callbacks.NotifyCallbacks, the same logic the local server runs.
The handler puts `notify_callbacks` in the router's context when the stack has a callback token
(NotifyCallbackTokenParameterName); without one these paths answer 404, and with the token
unreadable 503 (Notify retries, and the poller is not reading receipts meanwhile).
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

from aws_lambda_powertools.event_handler.api_gateway import Response, Router

if TYPE_CHECKING:
    from .notify_callbacks import NotifyCallbacks

router = Router()  # type: ignore[no-untyped-call]


def _answer(path: str) -> Response[str]:
    callbacks: NotifyCallbacks | None = router.context.get("notify_callbacks")
    if callbacks is None:
        unreadable = router.context.get("notify_token_unreadable")
        status = 503 if unreadable else 404
        return _json(status, {"error": "unavailable" if unreadable else "not found"})
    event = router.current_event
    raw = event.body or ""
    body = base64.b64decode(raw) if event.is_base64_encoded else raw.encode()
    status, answer = callbacks.handle("POST", path, dict(event.headers or {}), body)
    return _json(status, answer)


def _json(status: int, answer: dict[str, str]) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(answer),
        headers={"Cache-Control": "no-store"},
    )


@router.post("/notify/receipts")
def receipts() -> Response[str]:
    return _answer("/notify/receipts")


@router.post("/notify/inbound")
def inbound() -> Response[str]:
    return _answer("/notify/inbound")
