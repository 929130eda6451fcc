"""Delivery receipts from GOV.UK Notify: its callback, or its status read back.

    delivered            delivered_at is recorded; the message stays SENT
    permanent-failure    FAILED: the fallback runs (the contact's other medium) exactly as after
    temporary-failure    a provider error at send time (temporary: Notify gave up after 72 h)
    technical-failure    Notify's fault, not charged: RETRY, within the attempt bound (then FAILED)
    created, sending,    still in flight: nothing changes
    pending, sent

A receipt acts only on the SENT delivery of the same send (its provider_id), so a duplicate
callback, or a late receipt for an earlier attempt, changes nothing (Store.record_receipt).

Without a callback, `ReceiptPoller` reads the status of messages still in flight (the store's
index of sends awaiting a receipt: what is in flight, however many releases are watched)
(`GET /v2/notifications/{id}`), bounded: a few per tick, each at most once a minute, only
messages sent from 30 s to 24 h ago.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from ..model import Delivery, DeliveryStatus, Event, EventKind, notification_detail
from ..policy import DEFAULT_MAX_ATTEMPTS, DEFAULT_RETRY_BACKOFF, MAX_RETRY_BACKOFF
from ..store.base import Store
from .govuk_notify import PROVIDER_PREFIX, UUID, NotifyClient, notify_id
from .notify_errors import NotifyApiError

log = logging.getLogger("releasewatch.receipts")

DELIVERED = "delivered"
FAILURES = {
    "permanent-failure": (
        "the phone network or email provider refused it: the number or address is wrong or "
        "no longer in use"
    ),
    "temporary-failure": "not delivered after 72 hours of trying (phone off, or inbox full)",
    "technical-failure": "a technical failure at Notify (not charged)",
}
FINAL = frozenset({DELIVERED, *FAILURES})
IN_FLIGHT = frozenset({"created", "sending", "pending", "sent", "accepted", "received"})


@dataclass(frozen=True)
class Receipt:
    notification_id: str  # Notify's id for the message
    status: str
    at: datetime  # when Notify completed it (or when we heard)
    reference: str | None = None  # our delivery key, as sent


class ReceiptResult(StrEnum):
    RECORDED = "recorded"
    UNCHANGED = "unchanged"  # a duplicate, or for a send that is no longer the current one
    IN_FLIGHT = "in_flight"  # not a final status yet
    UNKNOWN = "unknown"  # no delivery sent with that id
    NOT_YET = "not_yet"  # the delivery is still being marked sent: ask again later


class BadReceipt(ValueError):
    """A callback body that is not a Notify delivery receipt."""


def parse_receipt(body: Any, now: datetime) -> Receipt:
    """A delivery receipt callback's JSON body (CHANNELS.md: id, reference, status,
    completed_at...); `to` is never read, so the address goes no further."""
    if not isinstance(body, Mapping):
        raise BadReceipt("expected a JSON object")
    notification_id, status = body.get("id"), body.get("status")
    if not isinstance(notification_id, str) or not UUID.fullmatch(notification_id):
        raise BadReceipt("id: expected Notify's notification id")
    if not isinstance(status, str) or not status or len(status) > 40:
        raise BadReceipt("status: expected a delivery status")
    reference = body.get("reference")
    return Receipt(
        notification_id=notification_id,
        status=status,
        at=parse_time(body.get("completed_at")) or now,
        reference=reference if isinstance(reference, str) and reference else None,
    )


def parse_time(value: Any) -> datetime | None:
    """Notify's times, `2017-05-14T12:15:30.000000Z` (UTC); None if absent or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def apply_receipt(
    store: Store,
    receipt: Receipt,
    now: datetime,
    *,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    retry_backoff: timedelta = DEFAULT_RETRY_BACKOFF,
) -> ReceiptResult:
    status = receipt.status
    if status not in FINAL:
        return ReceiptResult.IN_FLIGHT
    delivery = _find(store, receipt)
    provider_id = PROVIDER_PREFIX + receipt.notification_id
    if delivery is None:
        return ReceiptResult.UNKNOWN
    if delivery.status == DeliveryStatus.CLAIMED:
        return ReceiptResult.NOT_YET  # Notify answered faster than we recorded the send
    if delivery.provider_id != provider_id or delivery.status != DeliveryStatus.SENT:
        return ReceiptResult.UNCHANGED
    if delivery.receipt == status:
        return ReceiptResult.UNCHANGED
    if status == DELIVERED:
        changed = store.record_receipt(delivery.key, provider_id, status, receipt.at)
        return ReceiptResult.RECORDED if changed else ReceiptResult.UNCHANGED
    reason = f"notify receipt {status}: {FAILURES[status]}"
    outcome, retry_at = DeliveryStatus.FAILED, None
    if status == "technical-failure":
        if delivery.attempts >= max_attempts:
            reason = f"{reason} (gave up after {max_attempts} attempts)"
        else:
            outcome = DeliveryStatus.RETRY
            retry_at = now + min(retry_backoff * 2 ** (delivery.attempts - 1), MAX_RETRY_BACKOFF)
    changed = store.record_receipt(
        delivery.key, provider_id, status, now, status=outcome, error=reason, retry_at=retry_at
    )
    if not changed:
        return ReceiptResult.UNCHANGED
    n = delivery.notification
    permanent = outcome == DeliveryStatus.FAILED
    store.add_event(
        Event(
            release_id=n.release_id,
            at=now,
            kind=EventKind.NOTIFICATION_FAILED,
            contact_id=n.contact_id,
            detail=notification_detail(n)
            | {"reason": reason, "permanent": str(permanent).lower(), "receipt": status},
        )
    )
    log.info("receipt %s for %s: %s", status, n.key, outcome.value)
    return ReceiptResult.RECORDED


