"""The Store port. Every implementation passes tests/contract/test_store_contract.py.

Delivery contract (claim, send, mark), the heart of "at least once, bounded duplicates":

    claim(n, owner, now, lease)   conditional write: succeeds only if no record exists, or the
                                  record is RETRY with next_attempt_at absent or <= now, or it is
                                  CLAIMED with lease_until <= now. Clears next_attempt_at.
                                  Raises AlreadyClaimed otherwise (live lease, SENT, FAILED,
                                  CANCELLED). Increments attempts.
    mark_sent(key, owner, ...)    records SENT whoever holds the lease now: the message went out,
                                  so the record must say so even if our lease lapsed.
    mark_failed(..., permanent,   RETRY (transient: claimable again from `retry_at`, or at once
                retry_at)         when None) or FAILED; acts
                                  only on the caller's own claim (CLAIMED by `owner`), so a
                                  worker whose lease lapsed cannot reopen a record another
                                  worker is sending. KeyError if the key was never claimed.
    cancel(key, ...)              CANCELLED, unless already SENT; for messages overtaken by events.
    record_receipt(key, provider_id,
                   receipt, at, status)
                                  a provider's delivery receipt, only on a SENT delivery whose
                                  provider_id matches (so a late receipt for an earlier attempt
                                  changes nothing): sets receipt (and delivered_at = at for
                                  "delivered"); with status FAILED or RETRY (and error,
                                  retry_at) the delivery leaves SENT, so the fallback or the
                                  next attempt runs as after a send error. True if it matched.
                                  mark_sent clears both: a new send awaits its own receipt.

Release updates are optimistic: update_release(rec) succeeds only if the stored version equals
rec.version, and stores rec.version + 1; otherwise VersionConflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from ..model import Check, Delivery, DeliveryStatus, Event, Notification, Release, ReleaseRecord


class Store(Protocol):
    # -- releases -----------------------------------------------------------------------------
    def apply_releases(self, releases: Sequence[Release], now: datetime) -> list[str]:
        """All-or-nothing: insert new releases (state scheduled), replace the definition of known
        ones (keeping their state), deactivate stored active releases absent from `releases`.
        Returns the ids deactivated."""
        ...

    def get_release(self, release_id: str) -> ReleaseRecord | None: ...

    def active_releases(self) -> list[ReleaseRecord]:
        """Releases a tick must consider (active=True), without scanning inactive ones."""
        ...

    def all_releases(self) -> list[ReleaseRecord]: ...

    def update_release(self, record: ReleaseRecord) -> ReleaseRecord:
        """Write `record` if the stored version is record.version; returns it with version+1.
        Raises VersionConflict (or KeyError if the release does not exist)."""
        ...

    # -- history ------------------------------------------------------------------------------
    def record_checks(self, checks: Sequence[Check]) -> None: ...

    def checks(self, release_id: str, limit: int | None = None) -> list[Check]:
        """Oldest first; with `limit`, the most recent `limit` checks (still oldest first)."""
        ...

    def add_event(self, event: Event) -> None: ...

    def events(self, release_id: str) -> list[Event]:
        """Oldest first, in the order they were added."""
        ...

    # -- deliveries ---------------------------------------------------------------------------
    def deliveries(self, release_id: str) -> list[Delivery]: ...

    def claim(
        self, notification: Notification, owner: str, now: datetime, lease: timedelta
    ) -> Delivery:
        """Raises AlreadyClaimed unless the notification is unclaimed or claimable (see above)."""
        ...

    def mark_sent(self, key: str, owner: str, now: datetime, provider_id: str | None) -> None: ...

    def mark_failed(
        self,
        key: str,
        owner: str,
        now: datetime,
        error: str,
        *,
        permanent: bool,
        retry_at: datetime | None = None,
    ) -> None: ...

    def cancel(self, key: str, now: datetime, reason: str) -> None: ...

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
    ) -> bool: ...
