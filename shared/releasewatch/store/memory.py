"""An in-memory Store: the reference implementation the contract suite checks the others against."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from ..errors import AlreadyClaimed, VersionConflict
from ..model import (
    Check,
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
    Notification,
    Release,
    ReleaseRecord,
)
from .base import WAKING_EVENTS, awaits_receipt, wake_on_apply


class InMemoryStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._releases: dict[str, ReleaseRecord] = {}
        self._checks: dict[str, list[Check]] = defaultdict(list)
        self._events: dict[str, list[Event]] = defaultdict(list)
        self._deliveries: dict[str, Delivery] = {}

    def apply_releases(self, releases: Sequence[Release], now: datetime) -> list[str]:
        with self._lock:
            wanted = {r.id for r in releases}
            # Staged, then committed once nothing can fail: all-or-nothing like the others.
            staged: dict[str, ReleaseRecord] = {}
            for release in releases:
                old = staged.get(release.id, self._releases.get(release.id))
                if old is None:
                    staged[release.id] = ReleaseRecord(
                        release=release, version=1, updated_at=now, active=True, wake_at=now
                    )
                else:
                    staged[release.id] = old.model_copy(
                        update={
                            "release": release,
                            "version": old.version + 1,
                            "updated_at": now,
                            "active": True,
                            "wake_at": wake_on_apply(old, release, now),
                        }
                    )
            self._releases.update(staged)
            removed = [
                rid for rid, rec in self._releases.items() if rec.active and rid not in wanted
            ]
            for rid in removed:
                rec = self._releases[rid]
                self._releases[rid] = rec.model_copy(
                    update={
                        "active": False,
                        "version": rec.version + 1,
                        "updated_at": now,
                        "wake_at": None,
                    }
                )
                self._events[rid].append(Event(release_id=rid, at=now, kind=EventKind.REMOVED))
            return removed

    def get_release(self, release_id: str) -> ReleaseRecord | None:
        with self._lock:
            return self._releases.get(release_id)

    def active_releases(self) -> list[ReleaseRecord]:
        with self._lock:
            return [r for r in self._releases.values() if r.active]

    def due_releases(self, now: datetime) -> list[ReleaseRecord]:
        with self._lock:
            return [
                r
                for r in self._releases.values()
                if r.active and r.wake_at is not None and r.wake_at <= now
            ]

    def _wake(self, release_id: str, at: datetime) -> None:
        rec = self._releases.get(release_id)
        if rec is None or not rec.active:
            return
        wake = at if rec.wake_at is None else min(rec.wake_at, at)
        self._releases[release_id] = rec.model_copy(
            update={"wake_at": wake, "version": rec.version + 1}
        )

    def all_releases(self) -> list[ReleaseRecord]:
        with self._lock:
            return list(self._releases.values())

    def update_release(self, record: ReleaseRecord) -> ReleaseRecord:
        with self._lock:
            current = self._releases.get(record.id)
            if current is None:
                raise KeyError(record.id)
            if current.version != record.version:
                raise VersionConflict(
                    f"release {record.id}: version {record.version}, stored {current.version}"
                )
            new = record.model_copy(update={"version": record.version + 1})
            self._releases[record.id] = new
            return new

    def record_checks(self, checks: Sequence[Check]) -> None:
        with self._lock:
            for check in checks:
                self._checks[check.release_id].append(check)

    def checks(self, release_id: str, limit: int | None = None) -> list[Check]:
        with self._lock:
            found = sorted(self._checks.get(release_id, []), key=lambda c: c.at)
            return found if limit is None else found[max(len(found) - limit, 0) :]

    def add_event(self, event: Event) -> None:
        with self._lock:
            self._events[event.release_id].append(event)
            if event.kind in WAKING_EVENTS:
                self._wake(event.release_id, event.at)

    def events(self, release_id: str) -> list[Event]:
        with self._lock:
            return list(self._events.get(release_id, []))

    def deliveries(self, release_id: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self._deliveries.values() if d.notification.release_id == release_id]

    def claim(
        self, notification: Notification, owner: str, now: datetime, lease: timedelta
    ) -> Delivery:
        with self._lock:
            old = self._deliveries.get(notification.key)
            if old is not None and not old.claimable(now):
                raise AlreadyClaimed(f"{notification.key} is {old.status.value}")
            new = Delivery(
                notification=notification if old is None else old.notification,
                status=DeliveryStatus.CLAIMED,
                attempts=(old.attempts if old else 0) + 1,
                owner=owner,
                lease_until=now + lease,
                error=old.error if old else None,
                updated_at=now,
                next_attempt_at=None,
            )
            self._deliveries[notification.key] = new
            return new

    def mark_sent(self, key: str, owner: str, now: datetime, provider_id: str | None) -> None:
        with self._lock:
            old = self._deliveries[key]
            self._deliveries[key] = old.model_copy(
                update={
                    "status": DeliveryStatus.SENT,
                    "owner": owner,
                    "sent_at": now,
                    "provider_id": provider_id,
                    "lease_until": None,
                    "updated_at": now,
                    "receipt": None,
                    "delivered_at": None,
                }
            )

    def mark_failed(
        self,
        key: str,
        owner: str,
        now: datetime,
        error: str,
        *,
        permanent: bool,
        retry_at: datetime | None = None,
    ) -> None:
        with self._lock:
            old = self._deliveries[key]
            # Only our own claim: if our lease lapsed and another worker took over, its send
            # is in flight, and reopening the record would let a third worker send again.
            if old.status != DeliveryStatus.CLAIMED or old.owner != owner:
                return
            self._deliveries[key] = old.model_copy(
                update={
                    "status": DeliveryStatus.FAILED if permanent else DeliveryStatus.RETRY,
                    "owner": owner,
                    "error": error,
                    "lease_until": None,
                    "updated_at": now,
                    "next_attempt_at": None if permanent else retry_at,
                }
            )

    def cancel(self, key: str, now: datetime, reason: str) -> None:
        with self._lock:
            old = self._deliveries.get(key)
            if old is None or old.status == DeliveryStatus.SENT:
                return
            self._deliveries[key] = old.model_copy(
                update={
                    "status": DeliveryStatus.CANCELLED,
                    "error": reason,
                    "lease_until": None,
                    "next_attempt_at": None,
                    "updated_at": now,
                }
            )

    def awaiting_receipt(self, sent_from: datetime, sent_until: datetime) -> list[Delivery]:
        with self._lock:
            found = [
                d for d in self._deliveries.values() if awaits_receipt(d, sent_from, sent_until)
            ]
        return sorted(found, key=lambda d: (d.sent_at or sent_from, d.key))

    def record_receipt(
        self,
        key: str,
        provider_id: str,
        receipt: str,
        at: datetime,
        *,
        status: DeliveryStatus | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        with self._lock:
            old = self._deliveries.get(key)
            if old is None or old.status != DeliveryStatus.SENT or old.provider_id != provider_id:
                return False
            update: dict[str, object] = {"receipt": receipt, "updated_at": at}
            if receipt == "delivered":
                update["delivered_at"] = at
            if status is not None:
                update |= {
                    "status": status,
                    "error": error,
                    "next_attempt_at": retry_at if status == DeliveryStatus.RETRY else None,
                }
            self._deliveries[key] = old.model_copy(update=update)
            self._wake(old.notification.release_id, at)
            return True
