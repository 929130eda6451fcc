"""The calendar sync on AWS (moto, in process): GOV.UK announcements in search pages of 1,500
from a loopback server, imported by the sync function's CalendarSync into a DynamoDB table,
then synced again (nothing changes). Prints the wall time on moto (which copies the table for
every transaction: far slower than DynamoDB, and why the default is 500 announcements, not the
3,000 of bench_calendar_sync), the DynamoDB calls by operation (they grow by one transaction
and one BatchGetItem per 100 releases) and the size of the stored last-good-import document.
Printed, never asserted.

Run: .venv/bin/python -m tests.bench.bench_aws_sync   (BENCH_SYNC_COUNT=3000 for more)
"""

from __future__ import annotations

import os
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

COUNT = int(os.environ.get("BENCH_SYNC_COUNT", "500"))
NOW = datetime(2098, 7, 1, 12, 0, tzinfo=UTC)
REGION = "eu-west-2"
TABLE = "releasewatch-bench-sync"
CONFIG = """\
local_mode: true
defaults: {{chain: default}}
contacts:
  team: {{name: Stats team, email: team@example.com}}
chains:
  default:
    - {{after: 5m, notify: [team]}}
calendars:
  - govuk: {{organisations: [intellectual-property-office], base_url: "{base}"}}
releases: []
"""


def main() -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        os.environ.setdefault(name, value)
    from moto import mock_aws

    from releasewatch.aws import pushed_config
    from releasewatch.aws.blobs import Documents
    from releasewatch.aws.calendar_sync import CalendarSync
    from releasewatch.clock import FixedClock
    from releasewatch.config.load import load_config
    from releasewatch.store.dynamodb import DynamoDBStore
    from releasewatch.store.dynamodb_table import create_table, dynamodb_client
    from tests.calendar_support import FakeSearch, result
    from tests.probe_support import loopback_server

    start = datetime(2098, 7, 2, 8, 30, tzinfo=UTC)
    search = FakeSearch(
        [
            result(
                f"stats-{i:04d}", f"Statistics number {i}", (start + timedelta(hours=i)).isoformat()
            )
            for i in range(COUNT)
        ]
    )
    print(f"== AWS calendar sync: {COUNT} GOV.UK announcements, moto DynamoDB ==")
    with loopback_server(search) as server, mock_aws(), tempfile.TemporaryDirectory() as tmp:
        client = dynamodb_client(REGION)
        create_table(client, TABLE)
        calls: Counter[str] = Counter()

        def count(model: Any, **_: Any) -> None:
            calls[model.name] += 1

        client.meta.events.register("before-call.dynamodb.*", count)
        cfg = Path(tmp) / "rw.yaml"
        cfg.write_text(CONFIG.format(base=server.url("").rstrip("/")))
        docs = Documents(client, TABLE)
        pushed_config.save(docs, pushed_config.bundle(cfg, load_config(cfg)), NOW)
        clock = FixedClock(NOW)
        sync = CalendarSync(DynamoDBStore(TABLE, client=client), clock, lambda text: None)
        for label in ("first sync", "second sync"):
            calls.clear()
            began = time.perf_counter()
            summary = sync.run()
            took = time.perf_counter() - began
            ops = ", ".join(f"{k} {v}" for k, v in calls.most_common())
            print(f"  {label}: {took:.1f} s on moto; {summary.get('counts')}; DynamoDB: {ops}")
            clock.set(NOW + timedelta(hours=6))
        head = client.get_item(
            TableName=TABLE, Key={"PK": {"S": "DOC#calendar-imports"}, "SK": {"S": "HEAD"}}
        )["Item"]
        chunks = [
            i
            for i in client.scan(TableName=TABLE)["Items"]
            if i["PK"]["S"] == "DOC#calendar-imports" and i["SK"]["S"].startswith("CHUNK#")
        ]
        packed = sum(len(bytes(c["data"]["B"])) for c in chunks)
        print(
            f"  last good import: {int(head['bytes']['N']) / 2**20:.1f} MiB of JSON kept as "
            f"{packed / 2**10:.0f} KiB compressed in {len(chunks)} item(s) (limit 400 KB each)"
        )


if __name__ == "__main__":
    main()
