"""The poller's last completed invocation, kept in the table so the API's /health can say how
old it is (an external uptime check then watches the watchdog without CloudWatch access).

One item, `POLLER / HEARTBEAT`, overwritten once per invocation: one write a minute. It carries
no `active_pk` or `release_pk`, so it is in neither index and no release query sees it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

# /health fails when the last tick is older than this: three missed schedule minutes.
STALE_AFTER = timedelta(minutes=3)

_KEY: dict[str, Any] = {"PK": {"S": "POLLER"}, "SK": {"S": "HEARTBEAT"}}


class TickMarker:
    """Write and read the last tick's time (UTC, ISO 8601) on a DynamoDB table."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def record(self, at: datetime) -> None:
        item = _KEY | {"at": {"S": at.isoformat()}}
        self.client.put_item(TableName=self.table_name, Item=item)

    def last(self) -> datetime | None:
        item = self.client.get_item(TableName=self.table_name, Key=_KEY).get("Item")
        return datetime.fromisoformat(item["at"]["S"]) if item else None


def health(last: datetime | None, now: datetime) -> tuple[bool, dict[str, Any]]:
    """Is the poller ticking? (ok, JSON body) for /health: the age in whole seconds."""
    if last is None:
        return False, {"status": "failing", "reason": "no poller tick recorded yet"}
    age = max(0, int((now - last).total_seconds()))
    body: dict[str, Any] = {"last_tick": last.isoformat(), "last_tick_age_seconds": age}
    if now - last > STALE_AFTER:
        limit = int(STALE_AFTER.total_seconds())
        reason = f"the poller has not ticked for {age} s (more than {limit} s)"
        return False, {"status": "failing", "reason": reason} | body
    return True, {"status": "ok"} | body
