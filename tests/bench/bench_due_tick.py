"""A tick costs what is due, not what is watched (issue 21): thousands of releases watched, none
of them due for two days.

Local (SQLite, as `releasewatch run --once` ticks): each size in a fresh interpreter that opens
the store file, builds the watchdog and runs one tick; prints its wall time and the process's
peak memory, and for comparison the same tick reading every active release (as before wake
times). DynamoDB (moto): one scheduled poller invocation (aws/poller.py: its first tick and its
hot-window look-ahead), metered call by call (items read, read request units estimated from
item sizes as DynamoDB bills them), with the monthly cost that implies at list price
(tools/aws_cost.py), against the same invocation reading every active release.
Figures, not assertions: the target for 3,000 watched is a local tick under 0.5 s.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from tools.aws_cost import PRICES, TICKS_PER_MONTH  # noqa: E402

SIZES = (3_000, 10_000)
AHEAD = timedelta(days=2)  # every release is due this far after the tick
TARGET_S = 0.5
REGION = "eu-west-2"
TABLE = "releasewatch-bench-due"
DYNAMODB_SIZE = 3_000


def _releases(n: int, now: datetime) -> list[Any]:
    from tests.factories import make_release

    # Spread over a working morning two days on, as a calendar would put them.
    return [
        make_release(id=f"r{i:05d}", due=now + AHEAD + timedelta(minutes=i % 180)) for i in range(n)
    ]


class EveryActive:
    """The tick as it was before wake times: every active release, every tick."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def due_releases(self, now: datetime) -> list[Any]:
        return list(self._store.active_releases())


# -- local: SQLite, as run --once ------------------------------------------------------------


def prepare(path: Path, n: int, now: datetime) -> float:
    """Import n releases and run the tick that first schedules them (each gets its wake time);
    returns that first tick's seconds."""
    import asyncio

    from releasewatch.service import Watchdog
    from releasewatch.store.sqlite import SQLiteStore
    from tests.fakes import FixedClock, ScriptedProber

    clock = FixedClock(now)
    with SQLiteStore(path) as store:
        store.apply_releases(_releases(n, now), now)
        dog = Watchdog(store, ScriptedProber(clock, lambda at: False), {}, clock, owner="bench")
        started = time.perf_counter()
        asyncio.run(dog.tick())
        return time.perf_counter() - started


def one_tick(path: str, at: str, every: bool) -> None:
    """In a fresh interpreter: open the store, build the watchdog, one tick; prints JSON."""
    import asyncio

    from releasewatch.service import Watchdog
    from releasewatch.store.sqlite import SQLiteStore
    from tests.fakes import FixedClock, ScriptedProber

    started = time.perf_counter()
    clock = FixedClock(datetime.fromisoformat(at))
    store = SQLiteStore(Path(path))
    dog = Watchdog(
        EveryActive(store) if every else store,  # type: ignore[arg-type]
        ScriptedProber(clock, lambda now: False),
        {},
        clock,
        owner="bench",
    )
    ticked = time.perf_counter()
    report = asyncio.run(dog.tick())
    done = time.perf_counter()
    store.close()
    print(
        json.dumps(
            {
                "tick_s": done - ticked,
                "with_open_s": done - started,  # the store opened and the watchdog built
                "releases": report.releases,
                "max_rss_mb": _peak_rss_mb(),
            }
        )
    )


