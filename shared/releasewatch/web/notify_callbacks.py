"""GOV.UK Notify's callbacks: delivery receipts and received text messages.

    POST /notify/receipts   a delivery receipt (receipts.apply_receipt)
    POST /notify/inbound    a text to the service's reply number (acks/by_reply.py, handle_reply)

Notify sends the bearer token registered with the callback URL in the Notify admin; a request
without it, or with another, is refused (401) after a constant-time comparison. Answers:

    200  recorded, a duplicate, or nothing to do (Notify must not retry those)
    400  not a Notify callback body (or JSON nested deeper than any callback: guard.py)
    401  no token, or the wrong one
    409  the delivery is still being recorded as sent: Notify retries in 5 minutes

Shared by the local web server and the API function; nothing here logs a number or address.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ..clock import Clock
from ..store.base import Store
from .guard import TooDeep, load_json

log = logging.getLogger("releasewatch.web")

RECEIPTS = "/notify/receipts"
INBOUND = "/notify/inbound"
PATHS = (RECEIPTS, INBOUND)
MAX_BODY = 16 * 1024  # a receipt is ~500 bytes; a received text at most a few KB

# (store, the callback's JSON body, now) -> (status, answer): acks/by_reply.py, inbound_callback
InboundHandler = Callable[[Store, Any, datetime], tuple[int, dict[str, str]]]


def authorised(header: str | None, token: bytes) -> bool:
    """`Authorization: Bearer <token>`, compared in constant time."""
    if not token or not header:
        return False
    scheme, _, given = header.strip().partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), token)


@dataclass
class NotifyCallbacks:
    store: Store
    clock: Clock
    token: bytes
    max_attempts: int = 3  # defaults.max_attempts
    inbound: InboundHandler | None = None
    retry_backoff: timedelta = timedelta(seconds=15)

    def handle(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes
    ) -> tuple[int, dict[str, str]]:
        if path not in PATHS:
            return 404, {"error": "not found"}
        if method != "POST":
            return 405, {"error": "POST only"}
        lowered = {k.lower(): v for k, v in headers.items()}
        if not authorised(lowered.get("authorization"), self.token):
            log.warning("notify callback refused: missing or wrong bearer token")
            return 401, {"error": "missing or wrong bearer token"}
        if len(body) > MAX_BODY:
            return 413, {"error": "too large"}
        try:
            data = load_json(body)
        except TooDeep as exc:  # parsing it would recurse past Python's limit (a 500)
            return 400, {"error": str(exc)}
        except (ValueError, RecursionError):
            return 400, {"error": "expected a JSON body"}
        # Loaded here: the API function's other routes never need Notify's modules.
        from ..notify.receipts import BadReceipt, ReceiptResult, apply_receipt, parse_receipt

        now = self.clock.now()
        if path == INBOUND:
            if self.inbound is None:
                return 200, {"status": "ignored", "reason": "replies are not handled"}
            return self.inbound(self.store, data, now)
        try:
            receipt = parse_receipt(data, now)
        except BadReceipt as exc:
            return 400, {"error": str(exc)}
        result = apply_receipt(
            self.store,
            receipt,
            now,
            max_attempts=self.max_attempts,
            retry_backoff=self.retry_backoff,
        )
        if result == ReceiptResult.NOT_YET:
            return 409, {"status": result.value}
        return 200, {"status": result.value}


def json_body(answer: Mapping[str, str]) -> str:
    return json.dumps(dict(answer))
