"""The Store contract (store/base.py), run against every implementation in conftest.STORE_FACTORIES.

A test here that fails for one store and passes for another is a drift between adapters: fix
the adapter, not the test.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releasewatch.errors import AlreadyClaimed, VersionConflict
from releasewatch.model import (
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
    NotificationKind,
    ReleaseState,
)
from releasewatch.store.base import Store
from releasewatch.store.memory import InMemoryStore
from tests.contract.conftest import STORE_FACTORIES
from tests.factories import make_check, make_notification, make_release

T0 = datetime(2025, 7, 17, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
BST = timezone(timedelta(hours=1), "BST")


def ids(records: list) -> list[str]:  # type: ignore[type-arg]
    return sorted(r.id for r in records)


def by_key(deliveries: list[Delivery]) -> dict[str, Delivery]:
    return {d.key: d for d in deliveries}


# -- releases ---------------------------------------------------------------------------------


def test_apply_releases_inserts_new_releases_scheduled_and_active(store: Store) -> None:
    removed = store.apply_releases([make_release("a"), make_release("b")], T0)

    assert removed == []
    record = store.get_release("a")
    assert record is not None
    assert record.release == make_release("a")
    assert (record.state, record.active, record.version) == (ReleaseState.SCHEDULED, True, 1)
    assert record.updated_at == T0
    assert ids(store.all_releases()) == ["a", "b"]


def test_get_release_of_unknown_id_is_none(store: Store) -> None:
    assert store.get_release("nope") is None


def test_apply_releases_replaces_definition_but_keeps_state(store: Store) -> None:
    # GIVEN a release the watchdog has already moved to LATE
    store.apply_releases([make_release("a")], T0)
    record = store.get_release("a")
    assert record is not None
    late = store.update_release(
        record.model_copy(update={"state": ReleaseState.LATE, "first_failure_at": T0})
    )

    # WHEN the config is applied again with a new title
    store.apply_releases([make_release("a", title="Corrected title")], T0 + timedelta(hours=1))

    # THEN the definition is new, the watchdog's state is untouched, and the version moved on
    after = store.get_release("a")
    assert after is not None
    assert after.release.title == "Corrected title"
    assert after.state == ReleaseState.LATE
    assert after.first_failure_at == T0
    assert after.version == late.version + 1
    assert after.updated_at == T0 + timedelta(hours=1)


def test_apply_releases_deactivates_absent_releases_and_records_removal(store: Store) -> None:
    store.apply_releases([make_release("a"), make_release("b"), make_release("c")], T0)

    removed = store.apply_releases([make_release("b")], T0 + timedelta(minutes=1))

    assert sorted(removed) == ["a", "c"]
    assert ids(store.active_releases()) == ["b"]
    assert ids(store.all_releases()) == ["a", "b", "c"]
    gone = store.get_release("a")
    assert gone is not None and gone.active is False and gone.version == 2
    assert [(e.kind, e.at) for e in store.events("a")] == [
        (EventKind.REMOVED, T0 + timedelta(minutes=1))
    ]
    assert store.events("b") == []


def test_apply_releases_does_not_remove_an_inactive_release_twice(store: Store) -> None:
    store.apply_releases([make_release("a"), make_release("b")], T0)
    store.apply_releases([make_release("b")], T0)

    assert store.apply_releases([make_release("b")], T0) == []
    assert len(store.events("a")) == 1


def test_apply_releases_reactivates_a_release_that_comes_back(store: Store) -> None:
    store.apply_releases([make_release("a"), make_release("b")], T0)
    store.apply_releases([make_release("b")], T0)

    store.apply_releases([make_release("a"), make_release("b")], T0)

    assert ids(store.active_releases()) == ["a", "b"]


@dataclass(frozen=True)
class _NotARelease:
    """A malformed entry that reached the store (e.g. a config bug): it has an id, nothing else."""

    id: str


def test_apply_releases_is_all_or_nothing(store: Store) -> None:
    # GIVEN two known releases
    store.apply_releases([make_release("kept"), make_release("dropped")], T0)
    before = store.all_releases()

    # WHEN a list fails on its last entry, after an update and an insert were already made
    # (and before "dropped" would be deactivated)
    bad = [make_release("kept", title="changed"), make_release("new"), _NotARelease("broken")]
    with pytest.raises(ValueError):
        store.apply_releases(bad, T0 + timedelta(minutes=1))  # type: ignore[list-item]

    # THEN nothing of it is stored
    assert store.all_releases() == before
    assert store.get_release("new") is None
    assert store.events("dropped") == []


def test_active_releases_excludes_inactive_ones(store: Store) -> None:
    store.apply_releases([make_release("a"), make_release("b")], T0)
    store.apply_releases([make_release("a")], T0)

    assert [r.id for r in store.active_releases()] == ["a"]
    assert all(r.active for r in store.active_releases())


def test_update_release_stores_the_next_version(store: Store) -> None:
    store.apply_releases([make_release("a")], T0)
    record = store.get_release("a")
    assert record is not None

    new = store.update_release(
        record.model_copy(update={"state": ReleaseState.WATCHING, "updated_at": T0})
    )

    assert new.version == record.version + 1
    assert new.state == ReleaseState.WATCHING
    assert store.get_release("a") == new


def test_update_release_with_a_stale_version_conflicts_and_changes_nothing(
    store: Store,
) -> None:
    store.apply_releases([make_release("a")], T0)
    record = store.get_release("a")
    assert record is not None
    winner = store.update_release(record.model_copy(update={"state": ReleaseState.WATCHING}))

    with pytest.raises(VersionConflict):
        store.update_release(record.model_copy(update={"state": ReleaseState.LATE}))

    assert store.get_release("a") == winner


def test_update_release_after_a_config_apply_conflicts(store: Store) -> None:
    # A tick read the record, then the config was re-applied: the tick must not undo the new
    # definition.
    store.apply_releases([make_release("a")], T0)
    read_by_tick = store.get_release("a")
    assert read_by_tick is not None
    store.apply_releases([make_release("a", title="New title")], T0)

    with pytest.raises(VersionConflict):
        store.update_release(read_by_tick.model_copy(update={"state": ReleaseState.WATCHING}))

    stored = store.get_release("a")
    assert stored is not None and stored.release.title == "New title"


def test_update_release_of_unknown_release_raises_key_error(store: Store) -> None:
    store.apply_releases([make_release("a")], T0)
    record = store.get_release("a")
    assert record is not None

    with pytest.raises(KeyError):
        store.update_release(record.model_copy(update={"release": make_release("ghost")}))


def test_release_record_round_trips_every_field(store: Store) -> None:
    publication = "https://stats.example.com/publications/a"
    store.apply_releases([make_release("a", publication_url=publication)], T0)
    record = store.get_release("a")
    assert record is not None
    assert record.release.publication_url == publication
    last = make_check("a", T0 + timedelta(hours=2), live=True, judged_url=publication)
    full = record.model_copy(
        update={
            "state": ReleaseState.LIVE_LATE,
            "live_at": T0 + timedelta(hours=2, microseconds=7),
            "first_failure_at": T0 + timedelta(minutes=2),
            "last_check": last,
            "next_check_at": T0 + timedelta(hours=2, minutes=1),
            "updated_at": T0 + timedelta(hours=2),
        }
    )

    stored = store.update_release(full)

    assert store.get_release("a") == stored
    assert stored.model_dump() == full.model_copy(update={"version": full.version + 1}).model_dump()


# -- checks -----------------------------------------------------------------------------------


def test_checks_are_returned_oldest_first_whatever_the_recording_order(store: Store) -> None:
    late, early, middle = (make_check("a", T0 + timedelta(seconds=s)) for s in (30, 10, 20))
    store.record_checks([late, early])
    store.record_checks([middle])

    assert store.checks("a") == [early, middle, late]


def test_checks_limit_returns_the_newest_n_oldest_first(store: Store) -> None:
    made = [make_check("a", T0 + timedelta(seconds=10 * i)) for i in range(10)]
    store.record_checks(list(reversed(made)))

    assert store.checks("a", limit=3) == made[-3:]
    assert store.checks("a", limit=100) == made


def test_checks_belong_to_their_release(store: Store) -> None:
    store.record_checks([make_check("a", T0), make_check("b", T0, live=True)])

    assert [c.release_id for c in store.checks("a")] == ["a"]
    assert store.checks("b")[0].live is True
    assert store.checks("c") == []


def test_checks_round_trip_every_field(store: Store) -> None:
    check = make_check(
        "a",
        T0,
        live=True,
        status=301,
        redirects=("https://stats.example.com/a", "https://stats.example.com/b"),
        x_cache="HIT",
        error=None,
        elapsed_ms=12.5,
        published_at=T0 - timedelta(minutes=1),
        judged_url="https://stats.example.com/b",
        started_at=T0 - timedelta(seconds=2, microseconds=5),
    )
    store.record_checks([check])

    assert store.checks("a") == [check]


def test_timezone_aware_datetimes_round_trip_as_the_same_instant(store: Store) -> None:
    # 08:45 BST is 07:45 UTC: before a check at 08:00 UTC, though its local clock reads later.
    bst = make_check("a", datetime(2025, 7, 17, 8, 45, tzinfo=BST))
    utc = make_check("a", T0)
    store.record_checks([utc, bst])

    found = store.checks("a")

    assert found == [bst, utc]
    assert found[0].at == datetime(2025, 7, 17, 7, 45, tzinfo=UTC)
    assert store.checks("a", limit=1) == [utc]


def test_recording_no_checks_is_harmless(store: Store) -> None:
    store.record_checks([])
    assert store.checks("a") == []


# -- events -----------------------------------------------------------------------------------


def test_events_keep_insertion_order_even_when_out_of_time_order(store: Store) -> None:
    second = Event(release_id="a", at=T0 + timedelta(minutes=1), kind=EventKind.STATE_CHANGED)
    first = Event(
        release_id="a",
        at=T0,
        kind=EventKind.ACKNOWLEDGED,
        contact_id="web_publisher",
        detail={"step": "1", "via": "link"},
    )
    store.add_event(second)
    store.add_event(first)
    store.add_event(Event(release_id="b", at=T0, kind=EventKind.PAGE_LOST))

    assert store.events("a") == [second, first]
    assert [e.kind for e in store.events("b")] == [EventKind.PAGE_LOST]
    assert store.events("c") == []


# -- deliveries -------------------------------------------------------------------------------


def test_claim_of_a_new_key_holds_a_lease(store: Store) -> None:
    n = make_notification()

    d = store.claim(n, "w1", T0, LEASE)

    assert d.notification == n
    assert (d.status, d.owner, d.attempts) == (DeliveryStatus.CLAIMED, "w1", 1)
    assert d.lease_until == T0 + LEASE
    assert store.deliveries(n.release_id) == [d]


def test_claim_during_a_live_lease_raises_already_claimed(store: Store) -> None:
    n = make_notification()
    first = store.claim(n, "w1", T0, LEASE)

    with pytest.raises(AlreadyClaimed):
        store.claim(n, "w2", T0 + LEASE - timedelta(microseconds=1), LEASE)

    assert store.deliveries(n.release_id) == [first]


def test_claim_after_the_lease_ran_out_succeeds_and_counts_the_attempt(store: Store) -> None:
    n = make_notification()
    store.claim(n, "w1", T0, LEASE)

    d = store.claim(n, "w2", T0 + LEASE, LEASE)  # lease_until <= now: the holder is gone

    assert (d.status, d.owner, d.attempts) == (DeliveryStatus.CLAIMED, "w2", 2)
    assert d.lease_until == T0 + 2 * LEASE
    assert store.deliveries(n.release_id) == [d]


@pytest.mark.parametrize(
    "finish",
    [
        pytest.param(lambda s, k: s.mark_sent(k, "w1", T0, "msg-1"), id="sent"),
        pytest.param(
            lambda s, k: s.mark_failed(k, "w1", T0, "unknown number", permanent=True),
            id="failed",
        ),
        pytest.param(lambda s, k: s.cancel(k, T0, "page went live"), id="cancelled"),
    ],
)
def test_claim_of_a_finished_delivery_raises_however_late(
    store: Store, finish: Callable[[Store, str], None]
) -> None:
    n = make_notification()
    store.claim(n, "w1", T0, LEASE)
    finish(store, n.key)
    [finished] = store.deliveries(n.release_id)

    with pytest.raises(AlreadyClaimed):
        store.claim(n, "w2", T0 + timedelta(days=1), LEASE)

    assert store.deliveries(n.release_id) == [finished]


def test_retry_is_claimable_at_once(store: Store) -> None:
    n = make_notification()
    store.claim(n, "w1", T0, LEASE)
    store.mark_failed(n.key, "w1", T0, "SMTP 421", permanent=False)

    d = store.claim(n, "w2", T0 + timedelta(seconds=1), LEASE)

    assert (d.status, d.owner, d.attempts) == (DeliveryStatus.CLAIMED, "w2", 2)
    assert d.error == "SMTP 421"  # the last error stays visible until something replaces it


def test_a_retry_waits_for_its_next_attempt_time(store: Store) -> None:
    # GIVEN a transient failure whose backoff runs to T0 + 30 s
    n = make_notification()
    store.claim(n, "w1", T0, LEASE)
    retry_at = T0 + timedelta(seconds=30)
    store.mark_failed(n.key, "w1", T0, "SMTP 421", permanent=False, retry_at=retry_at)
    [waiting] = store.deliveries(n.release_id)
    assert (waiting.status, waiting.next_attempt_at) == (DeliveryStatus.RETRY, retry_at)
    assert not waiting.claimable(retry_at - timedelta(microseconds=1))

    # WHEN another worker tries before then, THEN it may not
    with pytest.raises(AlreadyClaimed):
        store.claim(n, "w2", retry_at - timedelta(microseconds=1), LEASE)
    assert store.deliveries(n.release_id) == [waiting]

    # AND from then on it may, and the wait is over
    d = store.claim(n, "w2", retry_at.astimezone(BST), LEASE)
    assert (d.status, d.owner, d.attempts, d.next_attempt_at) == (
        DeliveryStatus.CLAIMED,
        "w2",
        2,
        None,
    )
    assert store.deliveries(n.release_id) == [d]


def test_a_permanent_failure_or_a_cancel_leaves_no_next_attempt(store: Store) -> None:
    a, b = make_notification(step=1), make_notification(step=2)
    for n in (a, b):
        store.claim(n, "w1", T0, LEASE)
        store.mark_failed(n.key, "w1", T0, "421", permanent=False, retry_at=T0 + LEASE)
        store.claim(n, "w1", T0 + LEASE, LEASE)
    store.mark_failed(a.key, "w1", T0 + LEASE, "550", permanent=True, retry_at=T0 + 2 * LEASE)
    store.cancel(b.key, T0 + LEASE, "page went live")
    found = by_key(store.deliveries(a.release_id))
    assert [(d.status, d.next_attempt_at) for d in (found[a.key], found[b.key])] == [
        (DeliveryStatus.FAILED, None),
        (DeliveryStatus.CANCELLED, None),
    ]


def test_mark_sent_after_the_lease_lapsed_still_records_sent(store: Store) -> None:
    # GIVEN w1's lease ran out mid-send and w2 reclaimed the notification
    n = make_notification()
    store.claim(n, "w1", T0, LEASE)
    store.claim(n, "w2", T0 + 2 * LEASE, LEASE)

    # WHEN w1's send completes after all
    store.mark_sent(n.key, "w1", T0 + 2 * LEASE + timedelta(seconds=1), "msg-1")

    # THEN the record says SENT: the message went out
    [d] = store.deliveries(n.release_id)
    assert d.status == DeliveryStatus.SENT
    assert (d.owner, d.provider_id) == ("w1", "msg-1")
    assert d.sent_at == T0 + 2 * LEASE + timedelta(seconds=1)
    assert d.lease_until is None


def test_a_delivered_receipt_records_when_on_the_send_it_is_for(store: Store) -> None:
    n = make_notification(contact_id="web_publisher", channel="notify_sms")
    store.claim(n, "w1", T0, LEASE)
    store.mark_sent(n.key, "w1", T0, "notify:abc")
    at = T0 + timedelta(seconds=5)

    assert store.record_receipt(n.key, "notify:abc", "delivered", at) is True

    [d] = store.deliveries(n.release_id)
    assert (d.status, d.receipt, d.delivered_at) == (DeliveryStatus.SENT, "delivered", at)
    assert d.sent_at == T0  # when it was sent is kept
    # a duplicate receipt (Notify retries callbacks) changes nothing
    assert store.record_receipt(n.key, "notify:abc", "delivered", at) is True
    assert store.deliveries(n.release_id) == [d]


def test_a_receipt_for_another_send_or_an_unsent_delivery_changes_nothing(store: Store) -> None:
    n = make_notification(contact_id="web_publisher", channel="notify_sms")
    store.claim(n, "w1", T0, LEASE)
    assert store.record_receipt(n.key, "notify:abc", "delivered", T0) is False  # not sent yet
    store.mark_sent(n.key, "w1", T0, "notify:new")
    assert store.record_receipt(n.key, "notify:old", "permanent-failure", T0) is False
    assert store.record_receipt("lms|alert|9|0|nobody|sms", "notify:new", "delivered", T0) is False
    [d] = store.deliveries(n.release_id)
    assert (d.status, d.receipt, d.delivered_at) == (DeliveryStatus.SENT, None, None)


def test_a_failure_receipt_fails_the_delivery_once(store: Store) -> None:
    n = make_notification(contact_id="web_publisher", channel="notify_sms")
    store.claim(n, "w1", T0, LEASE)
    store.mark_sent(n.key, "w1", T0, "notify:abc")
    at = T0 + timedelta(minutes=1)

    changed = store.record_receipt(
        n.key, "notify:abc", "permanent-failure", at,
        status=DeliveryStatus.FAILED, error="notify receipt: permanent-failure",
    )  # fmt: skip

    assert changed is True
    [d] = store.deliveries(n.release_id)
    assert (d.status, d.receipt, d.error) == (
        DeliveryStatus.FAILED,
        "permanent-failure",
        "notify receipt: permanent-failure",
    )
    assert (d.delivered_at, d.next_attempt_at) == (None, None)
    # Notify's retried callback: the delivery is no longer SENT, nothing changes
    assert store.record_receipt(n.key, "notify:abc", "permanent-failure", at) is False


def test_a_technical_failure_receipt_leaves_it_for_another_attempt(store: Store) -> None:
    n = make_notification(contact_id="web_publisher", channel="notify_sms")
    store.claim(n, "w1", T0, LEASE)
    store.mark_sent(n.key, "w1", T0, "notify:abc")
    retry_at = T0 + timedelta(seconds=30)

    store.record_receipt(
        n.key, "notify:abc", "technical-failure", T0 + timedelta(seconds=10),
        status=DeliveryStatus.RETRY, error="notify receipt: technical-failure", retry_at=retry_at,
    )  # fmt: skip

    [d] = store.deliveries(n.release_id)
    assert (d.status, d.next_attempt_at) == (DeliveryStatus.RETRY, retry_at)
    with pytest.raises(AlreadyClaimed):
        store.claim(n, "w2", retry_at - timedelta(seconds=1), LEASE)
    again = store.claim(n, "w2", retry_at, LEASE)
    assert again.attempts == 2
    # the new send awaits its own receipt
    store.mark_sent(n.key, "w2", retry_at, "notify:second")
    [d] = store.deliveries(n.release_id)
    assert (d.status, d.provider_id, d.receipt, d.delivered_at) == (
        DeliveryStatus.SENT,
        "notify:second",
        None,
        None,
    )


def _sent(store: Store, release_id: str, contact: str, at: datetime, provider: str | None) -> str:
    n = make_notification(release_id, contact_id=contact, channel="notify_sms")
    store.claim(n, "w1", at, LEASE)
    store.mark_sent(n.key, "w1", at, provider)
    return n.key


def _awaiting(store: Store, start: datetime, end: datetime) -> list[str]:
    return [d.key for d in store.awaiting_receipt(start, end)]


def test_the_sends_awaiting_a_receipt_are_found_by_send_time_until_answered(
    store: Store,
) -> None:
    # What a receipt poller reads back: sends with a provider's id and no final receipt, in
    # a window of send times, oldest first, from any release, whatever else is stored.
    early = _sent(store, "rel-a", "one", T0, "notify:1")
    later = _sent(store, "rel-b", "two", T0 + timedelta(minutes=5), "notify:2")
    no_id = _sent(store, "rel-a", "three", T0 + timedelta(minutes=1), None)  # no receipt to come
    held = make_notification("rel-c", contact_id="four", channel="notify_sms")
    store.claim(held, "w1", T0, LEASE)  # claimed, not sent: nothing to read back
    assert no_id and held.key
    day = (T0 - timedelta(hours=1), T0 + timedelta(hours=1))

    assert _awaiting(store, *day) == [early, later]
    assert _awaiting(store, T0 + timedelta(minutes=1), T0 + timedelta(minutes=5)) == [later]
    assert _awaiting(store, T0, T0) == [early]  # both ends inclusive
    assert _awaiting(store, T0 + timedelta(minutes=6), T0 + timedelta(hours=1)) == []

    # An in-flight status changes nothing; delivered, or a failure, ends the wait.
    assert store.record_receipt(early, "notify:1", "sending", T0 + timedelta(minutes=2))
    assert _awaiting(store, *day) == [early, later]
    assert store.record_receipt(early, "notify:1", "delivered", T0 + timedelta(minutes=3))
    assert _awaiting(store, *day) == [later]
    store.record_receipt(
        later, "notify:2", "technical-failure", T0 + timedelta(minutes=6),
        status=DeliveryStatus.RETRY, error="notify receipt", retry_at=T0 + timedelta(minutes=7),
    )  # fmt: skip
    assert _awaiting(store, *day) == []

    # The retry claimed again waits for nothing; sent again, it awaits its own receipt.
    again = store.claim(
        store.deliveries("rel-b")[0].notification, "w2", T0 + timedelta(minutes=7), LEASE
    )
    assert _awaiting(store, *day) == []
    store.mark_sent(again.key, "w2", T0 + timedelta(minutes=8), "notify:3")
    [d] = store.awaiting_receipt(*day)
    assert (d.key, d.provider_id, d.sent_at) == (later, "notify:3", T0 + timedelta(minutes=8))
    # ...and a permanent failure ends it for good.
    store.record_receipt(
        later, "notify:3", "permanent-failure", T0 + timedelta(minutes=9),
        status=DeliveryStatus.FAILED, error="notify receipt",
    )  # fmt: skip
    assert _awaiting(store, *day) == []


def test_mark_failed_transient_makes_it_retry(store: Store) -> None:
    n = make_notification()
    store.claim(n, "w1", T0, LEASE)

    store.mark_failed(n.key, "w1", T0 + timedelta(seconds=2), "timeout", permanent=False)

    [d] = store.deliveries(n.release_id)
    assert (d.status, d.error, d.lease_until) == (DeliveryStatus.RETRY, "timeout", None)
    assert d.updated_at == T0 + timedelta(seconds=2)


def test_mark_failed_permanent_makes_it_failed(store: Store) -> None:
    n = make_notification(contact_id="web_publisher", channel="sms")
    store.claim(n, "w1", T0, LEASE)

    store.mark_failed(n.key, "w1", T0, "number unreachable", permanent=True)

    [d] = store.deliveries(n.release_id)
    assert (d.status, d.error) == (DeliveryStatus.FAILED, "number unreachable")


@pytest.mark.parametrize("permanent", [False, True])
def test_mark_failed_never_downgrades_a_sent_delivery(store: Store, permanent: bool) -> None:
    n = make_notification()
    store.claim(n, "w1", T0, LEASE)
    store.mark_sent(n.key, "w1", T0, "msg-1")
    [sent] = store.deliveries(n.release_id)

    store.mark_failed(n.key, "w2", T0 + timedelta(seconds=5), "late failure", permanent=permanent)

    assert store.deliveries(n.release_id) == [sent]


def test_a_lapsed_worker_cannot_reopen_a_delivery_another_worker_is_sending(
    store: Store,
) -> None:
    # GIVEN w1's lease ran out and w2 reclaimed the notification and is sending it
    n = make_notification()
    store.claim(n, "w1", T0, LEASE)
    store.claim(n, "w2", T0 + 2 * LEASE, LEASE)

    # WHEN w1 finally reports a transient failure
    store.mark_failed(n.key, "w1", T0 + 2 * LEASE, "timeout", permanent=False)

    # THEN w2 still holds it, so no third worker can send it again
    [d] = store.deliveries(n.release_id)
    assert (d.status, d.owner) == (DeliveryStatus.CLAIMED, "w2")
    with pytest.raises(AlreadyClaimed):
        store.claim(n, "w3", T0 + 2 * LEASE + timedelta(seconds=1), LEASE)


def test_mark_failed_does_not_reopen_a_cancelled_delivery(store: Store) -> None:
    n = make_notification()
    store.claim(n, "w1", T0, LEASE)
    store.cancel(n.key, T0, "page went live")

    store.mark_failed(n.key, "w1", T0 + timedelta(seconds=1), "timeout", permanent=False)

    [d] = store.deliveries(n.release_id)
    assert d.status == DeliveryStatus.CANCELLED


def test_checks_limit_zero_returns_none(store: Store) -> None:
    store.record_checks([make_check(at=T0), make_check(at=T0 + timedelta(seconds=10))])
    assert store.checks("lms-2025-07", limit=0) == []


def test_cancel_marks_an_unsent_delivery_cancelled(store: Store) -> None:
    n = make_notification()
    store.claim(n, "w1", T0, LEASE)

    store.cancel(n.key, T0 + timedelta(seconds=3), "page went live")

    [d] = store.deliveries(n.release_id)
    assert (d.status, d.error, d.lease_until) == (DeliveryStatus.CANCELLED, "page went live", None)


def test_cancel_does_nothing_to_a_sent_delivery(store: Store) -> None:
    n = make_notification()
    store.claim(n, "w1", T0, LEASE)
    store.mark_sent(n.key, "w1", T0, "msg-1")
    [sent] = store.deliveries(n.release_id)

    store.cancel(n.key, T0 + timedelta(seconds=3), "page went live")

    assert store.deliveries(n.release_id) == [sent]


def test_cancel_of_an_unknown_key_is_a_no_op(store: Store) -> None:
    store.cancel("lms-2025-07|alert|0|0|nobody|email", T0, "page went live")
    assert store.deliveries("lms-2025-07") == []


def test_marking_an_unclaimed_key_raises_key_error(store: Store) -> None:
    key = make_notification().key
    with pytest.raises(KeyError):
        store.mark_sent(key, "w1", T0, None)
    with pytest.raises(KeyError):
        store.mark_failed(key, "w1", T0, "boom", permanent=False)
    assert store.deliveries("lms-2025-07") == []


def test_deliveries_belong_to_their_release(store: Store) -> None:
    a1 = make_notification("a")
    a2 = make_notification("a", NotificationKind.BREACH, "head_of_profession", step=3)
    b = make_notification("b")
    for n in (a1, a2, b):
        store.claim(n, "w1", T0, LEASE)

    assert sorted(by_key(store.deliveries("a"))) == sorted([a1.key, a2.key])
    assert [d.key for d in store.deliveries("b")] == [b.key]
    assert store.deliveries("c") == []


# -- concurrency ------------------------------------------------------------------------------


def test_racing_claims_have_exactly_one_winner_per_key(
    store: Store, open_store: Callable[[], Store]
) -> None:
    # Overlapping ticks (cosmicpython's test_uow race): 8 workers, each with its own handle on
    # the same data, claim the same 50 notifications at the same moment.
    notifications = [make_notification(step=1, occurrence=i) for i in range(50)]
    handles = [open_store() for _ in range(8)]
    start = threading.Barrier(len(handles))
    wins: dict[str, list[str]] = defaultdict(list)
    errors: list[BaseException] = []
    guard = threading.Lock()

    def work(owner: str, handle: Store) -> None:
        start.wait()
        for n in notifications:
            try:
                handle.claim(n, owner, T0, LEASE)
            except AlreadyClaimed:
                continue
            except BaseException as exc:  # a lock timeout would be a failure, not a loss
                with guard:
                    errors.append(exc)
                continue
            with guard:
                wins[n.key].append(owner)

    threads = [
        threading.Thread(target=work, args=(f"worker-{i}", h)) for i, h in enumerate(handles)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert sorted(wins) == sorted(n.key for n in notifications)
    assert {k: len(v) for k, v in wins.items() if len(v) != 1} == {}
    stored = by_key(store.deliveries("lms-2025-07"))
    assert len(stored) == len(notifications)
    assert {k: (d.owner, d.attempts) for k, d in stored.items()} == {
        k: (owners[0], 1) for k, owners in wins.items()
    }


def test_racing_release_updates_have_exactly_one_winner(
    store: Store, open_store: Callable[[], Store]
) -> None:
    store.apply_releases([make_release("a")], T0)
    record = store.get_release("a")
    assert record is not None
    handles = [open_store() for _ in range(8)]
    start = threading.Barrier(len(handles))
    outcomes: list[str] = []
    guard = threading.Lock()

    def work(i: int, handle: Store) -> None:
        start.wait()
        try:
            handle.update_release(record.model_copy(update={"state": ReleaseState.WATCHING}))
            outcome = "won"
        except VersionConflict:
            outcome = "conflict"
        except BaseException as exc:
            outcome = repr(exc)
        with guard:
            outcomes.append(outcome)

    threads = [threading.Thread(target=work, args=(i, h)) for i, h in enumerate(handles)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert sorted(outcomes) == ["conflict"] * 7 + ["won"]
    stored = store.get_release("a")
    assert stored is not None and stored.version == record.version + 1


# -- model-based: the same operations on the reference and on the store under test -------------

_OPS = st.lists(
    st.tuples(
        st.sampled_from(["claim", "sent", "retry", "fail", "cancel"]),
        st.integers(0, 2),  # which notification
        st.integers(0, 2),  # which worker
        st.integers(0, 90),  # seconds the clock moves first (leases are 60 s)
        st.booleans(),  # pass `now` in BST rather than UTC
    ),
    max_size=25,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=_OPS)
# Every store but the reference itself (which cannot differ from itself).
@pytest.mark.parametrize("store_name", [n for n in STORE_FACTORIES if n != "memory"])
def test_delivery_operations_match_the_reference_store(
    store_name: str, store: Store, ops: list[tuple[str, int, int, int, bool]]
) -> None:
    release_id = f"r-{uuid.uuid4().hex[:12]}"  # a fresh partition per example
    notifications = [make_notification(release_id, step=1, occurrence=i) for i in range(3)]
    reference = InMemoryStore()
    now = T0

    def outcome(target: Store, op: str, n: int, worker: str, at: datetime) -> object:
        key = notifications[n].key
        try:
            if op == "claim":
                return target.claim(notifications[n], worker, at, LEASE)
            if op == "sent":
                target.mark_sent(key, worker, at, f"id-{worker}")
            elif op in ("retry", "fail"):
                # A retry waits 45 s: within the ops' clock steps, so some claims come early.
                target.mark_failed(
                    key,
                    worker,
                    at,
                    f"{op} by {worker}",
                    permanent=op == "fail",
                    retry_at=at + timedelta(seconds=45),
                )
            else:
                target.cancel(key, at, "overtaken")
        except (AlreadyClaimed, KeyError) as exc:
            return type(exc)
        return None

    for op, n, w, seconds, in_bst in ops:
        now += timedelta(seconds=seconds)
        at = now.astimezone(BST) if in_bst else now
        worker = f"w{w}"
        expected = outcome(reference, op, n, worker, at)
        assert outcome(store, op, n, worker, at) == expected, (op, n, worker, at)

    assert by_key(store.deliveries(release_id)) == by_key(reference.deliveries(release_id))