def _find(store: Store, receipt: Receipt) -> Delivery | None:
    """The delivery the receipt is for: by its reference (our key: the release id comes
    first), else by Notify's id among the active releases' deliveries."""
    provider_id = PROVIDER_PREFIX + receipt.notification_id
    if receipt.reference is not None and "|" in receipt.reference:
        release_id = receipt.reference.split("|", 1)[0]
        for d in store.deliveries(release_id):
            if d.key == receipt.reference:
                return d
        return None
    for record in store.active_releases():
        for d in store.deliveries(record.id):
            if d.provider_id == provider_id:
                return d
    return None


class ReceiptPoller:
    """Reads back the status of Notify messages still in flight, when no callback is set."""

    def __init__(
        self,
        client: NotifyClient,
        *,
        per_tick: int = 10,
        every: timedelta = timedelta(minutes=1),
        min_age: timedelta = timedelta(seconds=30),
        max_age: timedelta = timedelta(hours=24),
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    ) -> None:
        self.client = client
        self.per_tick = per_tick
        self.every = every
        self.min_age = min_age
        self.max_age = max_age
        self.max_attempts = max_attempts
        self._polled: dict[str, datetime] = {}  # delivery key -> last read (this process)

    def in_flight(self, store: Store, now: datetime) -> list[Delivery]:
        # The store's index of sends awaiting a receipt: a tick costs what is in flight, not
        # what is watched (3,000 releases watched are not 3,000 reads a minute).
        never = datetime.min.replace(tzinfo=now.tzinfo)
        found = [
            d
            for d in store.awaiting_receipt(now - self.max_age, now - self.min_age)
            if d.status == DeliveryStatus.SENT
            and d.receipt not in FINAL
            and notify_id(d.provider_id) is not None
            and now - self._polled.get(d.key, never) >= self.every
        ]
        # Never-read first, then the longest unread: every message gets its turn.
        found.sort(key=lambda d: (self._polled.get(d.key, d.sent_at or now), d.key))
        return found[: self.per_tick]

    def __call__(self, store: Store, now: datetime) -> int:
        return self.poll(store, now)

    def poll(self, store: Store, now: datetime) -> int:
        """One bounded pass; returns how many receipts it recorded. Never raises for Notify."""
        recorded = 0
        for d in self.in_flight(store, now):
            self._polled[d.key] = now
            notification_id = notify_id(d.provider_id)
            assert notification_id is not None
            try:
                answer = self.client.notification(notification_id)
            except NotifyApiError as exc:
                log.warning("could not read a message's status: %s", exc.reason())
                if exc.transient:
                    break  # Notify is struggling: the next tick tries again
                continue
            status = answer.get("status")
            if not isinstance(status, str):
                continue
            at = parse_time(answer.get("completed_at")) or now
            receipt = Receipt(notification_id, status, at, reference=d.key)
            if apply_receipt(store, receipt, now, max_attempts=self.max_attempts) == "recorded":
                recorded += 1
        for key, when in list(self._polled.items()):  # bounded by what is in flight
            if now - when > self.max_age:
                del self._polled[key]
        return recorded
