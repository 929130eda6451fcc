"""The Store on DynamoDB: one table, one partition per release.

Item layout (PK / SK)::

    RELEASE#<id> / META                  the ReleaseRecord (JSON in `record`) plus `version`,
                                         `state`, `due`; `active_pk` only while active (the
                                         sparse `active-index`), `release_pk` always
                                         (`releases-index`, so `all_releases` is a Query too),
                                         `wake_pk` and `wake_at` while active with a wake time
                                         (the sparse `wake-index`, sorted by wake_at: a tick's
                                         `due_releases` reads only the releases due)
    RELEASE#<id> / CHECK#<at>#<seq>      one probe; `expires_at` (epoch seconds) is the TTL
    RELEASE#<id> / EVENTSEQ              the per-release event counter (atomic ADD)
    RELEASE#<id> / EVENT#<n:012d>        one event; n comes from EVENTSEQ, so events read back in
                                         the order they were added, whatever their `at`
    RELEASE#<id> / DELIVERY#<key>        one notification's claim/delivery record;
                                         `awaiting_pk` and `awaiting_at` (its send time) from
                                         a send with a provider's id until its receipt (the
                                         sparse `awaiting-index`: `awaiting_receipt` reads
                                         the sends in flight, not every watched release)
    CONFIG / CONFIG                      the last push: `generation`, `applied_at`, `count`

The indexes project KEYS_ONLY: a tick queries `wake-index` for the keys of the releases due
(wake_at <= now) and then reads those items with a consistent BatchGetItem, so it never acts on
a stale version; updates that do not touch an index's attributes cost no index writes. The
wake-index's partition key is a constant: one partition takes 1,000 writes a second, and a wake
time changes at most once per check (300 releases due in one minute, checked every 10 s, are
30 writes a second).

Delivery keys are `Notification.make_key(...)` keys (optionally with a `>channel` fallback
suffix): they begin with the release id and a `|`, which is how `mark_sent(key)` finds the
partition.

The table itself (created as template.yaml declares it) and its client are in
dynamodb_table.py.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from ..errors import AlreadyClaimed, StoreError, VersionConflict
from .dynamodb_items import (
    ACTIVE_MARK,
    AWAITING_MARK,
    RELEASE_MARK,
    WAKE_MARK,
    Item,
    delivery_from,
    iso_text,
    item_key,
    partition_key,
    record_from,
    record_item,
    release_id_of,
)
from .dynamodb_table import (
    ACTIVE_INDEX,
    AWAITING_INDEX,
    RELEASES_INDEX,
    TTL_ATTRIBUTE,
    WAKE_INDEX,
    dynamodb_client,
    error_code,
)

if TYPE_CHECKING:  # the models load where a record is made or decoded: an idle tick has none
    from ..model import Check, Delivery, DeliveryStatus, Event, Notification, Release, ReleaseRecord

TRANSACTION_LIMIT = 100  # TransactWriteItems' documented maximum number of actions
# ...and its 4 MB aggregate size: releases naming an iCal rota (tens of KB each, compressed)
# are committed in smaller transactions, with a margin for the keys and conditions.
TRANSACTION_BYTES = 3 * 1024 * 1024
_BATCH_GET_LIMIT = 100
_BATCH_WRITE_LIMIT = 25
_CONFIG_KEY: Item = {"PK": {"S": "CONFIG"}, "SK": {"S": "CONFIG"}}
_APPLY_ATTEMPTS = 3


# -- transactions ---------------------------------------------------------------------------


def _chunked(writes: list[_Write], count: int, size: int) -> list[list[_Write]]:
    """Consecutive groups of at most `count` writes and (roughly) `size` bytes of items."""
    chunks: list[list[_Write]] = []
    current: list[_Write] = []
    used = 0
    for write in writes:
        body = next(iter(write.action.values()))
        weight = len(repr(body.get("Item", body.get("Key"))))  # an upper bound of its bytes
        if current and (len(current) >= count or used + weight > size):
            chunks.append(current)
            current, used = [], 0
        current.append(write)
        used += weight
    if current:
        chunks.append(current)
    return chunks


class _Sequence:
    """A sort suffix that cannot collide: wall-clock nanoseconds kept strictly increasing
    within the process, plus random bits for writers in other processes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0

    def next(self) -> str:
        with self._lock:
            self._last = max(self._last + 1, time.time_ns())
            return f"{self._last:020d}-{secrets.token_hex(4)}"