def _peak_rss_mb() -> float:
    """This process's peak resident memory since exec (VmHWM; getrusage's ru_maxrss would
    carry the parent's peak over fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_one_tick(path: Path, at: datetime, *, every: bool) -> dict[str, float]:
    code = (
        "from tests.bench.bench_due_tick import one_tick; "
        f"one_tick({str(path)!r}, {at.isoformat()!r}, {every!r})"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def local() -> None:
    from tests.factories import DUE

    now = DUE - AHEAD - timedelta(days=1)
    print("local (SQLite), one tick as `run --once`, no release due for 2 days:")
    print(f"  {'watched':>8} {'tick s':>8} {'+open s':>9} {'read':>5} {'peak MB':>8}  before:")
    for n in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "releasewatch.db"
            first = prepare(path, n, now)
            later = now + timedelta(minutes=5)
            new = run_one_tick(path, later, every=False)
            old = run_one_tick(path, later, every=True) if n <= SIZES[0] else None
        verdict = "under" if new["tick_s"] < TARGET_S else "OVER"
        before = (
            f"every active release read: {old['tick_s']:.2f} s, {old['max_rss_mb']:.0f} MB"
            if old
            else "(every release read: not run at this size, it takes many seconds)"
        )
        print(
            f"  {n:>8,} {new['tick_s']:>8.3f} {new['with_open_s']:>9.3f} "
            f"{new['releases']:>5.0f} {new['max_rss_mb']:>8.0f}  {before}"
        )
        print(
            f"  {'':>8} {verdict} the {TARGET_S} s target; the import's first tick (each "
            f"release scheduled once) took {first:.1f} s"
        )


# -- DynamoDB (moto): what one scheduled invocation reads ------------------------------------


def _meter(counts: Counter[str], usage: dict[str, float]) -> tuple[Any, Any]:
    """botocore hooks: items read and read request units (an index Query is eventually
    consistent, half a unit per 4 KB of what it returns; a consistent BatchGetItem a unit per
    item per 4 KB)."""
    strong = [True]

    def size(value: Any) -> int:
        return len(json.dumps(value, default=str))

    def before(model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.service_model.service_name != "dynamodb":
            return
        counts[model.name] += 1
        if model.name == "Query":
            strong[0] = bool(params.get("ConsistentRead")) and "IndexName" not in params
        elif model.name == "BatchGetItem":
            strong[0] = all(r.get("ConsistentRead") for r in params["RequestItems"].values())
        elif model.name == "GetItem":
            strong[0] = bool(params.get("ConsistentRead"))

    def after(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.service_model.service_name != "dynamodb":
            return
        factor = 1.0 if strong[0] else 0.5
        if model.name == "Query":
            items = parsed.get("Items", [])
            usage["items"] += len(items)
            usage["rru"] += factor * max(1, math.ceil(size(items) / 4096))
        elif model.name == "GetItem":
            usage["items"] += 1 if "Item" in parsed else 0
            usage["rru"] += factor * max(1, math.ceil(size(parsed.get("Item", {})) / 4096))
        elif model.name == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                usage["items"] += len(items)
                usage["rru"] += factor * sum(max(1, math.ceil(size(i) / 4096)) for i in items)

    return before, after


def scheduled_records(n: int, now: datetime) -> list[Any]:
    """n releases as the import's first tick leaves them (each scheduled, with its next check
    and wake time): ticked once on the in-memory store, which is quick."""
    import asyncio

    from releasewatch.service import Watchdog
    from releasewatch.store.memory import InMemoryStore
    from tests.fakes import FixedClock, ScriptedProber

    clock = FixedClock(now)
    store = InMemoryStore()
    store.apply_releases(_releases(n, now), now)
    asyncio.run(Watchdog(store, ScriptedProber(clock, lambda at: False), {}, clock).tick())
    return sorted(store.active_releases(), key=lambda r: r.id)


def invocation(records: list[Any], at: datetime, *, every: bool) -> tuple[dict[str, float], str]:
    """One scheduled poller invocation on a fresh moto table holding `records`: (items read,
    read units, seconds), and the DynamoDB calls it made."""
    from moto import mock_aws

    from releasewatch.aws.poller import build_poller
    from releasewatch.aws.settings import PollerSettings
    from releasewatch.store.dynamodb import DynamoDBStore
    from releasewatch.store.dynamodb_items import record_item
    from releasewatch.store.dynamodb_table import create_table, dynamodb_client
    from tests.fakes import FixedClock, RecordingNotifier, ScriptedProber

    with mock_aws():
        client = dynamodb_client(REGION)
        create_table(client, TABLE)
        items = [{"PutRequest": {"Item": record_item(r)}} for r in records]
        for start in range(0, len(items), 25):
            client.batch_write_item(RequestItems={TABLE: items[start : start + 25]})
        settings = PollerSettings.from_env(
            {
                "TABLE_NAME": TABLE,
                "SENDER_EMAIL": "releasewatch@example.com",
                "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
            }
        )
        clock = FixedClock(at)
        table = DynamoDBStore(TABLE, client=client)
        poller = build_poller(
            settings,
            clock=clock,
            store=EveryActive(table) if every else table,  # type: ignore[arg-type]
            notifiers={"email": RecordingNotifier()},
            prober=ScriptedProber(clock, lambda now: False),
        )
        counts: Counter[str] = Counter()
        usage = {"items": 0.0, "rru": 0.0, "seconds": 0.0}
        before, after = _meter(counts, usage)
        client.meta.events.register("provide-client-params", before)
        client.meta.events.register("after-call", after)
        started = time.perf_counter()
        poller.run(lambda: 55_000)
        usage["seconds"] = time.perf_counter() - started
    return usage, ", ".join(f"{n:,} {name}" for name, n in sorted(counts.items()))


def dynamodb() -> None:
    from tests.factories import DUE

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )
    now = DUE - AHEAD - timedelta(days=1)
    records = scheduled_records(DYNAMODB_SIZE, now)
    price = PRICES["dynamodb_rru"].usd / PRICES["dynamodb_rru"].per
    later = now + timedelta(minutes=5)
    print(
        f"DynamoDB (moto), one scheduled poller invocation, {DYNAMODB_SIZE:,} watched, none due"
        f" (read units at ${PRICES['dynamodb_rru'].usd} a million, {TICKS_PER_MONTH:,} a month):"
    )
    new, calls = invocation(records, later, every=False)
    # Reading every release costs the same per release: measured on a fifth, scaled up.
    fifth = DYNAMODB_SIZE // 5
    old, old_calls = invocation(records[:fifth], later, every=True)
    for label, usage, scale, made in (
        ("due only (wake-index)", new, 1, calls),
        (f"every active (before; {fifth:,} x 5)", old, 5, old_calls),
    ):
        rru = usage["rru"] * scale
        month = rru * TICKS_PER_MONTH * price
        print(
            f"  {label:<32} {usage['items'] * scale:>7,.0f} items read, {rru:>8,.1f} RRU a tick"
            f" -> ${month:,.2f} a month; {usage['seconds']:.2f} s on moto ({made or 'no calls'})"
        )


def main() -> None:
    local()
    dynamodb()


if __name__ == "__main__":
    main()
