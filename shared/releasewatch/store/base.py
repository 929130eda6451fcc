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

Wake time (policy.wake_at): a tick reads only `due_releases(now)`, the active releases whose
stored wake_at is at or before `now`, through an index. The tick stores each release's next
wake_at with its state; everything that changes a release outside the tick wakes it, so the
next tick sees it, whatever its wake_at said:
    apply_releases                a new release, a changed definition, a release reactivated
                                  (or stored before wake times existed): wake_at = now;
                                  a deactivated one has none
    add_event (WAKING_EVENTS)     an acknowledgement, a readiness confirmation, a calendar
                                  change: wake_at = event.at
    record_receipt (matched)      a provider's receipt: wake_at = at
A wake also bumps the release's version (if it is active; an inactive one is left alone), so
a tick deciding the release at that moment conflicts and decides again with the new input.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

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

# Events recorded from outside the tick that change what policy.decide sees: each wakes its
# release (see "Wake time" above). The tick's own events (state changes, sends) do not.
WAKING_EVENTS = frozenset(
    {
        EventKind.ACKNOWLEDGED,
        EventKind.READY_CONFIRMED,
        EventKind.CALENDAR_CHANGED,
        EventKind.CONFIG_APPLIED,
    }
)


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

    def due_releases(self, now: datetime) -> list[ReleaseRecord]:
        """Active releases whose wake_at is at or before `now`, without reading the others."""
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

    def awaiting_receipt(self, sent_from: datetime, sent_until: datetime) -> list[Delivery]:
        """The deliveries sent (with a provider's id) from `sent_from` to `sent_until` whose
        provider has not yet said it delivered or failed them, oldest send first: what a
        receipt poller reads back. Found by an index of those alone, whatever is watched."""
        ...


def wake_on_apply(old: ReleaseRecord, release: Release, now: datetime) -> datetime | None:
    """A known release's wake_at when a config or calendar apply writes its definition: now
    if anything the tick decides from may have changed (its definition, its being watched at
    all) or it has none yet (stored before wake times existed), else as it was."""
    if old.release != release or not old.active or old.wake_at is None:
        return now
    return old.wake_at


def awaits_receipt(delivery: Delivery, sent_from: datetime, sent_until: datetime) -> bool:
    """Whether `awaiting_receipt(sent_from, sent_until)` lists this delivery."""
    return (
        delivery.status == DeliveryStatus.SENT
        and delivery.provider_id is not None
        and delivery.delivered_at is None
        and delivery.sent_at is not None
        and sent_from <= delivery.sent_at <= sent_until
    )