@dataclass
class _Write:
    """One action of an apply, with what undoing it takes."""

    action: Item  # a TransactWriteItems element
    undo: Item | None  # a TransactWriteItems-shaped element that restores the old state


class DynamoDBStore:
    """The Store port on one DynamoDB table (see the module docstring for the layout)."""

    def __init__(
        self,
        table_name: str,
        *,
        client: Any = None,
        check_ttl: timedelta = timedelta(days=30),
        transaction_limit: int = TRANSACTION_LIMIT,
    ) -> None:
        if not 2 <= transaction_limit <= TRANSACTION_LIMIT:
            raise ValueError(f"transaction_limit must be 2..{TRANSACTION_LIMIT}")
        self.table_name = table_name
        self._client = client
        self._client_lock = threading.Lock()
        self.check_ttl = check_ttl
        self._transaction_limit = transaction_limit
        self._seq = _Sequence()

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    self._client = dynamodb_client(
                        region_name=os.environ.get("AWS_REGION")
                        or os.environ.get("AWS_DEFAULT_REGION")
                    )
        return self._client

    @contextmanager
    def _aws(self, what: str) -> Iterator[None]:
        """Turn unexpected service errors into StoreError (retries already happened)."""
        try:
            yield
        except ClientError as exc:
            raise StoreError(f"dynamodb {what} failed: {error_code(exc) or 'error'}") from exc

    # -- releases ---------------------------------------------------------------------------

    def apply_releases(self, releases: Sequence[Release], now: datetime) -> list[str]:
        """All-or-nothing replacement of the release definitions.

        Design: every change (new release: conditional Put; known release: Put conditional on
        the version read; deactivation: Put conditional on the version plus a REMOVED event) is
        one action of a TransactWriteItems, and the last action bumps the CONFIG item's
        `generation` conditionally on the generation read. With up to 100 actions
        (`transaction_limit`) that is a single transaction and truly atomic.

        Beyond 100 actions the actions are split into chunks of at most 100 transactions,
        committed in order with the CONFIG bump in the last one; if a later chunk fails, the
        chunks already committed are undone by compensating writes (restore the old item,
        conditional on the version we wrote). I chose this over "write definitions under a new
        generation and flip one CONFIG item" because that makes every read resolve the current
        generation (an extra read per tick and a second copy of every definition) to cover a
        rare case: a push of more than ~50 releases. The price, stated plainly: while a large
        push is in flight (a second or two) a tick may see part of it, and if the pushing
        process dies between chunks the partial push stays until `push` is run again (it
        converges: applying the same config twice gives the same definitions). A compensation
        that loses to a tick's concurrent update is reported in the raised StoreError.

        A concurrent tick changing a release between our read and our write makes the
        condition fail; the whole apply is then undone and retried (3 attempts) before
        VersionConflict is raised.
        """
        ids = [r.id for r in releases]
        if len(set(ids)) != len(ids):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            raise StoreError(f"duplicate release ids: {', '.join(dupes)}")
        for attempt in range(_APPLY_ATTEMPTS):
            try:
                return self._apply_once(releases, now)
            except VersionConflict:
                if attempt == _APPLY_ATTEMPTS - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _apply_once(self, releases: Sequence[Release], now: datetime) -> list[str]:
        from ..model import Event, EventKind, ReleaseRecord
        from .base import wake_on_apply

        wanted = {r.id: r for r in releases}
        active_ids = set(self._query_index_ids(ACTIVE_INDEX, ACTIVE_MARK))
        stored = self._get_items(sorted(set(wanted) | active_ids))
        with self._aws("get_item"):
            config = self.client.get_item(
                TableName=self.table_name, Key=_CONFIG_KEY, ConsistentRead=True
            ).get("Item")
        generation = int(config["generation"]["N"]) if config else 0

        writes: list[_Write] = []
        for release in releases:
            old_item = stored.get(release.id)
            if old_item is None:
                record = ReleaseRecord(
                    release=release, version=1, updated_at=now, active=True, wake_at=now
                )
                writes.append(
                    _Write(
                        action={"Put": self._put(record_item(record), None)},
                        undo={"Delete": self._delete(record.id, "META", version=1)},
                    )
                )
            else:
                old = record_from(old_item)
                record = old.model_copy(
                    update={
                        "release": release,
                        "version": old.version + 1,
                        "updated_at": now,
                        "active": True,
                        "wake_at": wake_on_apply(old, release, now),
                    }
                )
                writes.append(self._replace(old_item, record, old.version))
        removed = sorted(
            rid for rid, item in stored.items() if rid not in wanted and record_from(item).active
        )
        seqs = {rid: self._reserve_event_seq(rid) for rid in removed}
        for rid in removed:
            old_item = stored[rid]
            old = record_from(old_item)
            record = old.model_copy(
                update={
                    "active": False,
                    "version": old.version + 1,
                    "updated_at": now,
                    "wake_at": None,
                }
            )
            writes.append(self._replace(old_item, record, old.version))
            event_item = self._event_item(
                Event(release_id=rid, at=now, kind=EventKind.REMOVED), seqs[rid]
            )
            writes.append(
                _Write(
                    action={"Put": self._put(event_item, None)},
                    undo={"Delete": self._delete(rid, event_item["SK"]["S"], version=None)},
                )
            )
        writes.append(self._config_write(config, generation, now, len(releases)))
        self._commit(writes)
        return removed

    def _replace(self, old_item: Item, record: ReleaseRecord, old_version: int) -> _Write:
        return _Write(
            action={"Put": self._put(record_item(record), old_version)},
            undo={"Put": self._put(old_item, record.version)},
        )

    def _config_write(
        self, config: Item | None, generation: int, now: datetime, count: int
    ) -> _Write:
        item: Item = {
            **_CONFIG_KEY,
            "generation": {"N": str(generation + 1)},
            "applied_at": {"S": iso_text(now)},
            "count": {"N": str(count)},
        }
        put: Item = {"TableName": self.table_name, "Item": item}
        if config is None:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            put["ConditionExpression"] = "#generation = :generation"
            put["ExpressionAttributeNames"] = {"#generation": "generation"}
            put["ExpressionAttributeValues"] = {":generation": {"N": str(generation)}}
        # The CONFIG bump is the last action of the last chunk: it is the commit point, and
        # its condition makes two concurrent pushes conflict instead of interleaving.
        return _Write(action={"Put": put}, undo=None)

    def _put(self, item: Item, expected_version: int | None) -> Item:
        put: Item = {"TableName": self.table_name, "Item": item}
        if expected_version is None:
            put["ConditionExpression"] = "attribute_not_exists(PK)"
        else:
            put["ConditionExpression"] = "#version = :version"
            put["ExpressionAttributeNames"] = {"#version": "version"}
            put["ExpressionAttributeValues"] = {":version": {"N": str(expected_version)}}
        return put

    def _delete(self, release_id: str, sk: str, *, version: int | None) -> Item:
        delete: Item = {"TableName": self.table_name, "Key": item_key(release_id, sk)}
        if version is not None:
            delete["ConditionExpression"] = "#version = :version"
            delete["ExpressionAttributeNames"] = {"#version": "version"}
            delete["ExpressionAttributeValues"] = {":version": {"N": str(version)}}
        return delete

    def _commit(self, writes: list[_Write]) -> None:
        chunks = _chunked(writes, self._transaction_limit, TRANSACTION_BYTES)
        done: list[_Write] = []
        for chunk in chunks:
            try:
                self.client.transact_write_items(
                    TransactItems=[w.action for w in chunk],
                    # Idempotent if botocore retries a transaction whose response was lost.
                    ClientRequestToken=uuid.uuid4().hex,
                )
            except ClientError as exc:
                lost = self._undo(done)
                if error_code(exc) == "TransactionCanceledException" and self._is_conflict(exc):
                    if lost:
                        raise StoreError(
                            f"push conflicted and could not be fully undone for: {lost}"
                        ) from exc
                    raise VersionConflict("a release changed during the push") from exc
                raise StoreError(
                    f"dynamodb transact_write_items failed: {error_code(exc)}"
                    + (f"; not undone for: {lost}" if lost else "")
                ) from exc
            done.extend(chunk)

    @staticmethod
    def _is_conflict(exc: ClientError) -> bool:
        reasons = exc.response.get("CancellationReasons") or []
        codes = {r.get("Code") for r in reasons}
        return bool(codes & {"ConditionalCheckFailed", "TransactionConflict"})

    def _undo(self, done: list[_Write]) -> list[str]:
        """Compensate committed chunks, newest first; returns the keys that could not be."""
        lost: list[str] = []
        for write in reversed(done):
            if write.undo is None:
                continue
            try:
                if "Put" in write.undo:
                    self.client.put_item(**write.undo["Put"])
                else:
                    self.client.delete_item(**write.undo["Delete"])
            except ClientError:
                body = write.undo.get("Put") or write.undo["Delete"]
                key = body.get("Item") or body["Key"]
                lost.append(f"{key['PK']['S']}/{key['SK']['S']}")
        return lost

    def get_release(self, release_id: str) -> ReleaseRecord | None:
        with self._aws("get_item"):
            item = self.client.get_item(
                TableName=self.table_name, Key=item_key(release_id, "META"), ConsistentRead=True
            ).get("Item")
        return record_from(item) if item else None

    def active_releases(self) -> list[ReleaseRecord]:
        ids = self._query_index_ids(ACTIVE_INDEX, ACTIVE_MARK)
        items = self._get_items(ids)
        # The index is eventually consistent: re-check on the consistently read item.
        records = [record_from(items[i]) for i in ids if i in items]
        return [r for r in records if r.active]

    def due_releases(self, now: datetime) -> list[ReleaseRecord]:
        ids = self._query_index_ids(WAKE_INDEX, WAKE_MARK, until=now)
        items = self._get_items(ids)
        # The index lags the table a little: the consistently read item has the last word.
        records = [record_from(items[i]) for i in ids if i in items]
        return [r for r in records if r.active and r.wake_at is not None and r.wake_at <= now]

    def _wake(self, release_id: str, at: datetime) -> None:
        """Wake an active release at `at` and bump its version (store/base.py): the item's
        attributes only, so a wake costs one small write and never reads the record."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=item_key(release_id, "META"),
                UpdateExpression="SET wake_pk = :mark, wake_at = :at ADD #version :one",
                ConditionExpression="attribute_exists(active_pk)",
                ExpressionAttributeNames={"#version": "version"},
                ExpressionAttributeValues={
                    ":mark": {"S": WAKE_MARK},
                    ":at": {"S": iso_text(at)},
                    ":one": {"N": "1"},
                },
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":  # inactive or gone: no-op
                raise StoreError(f"dynamodb update_item failed: {error_code(exc)}") from exc

    def all_releases(self) -> list[ReleaseRecord]:
        ids = self._query_index_ids(RELEASES_INDEX, RELEASE_MARK)
        items = self._get_items(ids)
        return [record_from(items[i]) for i in ids if i in items]

    def _query_index_ids(
        self, index: str, value: str, *, until: datetime | None = None
    ) -> list[str]:
        attribute = {ACTIVE_INDEX: "active_pk", WAKE_INDEX: "wake_pk"}.get(index, "release_pk")
        ids: list[str] = []
        kwargs: Item = {
            "TableName": self.table_name,
            "IndexName": index,
            "KeyConditionExpression": "#k = :v",
            "ExpressionAttributeNames": {"#k": attribute},
            "ExpressionAttributeValues": {":v": {"S": value}},
        }
        if until is not None:
            kwargs["KeyConditionExpression"] = "#k = :v AND #w <= :until"
            kwargs["ExpressionAttributeNames"]["#w"] = "wake_at"
            kwargs["ExpressionAttributeValues"][":until"] = {"S": iso_text(until)}
        with self._aws("query"):
            while True:
                page = self.client.query(**kwargs)
                for item in page.get("Items", []):
                    pk = item["PK"]["S"]
                    if pk.startswith("RELEASE#") and item["SK"]["S"] == "META":
                        ids.append(pk.removeprefix("RELEASE#"))
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return list(dict.fromkeys(ids))

    def _get_items(self, release_ids: Sequence[str]) -> dict[str, Item]:
        """META items by release id, read consistently."""
        items = self._get_by_keys([item_key(i, "META") for i in release_ids])
        return {item["PK"]["S"].removeprefix("RELEASE#"): item for item in items}

    def _get_by_keys(self, keys: Sequence[Item]) -> list[Item]:
        """Items by key, read consistently (BatchGetItem, 100 keys a call)."""
        found: list[Item] = []
        for start in range(0, len(keys), _BATCH_GET_LIMIT):
            chunk = list(keys[start : start + _BATCH_GET_LIMIT])
            request: Item = {self.table_name: {"Keys": chunk, "ConsistentRead": True}}
            for attempt in range(8):
                with self._aws("batch_get_item"):
                    page = self.client.batch_get_item(RequestItems=request)
                found += page.get("Responses", {}).get(self.table_name, [])
                request = page.get("UnprocessedKeys") or {}
                if not request:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise StoreError("dynamodb batch_get_item left keys unprocessed")
        return found

    def update_release(self, record: ReleaseRecord) -> ReleaseRecord:
        new = record.model_copy(update={"version": record.version + 1})
        try:
            self.client.put_item(
                **self._put(record_item(new), record.version),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise StoreError(f"dynamodb put_item failed: {error_code(exc)}") from exc
            old = exc.response.get("Item")
            if old is None:
                raise KeyError(record.id) from exc
            raise VersionConflict(
                f"release {record.id}: version {record.version}, stored {old['version']['N']}"
            ) from exc
        return new

    # -- history ----------------------------------------------------------------------------

    def record_checks(self, checks: Sequence[Check]) -> None:
        requests = []
        for check in checks:
            expires = int((check.at + self.check_ttl).timestamp())
            item = {
                **item_key(check.release_id, f"CHECK#{iso_text(check.at)}#{self._seq.next()}"),
                "check": {"S": check.model_dump_json()},
                TTL_ATTRIBUTE: {"N": str(expires)},
            }
            requests.append({"PutRequest": {"Item": item}})
        self._batch_write(requests)

    def _batch_write(self, requests: list[Item]) -> None:
        for start in range(0, len(requests), _BATCH_WRITE_LIMIT):
            pending: Item = {self.table_name: requests[start : start + _BATCH_WRITE_LIMIT]}
            for attempt in range(8):
                with self._aws("batch_write_item"):
                    page = self.client.batch_write_item(RequestItems=pending)
                pending = page.get("UnprocessedItems") or {}
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
            else:
                raise StoreError("dynamodb batch_write_item left items unprocessed")

    def checks(self, release_id: str, limit: int | None = None) -> list[Check]:
        from ..model import Check

        if limit is not None and limit <= 0:
            return []
        items = self._query_prefix(release_id, "CHECK#", newest_first=bool(limit), limit=limit)
        found = [Check.model_validate_json(i["check"]["S"]) for i in items]
        if limit:
            found.reverse()
        return found

    def _query_prefix(
        self, release_id: str, prefix: str, *, newest_first: bool = False, limit: int | None = None
    ) -> list[Item]:
        kwargs: Item = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": partition_key(release_id)},
                ":prefix": {"S": prefix},
            },
            "ConsistentRead": True,
            "ScanIndexForward": not newest_first,
        }
        if limit:
            kwargs["Limit"] = limit
        items: list[Item] = []
        with self._aws("query"):
            while True:
                page = self.client.query(**kwargs)
                items.extend(page.get("Items", []))
                if "LastEvaluatedKey" not in page or (limit and len(items) >= limit):
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return items[:limit] if limit else items

    def _reserve_event_seq(self, release_id: str) -> int:
        """The next event number for a release: an atomic counter, so insertion order holds
        across concurrent writers and two events can never share a key."""
        with self._aws("update_item"):
            result = self.client.update_item(
                TableName=self.table_name,
                Key=item_key(release_id, "EVENTSEQ"),
                UpdateExpression="ADD #n :one",
                ExpressionAttributeNames={"#n": "n"},
                ExpressionAttributeValues={":one": {"N": "1"}},
                ReturnValues="UPDATED_NEW",
            )
        return int(result["Attributes"]["n"]["N"])

    @staticmethod
    def _event_item(event: Event, seq: int) -> Item:
        return {
            **item_key(event.release_id, f"EVENT#{seq:012d}"),
            "event": {"S": event.model_dump_json()},
            "at": {"S": iso_text(event.at)},
            "kind": {"S": event.kind.value},
        }

    def add_event(self, event: Event) -> None:
        from .base import WAKING_EVENTS

        item = self._event_item(event, self._reserve_event_seq(event.release_id))
        with self._aws("put_item"):
            self.client.put_item(**self._put(item, None))
        if event.kind in WAKING_EVENTS:  # after the event: a tick that wakes for it reads it
            self._wake(event.release_id, event.at)

    def events(self, release_id: str) -> list[Event]:
        from ..model import Event

        return [
            Event.model_validate_json(i["event"]["S"])
            for i in self._query_prefix(release_id, "EVENT#")
        ]

    # -- deliveries -------------------------------------------------------------------------

    def deliveries(self, release_id: str) -> list[Delivery]:
        return [delivery_from(i) for i in self._query_prefix(release_id, "DELIVERY#")]

    def claim(
        self, notification: Notification, owner: str, now: datetime, lease: timedelta
    ) -> Delivery:
        from ..model import DeliveryStatus

        #  claimed by A        lease_until          (A's send lost?)  B may claim
        #  |-------- live lease: AlreadyClaimed --------|---------------------------> time
        #
        # Conditions under which this worker may claim the notification:
        # never claimed before (no item)
        never_claimed = "attribute_not_exists(PK)"
        # a transient failure left it for a later attempt, and its backoff is over
        left_for_retry = "(#status = :retry AND (attribute_not_exists(#next) OR #next <= :now))"
        # claimed, but the claimant's lease has run out without it being marked
        lease_expired = "(#status = :claimed AND #lease_until <= :now)"
        condition = f"{never_claimed} OR {left_for_retry} OR {lease_expired}"
        try:
            result = self.client.update_item(
                TableName=self.table_name,
                Key=item_key(notification.release_id, f"DELIVERY#{notification.key}"),
                UpdateExpression=(
                    "SET #status = :claimed, #owner = :owner, #lease_until = :lease_until, "
                    "#updated_at = :now, #notification = if_not_exists(#notification, :n) "
                    "ADD #attempts :one REMOVE #next, awaiting_pk, awaiting_at"
                ),
                ConditionExpression=condition,
                ExpressionAttributeNames={
                    "#status": "status",
                    "#owner": "owner",
                    "#lease_until": "lease_until",
                    "#updated_at": "updated_at",
                    "#notification": "notification",
                    "#attempts": "attempts",
                    "#next": "next_attempt_at",
                },
                ExpressionAttributeValues={
                    ":claimed": {"S": DeliveryStatus.CLAIMED.value},
                    ":retry": {"S": DeliveryStatus.RETRY.value},
                    ":owner": {"S": owner},
                    ":now": {"S": iso_text(now)},
                    ":lease_until": {"S": iso_text(now + lease)},
                    ":n": {"S": notification.model_dump_json()},
                    ":one": {"N": "1"},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                old = exc.response.get("Item") or {}
                status = old.get("status", {}).get("S", "held")
                raise AlreadyClaimed(f"{notification.key} is {status}") from exc
            raise StoreError(f"dynamodb claim failed: {error_code(exc)}") from exc
        return delivery_from(result["Attributes"])

    def mark_sent(self, key: str, owner: str, now: datetime, provider_id: str | None) -> None:
        from ..model import DeliveryStatus

        names = {"#status": "status", "#owner": "owner", "#sent_at": "sent_at"}
        values: Item = {
            ":sent": {"S": DeliveryStatus.SENT.value},
            ":owner": {"S": owner},
            ":now": {"S": iso_text(now)},
        }
        update = "SET #status = :sent, #owner = :owner, #sent_at = :now, updated_at = :now"
        # A new send awaits its own receipt: an earlier attempt's is dropped. One with a
        # provider's id is in the sparse awaiting-index until its receipt (awaiting_receipt).
        if provider_id is not None:
            update += ", provider_id = :pid, awaiting_pk = :awaiting, awaiting_at = :now"
            values[":pid"] = {"S": provider_id}
            values[":awaiting"] = {"S": AWAITING_MARK}
            remove = " REMOVE lease_until, receipt, delivered_at"
        else:
            remove = (
                " REMOVE lease_until, provider_id, receipt, delivered_at, awaiting_pk, awaiting_at"
            )
        # Recorded whoever holds the lease now: the message went out, the record must say so.
        self._update_delivery(key, update + remove, names, values, "attribute_exists(PK)")

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
        from ..model import DeliveryStatus

        status = DeliveryStatus.FAILED if permanent else DeliveryStatus.RETRY
        values: Item = {
            ":status": {"S": status.value},
            ":owner": {"S": owner},
            ":error": {"S": error},
            ":now": {"S": iso_text(now)},
            ":claimed": {"S": DeliveryStatus.CLAIMED.value},
        }
        update = "SET #status = :status, #owner = :owner, #error = :error, updated_at = :now"
        if retry_at is not None and not permanent:
            update += ", next_attempt_at = :next REMOVE lease_until"
            values[":next"] = {"S": iso_text(retry_at)}
        else:
            update += " REMOVE lease_until, next_attempt_at"
        self._update_delivery(
            key,
            update,
            {"#status": "status", "#owner": "owner", "#error": "error"},
            values,
            # Only the caller's own claim: a worker whose lease lapsed must not reopen a
            # delivery another worker has reclaimed and is sending.
            "attribute_exists(PK) AND #status = :claimed AND #owner = :owner",
        )

    def cancel(self, key: str, now: datetime, reason: str) -> None:
        from ..model import DeliveryStatus

        try:
            self._update_delivery(
                key,
                "SET #status = :cancelled, #error = :error, updated_at = :now "
                "REMOVE lease_until, next_attempt_at",
                {"#status": "status", "#error": "error"},
                {
                    ":cancelled": {"S": DeliveryStatus.CANCELLED.value},
                    ":error": {"S": reason},
                    ":now": {"S": iso_text(now)},
                    ":sent": {"S": DeliveryStatus.SENT.value},
                },
                "attribute_exists(PK) AND #status <> :sent",
            )
        except KeyError:
            return  # nothing claimed yet: nothing to cancel

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
        from ..model import DeliveryStatus

        names: Item = {"#status": "status", "#pid": "provider_id", "#receipt": "receipt"}
        values: Item = {
            ":sent": {"S": DeliveryStatus.SENT.value},
            ":pid": {"S": provider_id},
            ":receipt": {"S": receipt},
            ":at": {"S": iso_text(at)},
        }
        sets = ["#receipt = :receipt", "updated_at = :at"]
        removes: list[str] = []
        if receipt == "delivered" or status is not None:  # answered: no longer awaited
            removes += ["awaiting_pk", "awaiting_at"]
        if receipt == "delivered":
            sets.append("delivered_at = :at")
        if status is not None:
            sets.append("#status = :status")
            values[":status"] = {"S": status.value}
            names["#error"] = "error"
            if error is not None:
                sets.append("#error = :error")
                values[":error"] = {"S": error}
            else:
                removes.append("#error")
            if status == DeliveryStatus.RETRY and retry_at is not None:
                sets.append("next_attempt_at = :next")
                values[":next"] = {"S": iso_text(retry_at)}
            else:
                removes.append("next_attempt_at")
        update = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        # Only the send the receipt is for: a receipt for an earlier attempt, or one arriving
        # after the delivery already failed, changes nothing.
        condition = "attribute_exists(PK) AND #status = :sent AND #pid = :pid"
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=item_key(release_id_of(key), f"DELIVERY#{key}"),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise StoreError(f"dynamodb update_item failed: {error_code(exc)}") from exc
        self._wake(release_id_of(key), at)
        return True

    def awaiting_receipt(self, sent_from: datetime, sent_until: datetime) -> list[Delivery]:
        from .base import awaits_receipt  # with the models: not at import (cold start)

        keys: list[Item] = []
        kwargs: Item = {
            "TableName": self.table_name,
            "IndexName": AWAITING_INDEX,
            "KeyConditionExpression": "awaiting_pk = :v AND awaiting_at BETWEEN :from AND :until",
            "ExpressionAttributeValues": {
                ":v": {"S": AWAITING_MARK},
                ":from": {"S": iso_text(sent_from)},
                ":until": {"S": iso_text(sent_until)},
            },
        }
        with self._aws("query"):
            while True:
                page = self.client.query(**kwargs)
                keys += [{"PK": i["PK"], "SK": i["SK"]} for i in page.get("Items", [])]
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        # The index lags the table a little: the consistently read item has the last word.
        found = [delivery_from(item) for item in self._get_by_keys(keys)]
        return sorted(
            (d for d in found if awaits_receipt(d, sent_from, sent_until)),
            key=lambda d: (d.sent_at or sent_from, d.key),
        )

    def _update_delivery(
        self, key: str, update: str, names: Item, values: Item, condition: str
    ) -> None:
        """Update a delivery; a missing one raises KeyError, a SENT one is left alone."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=item_key(release_id_of(key), f"DELIVERY#{key}"),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise StoreError(f"dynamodb update_item failed: {error_code(exc)}") from exc
            if not exc.response.get("Item"):
                raise KeyError(key) from exc
            # The condition failed on an existing item (SENT, or not ours): leave it alone.
