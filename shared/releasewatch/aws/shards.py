"""The hot window spread over concurrent poller invocations, on Lambda's own concurrency.

When more releases are due before the next scheduled invocation than one invocation can probe
and judge within the hot interval (`SHARD_SIZE`), the scheduled invocation keeps the first
`SHARD_SIZE` of them and hands each further slice (a shard: a list of release ids, for this
minute) to a new invocation of the same function, asynchronously (InvocationType Event). No
queue of our own: Lambda's asynchronous invocation is the queue, its concurrency the workers.

Why nothing is done twice or lost:
- the slices are disjoint, and the scheduled invocation leaves the ids it handed out alone for
  the rest of its minute, so two invocations never both probe and settle a release that minute;
- Lambda may deliver an asynchronous event twice (and retries a failed one): a shard invocation
  first claims its token (minute + digest of its ids) with a conditional write, and a second
  delivery finds it taken and does nothing; a shard that arrives after its minute is over does
  nothing either (the next scheduled invocation has its releases by then). Lambda retries a
  failed shard a minute or more later: stale by then, or its token taken, it does nothing;
- a shard that is lost (never delivered, or it crashed) leaves its releases due: their stored
  wake_at has come and stays so until a tick settles them, so the next scheduled invocation
  finds them in `due_releases` and probes them. A handed-out release whose notification was
  claimed by a crashed shard is reclaimed when the claim's lease runs out (store/base.py).
- every notification is still claimed (claim, send, mark) before it is sent: whatever goes
  wrong between invocations, none is sent twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

log = logging.getLogger("releasewatch.aws")

EVENT_KEY = "releasewatch_shard"
# A shard's token is kept this long: far beyond any redelivery of its event (Lambda keeps an
# asynchronous event at most MaximumEventAgeInSeconds, 120 s in template.yaml).
TOKEN_LIFETIME = timedelta(days=1)
MAX_IDS = 2000  # a shard event stays far below Lambda's 256 KB asynchronous payload limit


class ShardEventError(ValueError):
    """An invocation event that claims to be a shard but is not one; says which field."""


@dataclass(frozen=True)
class Shard:
    token: str  # the minute and a digest of the ids: the same shard has the same token
    ids: tuple[str, ...]
    horizon: datetime  # the end of the minute the shard is for (its scheduled start + 60 s)

    def event(self) -> dict[str, Any]:
        return {
            EVENT_KEY: {
                "token": self.token,
                "ids": list(self.ids),
                "horizon": self.horizon.isoformat(),
            }
        }

    @classmethod
    def from_event(cls, event: Mapping[str, Any] | None) -> Shard | None:
        """The shard an invocation event carries; None for a scheduled event."""
        if not event or EVENT_KEY not in event:
            return None
        body = event[EVENT_KEY]
        if not isinstance(body, Mapping):
            raise ShardEventError(f"{EVENT_KEY}: expected an object")
        token, ids, horizon = body.get("token"), body.get("ids"), body.get("horizon")
        if not isinstance(token, str) or not 1 <= len(token) <= 200:
            raise ShardEventError(f"{EVENT_KEY}.token: expected a string of 1 to 200 characters")
        if (
            not isinstance(ids, list)
            or not 1 <= len(ids) <= MAX_IDS
            or not all(isinstance(i, str) and i for i in ids)
        ):
            raise ShardEventError(f"{EVENT_KEY}.ids: expected 1 to {MAX_IDS} release ids")
        try:
            when = datetime.fromisoformat(horizon) if isinstance(horizon, str) else None
        except ValueError:
            when = None
        if when is None or when.tzinfo is None:
            raise ShardEventError(f"{EVENT_KEY}.horizon: expected an ISO 8601 time with offset")
        return cls(token, tuple(ids), when)


def plan(ids: Sequence[str], size: int, started: datetime) -> tuple[list[str], list[Shard]]:
    """The ids this invocation keeps, and the shards it hands out (none when all fit)."""
    if size < 1:
        raise ValueError("a shard holds at least one release")
    if len(ids) <= size:
        return list(ids), []
    kept, rest = list(ids[:size]), list(ids[size:])
    horizon = started + timedelta(seconds=60)
    # By the minute: a scheduled invocation delivered twice that minute names its shards alike
    minute = started.strftime("%Y%m%dT%H%M")
    shards = []
    for start in range(0, len(rest), size):
        part = tuple(rest[start : start + size])
        digest = hashlib.sha256("\n".join(part).encode()).hexdigest()[:16]
        shards.append(Shard(f"{minute}-{digest}", part, horizon))
    return kept, shards


class Invoker(Protocol):
    """Starts another invocation of the poller with this event, without waiting for it."""

    def invoke(self, event: Mapping[str, Any]) -> None: ...


class LambdaInvoker:
    """Lambda's Invoke, InvocationType Event: queued by Lambda, run on its own concurrency."""

    def __init__(self, function_name: str, client: Any = None) -> None:
        self.function_name = function_name
        self._client = client

    def invoke(self, event: Mapping[str, Any]) -> None:
        if self._client is None:
            from . import clients

            self._client = clients.client("lambda")
        self._client.invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            Payload=json.dumps(event).encode(),
        )


class ShardClaims(Protocol):
    """Takes a shard's token once: True for the first invocation to ask, False after."""

    def claim(self, token: str, now: datetime) -> bool: ...


class TableShardClaims:
    """Shard tokens as items of the release table (conditional put; TTL removes them)."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def claim(self, token: str, now: datetime) -> bool:
        from botocore.exceptions import ClientError

        from ..store.dynamodb_table import TTL_ATTRIBUTE, error_code

        try:
            self.client.put_item(
                TableName=self.table_name,
                Item={
                    "PK": {"S": f"SHARD#{token}"},
                    "SK": {"S": "SHARD"},
                    TTL_ATTRIBUTE: {"N": str(int((now + TOKEN_LIFETIME).timestamp()))},
                },
                ConditionExpression="attribute_not_exists(PK)",
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise
        return True


class MemoryShardClaims:
    """Shard tokens in this process (a store that is not DynamoDB: tests, one process)."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, token: str, now: datetime) -> bool:
        if token in self._taken:
            return False
        self._taken.add(token)
        return True


def hand_out(shards: Sequence[Shard], invoker: Invoker) -> set[str]:
    """Start an invocation for each shard; returns the ids handed out. A shard that cannot be
    started stays with this invocation (logged): slower, but nothing waits a minute for it."""
    handed: set[str] = set()
    for shard in shards:
        try:
            invoker.invoke(shard.event())
        except Exception as exc:
            log.error(
                "could not start shard %s (%d releases): %s; this invocation keeps them",
                shard.token,
                len(shard.ids),
                type(exc).__name__,
            )
            continue
        handed.update(shard.ids)
    return handed
