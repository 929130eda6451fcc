"""What only the DynamoDB store does: TTL on checks, the sparse index, conditional writes mapped
to domain errors, throttling retried by botocore, and pushes larger than one transaction.

The shared behaviour (claim/mark/cancel, versions, ordering) is in tests/contract/.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from releasewatch.errors import AlreadyClaimed, StoreError, VersionConflict
from releasewatch.model import DeliveryStatus, EventKind, ReleaseState
from releasewatch.store.dynamodb import DynamoDBStore
from releasewatch.store.dynamodb_table import (
    ACTIVE_INDEX,
    AWAITING_INDEX,
    create_table,
    dynamodb_client,
)
from tests.factories import DUE, make_check, make_notification, make_release

TABLE = "releasewatch-test"
REGION = "eu-west-2"


@pytest.fixture
def client(aws: None) -> Any:
    c = dynamodb_client(REGION)
    create_table(c, TABLE)
    return c


@pytest.fixture
def calls(client: Any) -> Counter[str]:
    """Every DynamoDB operation the store makes (botocore event hook)."""
    seen: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        seen[model.name] += 1

    client.meta.events.register("before-call.dynamodb", count)
    return seen


@pytest.fixture
def store(client: Any) -> DynamoDBStore:
    return DynamoDBStore(TABLE, client=client)


def _raw_item(client: Any, pk: str, sk: str) -> dict[str, Any]:
    return client.get_item(TableName=TABLE, Key={"PK": {"S": pk}, "SK": {"S": sk}})["Item"]


def test_table_matches_what_the_store_queries(client: Any) -> None:
    # Given: a table made by create_table (the helper `push --create-table` uses)
    desc = client.describe_table(TableName=TABLE)["Table"]
    ttl = client.describe_time_to_live(TableName=TABLE)["TimeToLiveDescription"]
    # Then: the sparse index exists, billing is on demand and TTL is on expires_at
    assert {i["IndexName"] for i in desc["GlobalSecondaryIndexes"]} >= {
        ACTIVE_INDEX,
        AWAITING_INDEX,
    }
    assert desc["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert ttl == {"AttributeName": "expires_at", "TimeToLiveStatus": "ENABLED"}


def test_checks_carry_a_ttl_so_history_expires(client: Any) -> None:
    # Given: a store keeping checks for 7 days
    store = DynamoDBStore(TABLE, client=client, check_ttl=timedelta(days=7))
    store.apply_releases([make_release()], DUE)
    # When: a check is recorded
    store.record_checks([make_check(at=DUE)])
    # Then: its item expires 7 days after it was made (epoch seconds, as TTL wants)
    items = client.query(
        TableName=TABLE,
        KeyConditionExpression="PK = :pk AND begins_with(SK, :c)",
        ExpressionAttributeValues={":pk": {"S": "RELEASE#lms-2025-07"}, ":c": {"S": "CHECK#"}},
    )["Items"]
    assert len(items) == 1
    assert int(items[0]["expires_at"]["N"]) == int((DUE + timedelta(days=7)).timestamp())


def test_a_tick_finds_active_releases_without_scanning(
    store: DynamoDBStore, calls: Counter[str]
) -> None:
    # Given: three releases, one of which has finished (no longer active)
    store.apply_releases([make_release("a"), make_release("b"), make_release("c")], DUE)
    done = store.get_release("b")
    assert done is not None
    store.update_release(done.model_copy(update={"active": False, "state": ReleaseState.LIVE}))
    calls.clear()
    # When: a tick asks for the releases to poll
    active = store.active_releases()
    # Then: it gets the two active ones, by Query on the index, never a Scan
    assert sorted(r.id for r in active) == ["a", "c"]
    assert calls["Scan"] == 0
    assert calls["Query"] == 1
    # ...and the finished release is gone from the sparse index
    assert "active_pk" not in _raw_item(store.client, "RELEASE#b", "META")
    assert _raw_item(store.client, "RELEASE#a", "META")["active_pk"] == {"S": "ACTIVE"}


def test_status_lists_all_releases_without_scanning(
    store: DynamoDBStore, calls: Counter[str]
) -> None:
    store.apply_releases([make_release("a"), make_release("b")], DUE)
    store.apply_releases([make_release("a")], DUE)  # b is deactivated, still listed
    calls.clear()
    assert sorted(r.id for r in store.all_releases()) == ["a", "b"]
    assert calls["Scan"] == 0


def _in_awaiting_index(client: Any) -> list[str]:
    items = client.query(
        TableName=TABLE,
        IndexName=AWAITING_INDEX,
        KeyConditionExpression="awaiting_pk = :v",
        ExpressionAttributeValues={":v": {"S": "AWAITING"}},
    )["Items"]
    return sorted(i["SK"]["S"].removeprefix("DELIVERY#") for i in items)


def test_receipts_read_back_cost_what_is_in_flight_not_what_is_watched(
    store: DynamoDBStore, calls: Counter[str]
) -> None:
    # Given: 150 watched releases, and two messages sent, one already delivered
    store.apply_releases([make_release(f"r{i}") for i in range(150)], DUE)
    sent = []
    for release_id in ("r1", "r2"):
        n = make_notification(release_id, channel="notify_sms")
        store.claim(n, "w1", DUE, timedelta(minutes=1))
        store.mark_sent(n.key, "w1", DUE, f"notify:{release_id}")
        sent.append(n.key)
    store.record_receipt(sent[0], "notify:r1", "delivered", DUE + timedelta(minutes=1))
    calls.clear()
    # When: a receipt poller asks for the sends awaiting a receipt
    awaiting = store.awaiting_receipt(DUE - timedelta(hours=1), DUE + timedelta(hours=1))
    # Then: one Query of the sparse index and one read of what it lists, not 150 releases
    assert [d.key for d in awaiting] == [sent[1]]
    assert (calls["Query"], calls["BatchGetItem"], calls["Scan"]) == (1, 1, 0)
    # ...and the index holds the send in flight alone: the delivered one left it
    assert _in_awaiting_index(store.client) == [sent[1]]
    store.record_receipt(
        sent[1], "notify:r2", "permanent-failure", DUE + timedelta(minutes=2),
        status=DeliveryStatus.FAILED, error="notify receipt",
    )  # fmt: skip
    assert _in_awaiting_index(store.client) == []


def test_a_live_claim_maps_to_already_claimed(store: DynamoDBStore) -> None:
    # Given: a notification claimed by one worker with a 2-minute lease
    n = make_notification()
    store.claim(n, "worker-a", DUE, timedelta(minutes=2))
    # When: another worker tries within the lease, Then: the conditional put fails as a domain error
    with pytest.raises(AlreadyClaimed, match="claimed"):
        store.claim(n, "worker-b", DUE + timedelta(minutes=1), timedelta(minutes=2))
    # ...and after the lease has run out unsent, the other worker gets it (attempt 2)
    again = store.claim(n, "worker-b", DUE + timedelta(minutes=2), timedelta(minutes=2))
    assert (again.owner, again.attempts) == ("worker-b", 2)


def test_a_sent_notification_is_never_claimed_again(store: DynamoDBStore) -> None:
    n = make_notification()
    store.claim(n, "worker-a", DUE, timedelta(minutes=2))
    store.mark_sent(n.key, "worker-a", DUE, "msg-1")
    with pytest.raises(AlreadyClaimed, match="sent"):
        store.claim(n, "worker-b", DUE + timedelta(hours=1), timedelta(minutes=2))


def test_a_stale_version_maps_to_version_conflict(store: DynamoDBStore) -> None:
    store.apply_releases([make_release()], DUE)
    record = store.get_release("lms-2025-07")
    assert record is not None
    store.update_release(record.model_copy(update={"state": ReleaseState.WATCHING}))
    with pytest.raises(VersionConflict):
        store.update_release(record.model_copy(update={"state": ReleaseState.LATE}))
    stored = store.get_release("lms-2025-07")
    assert stored is not None and stored.state == ReleaseState.WATCHING


def test_updating_an_unknown_release_is_a_key_error(store: DynamoDBStore) -> None:
    store.apply_releases([make_release("a")], DUE)
    record = store.get_release("a")
    assert record is not None
    ghost = record.model_copy(update={"release": make_release("ghost")})
    with pytest.raises(KeyError):
        store.update_release(ghost)


class _Raw(io.BytesIO):
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self.getvalue()


def _throttle(client: Any, operation: str, times: int) -> list[str]:
    """Answer the first `times` sends of `operation` with a throttling error (before-send)."""
    attempts: list[str] = []

    def handler(request: Any, **_: Any) -> AWSResponse | None:
        attempts.append(operation)
        if len(attempts) > times:
            return None
        body = json.dumps(
            {
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "Rate of requests exceeds the allowed throughput.",
            }
        ).encode()
        return AWSResponse(
            request.url, 400, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(body)
        )

    client.meta.events.register_first(f"before-send.dynamodb.{operation}", handler)
    return attempts


def test_throttled_reads_are_retried_by_botocore(aws: None) -> None:
    # Given: a store whose own (lazily made) client is throttled twice on GetItem
    setup = dynamodb_client(REGION)
    create_table(setup, TABLE)
    store = DynamoDBStore(TABLE)
    store.apply_releases([make_release()], DUE)
    attempts = _throttle(store.client, "GetItem", times=2)
    # When: the tick reads the release, Then: it succeeds after two retries
    record = store.get_release("lms-2025-07")
    assert record is not None and record.id == "lms-2025-07"
    assert len(attempts) == 3
    assert store.client.meta.config.retries["mode"] == "standard"


def test_throttled_check_writes_are_retried_not_lost(store: DynamoDBStore) -> None:
    store.apply_releases([make_release()], DUE)
    attempts = _throttle(store.client, "BatchWriteItem", times=2)
    store.record_checks([make_check(at=DUE), make_check(at=DUE + timedelta(seconds=10))])
    assert len(attempts) == 3
    assert [c.at for c in store.checks("lms-2025-07")] == [DUE, DUE + timedelta(seconds=10)]


def test_events_keep_insertion_order_even_when_times_go_backwards(store: DynamoDBStore) -> None:
    from releasewatch.model import Event

    store.add_event(Event(release_id="r", at=DUE, kind=EventKind.STATE_CHANGED))
    store.add_event(
        Event(release_id="r", at=DUE - timedelta(minutes=1), kind=EventKind.ACKNOWLEDGED)
    )
    assert [e.kind for e in store.events("r")] == [
        EventKind.STATE_CHANGED,
        EventKind.ACKNOWLEDGED,
    ]


def test_a_push_larger_than_one_transaction_is_applied_whole(client: Any) -> None:
    # Given: a store limited to 4 actions per transaction (AWS allows 100)
    store = DynamoDBStore(TABLE, client=client, transaction_limit=4)
    releases = [make_release(f"r{i}") for i in range(10)]
    # When: 10 releases are pushed (11 actions with the CONFIG commit)
    store.apply_releases(releases, DUE)
    # Then: all are there and active
    assert sorted(r.id for r in store.active_releases()) == sorted(r.id for r in releases)


def test_a_failed_large_push_is_undone(client: Any) -> None:
    # Given: one release already stored, and a chunked store
    store = DynamoDBStore(TABLE, client=client, transaction_limit=4)
    store.apply_releases([make_release("keep", title="Old title")], DUE)
    before = store.get_release("keep")
    assert before is not None
    # ...and a push whose last chunk will fail (the CONFIG commit is made to conflict)
    real = client.transact_write_items
    chunks: list[int] = []

    def flaky(**kwargs: Any) -> Any:
        chunks.append(len(kwargs["TransactItems"]))
        if any(
            a.get("Put", {}).get("Item", {}).get("PK") == {"S": "CONFIG"}
            for a in kwargs["TransactItems"]
        ):
            # another push commits first, every time
            client.put_item(
                TableName=TABLE,
                Item={
                    "PK": {"S": "CONFIG"},
                    "SK": {"S": "CONFIG"},
                    "generation": {"N": str(100 + len(chunks))},
                },
            )
        return real(**kwargs)

    client.transact_write_items = flaky
    with pytest.raises(VersionConflict):
        store.apply_releases(
            [make_release("keep", title="New title")] + [make_release(f"n{i}") for i in range(8)],
            DUE,
        )
    client.transact_write_items = real
    assert len(chunks) == 9  # three attempts of three chunks each
    # Then: nothing of the failed push remains: no new release, the old definition intact
    assert [r.id for r in store.all_releases()] == ["keep"]
    after = store.get_release("keep")
    assert after is not None
    assert after.release.title == "Old title"
    assert after.version == before.version


def test_duplicate_ids_in_a_push_are_refused(store: DynamoDBStore) -> None:
    with pytest.raises(StoreError, match="duplicate"):
        store.apply_releases([make_release("a"), make_release("a")], DUE)
    assert store.all_releases() == []
