"""AWS benchmarks: handler cold-start import time, and AWS calls / DynamoDB capacity per release
(on time, and 2.5 hours late) counted with botocore event hooks under moto, turned into a
monthly cost estimate.

Run: `make bench` (all benchmarks) or `python -m tests.bench.bench_aws`.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-2"
TABLE = "releasewatch-bench"

# On-demand prices (USD), us-east-1, as published in 2025; London is ~10-20% higher.
PRICE_WRU = 0.625 / 1e6
PRICE_RRU = 0.125 / 1e6
PRICE_LAMBDA_GB_S_ARM = 0.0000133334
PRICE_LAMBDA_REQUEST = 0.20 / 1e6
PRICE_SES_EMAIL = 0.10 / 1000
PRICE_SMS_UK = 0.0405  # SNS transactional SMS to the UK, per message part (varies by carrier)
PRICE_ALARM = 0.10
PRICE_CUSTOM_METRIC = 0.30  # EMF: Heartbeat, Ticks, Checks, NotificationsSent/Failed, ...
CUSTOM_METRICS = 7  # emitted every minute; those sent only on failure cost nothing while idle
# Every alarm in the template; the SMS spend alarm (metric math on one metric) costs the same.
ALARMS = (ROOT / "template.yaml").read_text().count("Type: AWS::CloudWatch::Alarm")
POLLER_GB = 0.5
INVOCATIONS_PER_MONTH = 60 * 24 * 30
BASE_INVOCATION_S = 0.25  # a tick with nothing to probe (measured order of magnitude on moto)
TARGET_MS, CEILING_MS = 300, 400


# -- cold start ---------------------------------------------------------------------------------


def import_time_ms(function: str, runs: int = 7) -> list[float]:
    code = (
        "import time; t = time.perf_counter(); import app; print((time.perf_counter() - t) * 1000)"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "shared"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_DEFAULT_REGION": REGION,
    }
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT / "functions" / function,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


# -- AWS calls per release ----------------------------------------------------------------------


@dataclass
class Usage:
    calls: Counter[str] = field(default_factory=Counter)
    wru: float = 0.0
    rru: float = 0.0
    billed_s: float = 0.0
    invocations: int = 0
    emails: int = 0
    sms: int = 0

    def cost(self) -> float:
        return (
            self.wru * PRICE_WRU
            + self.rru * PRICE_RRU
            + self.billed_s * POLLER_GB * PRICE_LAMBDA_GB_S_ARM
            + self.emails * PRICE_SES_EMAIL
            + self.sms * PRICE_SMS_UK
        )


def _size(value: Any) -> int:
    return len(json.dumps(value, default=str))


def _meter(usage: Usage) -> tuple[Any, Any]:
    """botocore hooks: count every call (provide-client-params sees the API parameters);
    estimate capacity units from item sizes."""

    def before(model: Any, params: dict[str, Any], **_: Any) -> None:
        service = model.service_model.service_name
        usage.calls[f"{service}.{model.name}"] += 1
        if service != "dynamodb":
            if model.name == "SendEmail":
                usage.emails += 1
            elif model.name == "Publish" and "PhoneNumber" in params:
                usage.sms += 1
            return
        if model.name in ("PutItem",):
            usage.wru += math.ceil(_size(params["Item"]) / 1024) * 2  # + a GSI write at most
        elif model.name == "UpdateItem":
            usage.wru += 1
        elif model.name == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                usage.wru += sum(math.ceil(_size(r) / 1024) for r in requests)
        elif model.name == "TransactWriteItems":
            usage.wru += 2 * sum(math.ceil(_size(i) / 1024) for i in params["TransactItems"])

    def after(model: Any, parsed: dict[str, Any], **_: Any) -> None:
        if model.service_model.service_name != "dynamodb":
            return
        if model.name == "GetItem" and "Item" in parsed:
            usage.rru += math.ceil(_size(parsed["Item"]) / 4096)
        elif model.name == "Query":
            usage.rru += max(1, math.ceil(_size(parsed.get("Items", [])) / 4096))
        elif model.name == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                usage.rru += sum(math.ceil(_size(i) / 4096) for i in items)

    return before, after


def simulate(
    live_after: timedelta | None,
    *,
    before_due: timedelta = timedelta(hours=24),
    minutes: int | None = None,
) -> Usage:
    """One release's life on the poller: from `before_due` (default: the 24 h lookahead) to the
    end of watching after it is live, one scheduled invocation a minute (or `minutes` of it)."""
    import boto3
    from moto import mock_aws

    from releasewatch.aws.poller import build_poller
    from releasewatch.aws.settings import PollerSettings
    from releasewatch.clock import FixedClock
    from releasewatch.store.dynamodb import DynamoDBStore, create_table, dynamodb_client
    from tests.factories import DUE, make_release
    from tests.fakes import ScriptedProber

    os.environ.update(
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )
    usage = Usage()
    with mock_aws():
        create_table(dynamodb_client(REGION), TABLE)
        boto3.client("ses", region_name=REGION).verify_email_identity(
            EmailAddress="releasewatch@example.com"
        )
        boto3.setup_default_session()
        before, after = _meter(usage)
        assert boto3.DEFAULT_SESSION is not None
        events = boto3.DEFAULT_SESSION.events
        events.register("provide-client-params", before)
        events.register("after-call", after)
        start = DUE - before_due
        clock = FixedClock(start)
        live_at = None if live_after is None else DUE + live_after
        prober = ScriptedProber(clock, lambda now: live_at is not None and now >= live_at)
        settings = PollerSettings.model_validate(
            {
                "TABLE_NAME": TABLE,
                "SENDER_EMAIL": "releasewatch@example.com",
                "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
            }
        )
        store = DynamoDBStore(TABLE)
        store.apply_releases([make_release()], start)
        poller = build_poller(settings, clock=clock, prober=prober, store=store)
        when = start
        end = (live_at or DUE) + timedelta(minutes=40)
        if minutes is not None:
            end = start + timedelta(minutes=minutes - 1)
        while when <= end:
            clock.set(when)
            deadline = when + timedelta(seconds=60)
            report = poller.run(lambda d=deadline: int((d - clock.now()).total_seconds() * 1000))
            usage.invocations += 1
            usage.billed_s += (
                BASE_INVOCATION_S + max(0, report.ticks - 1) * settings.hot_interval_seconds
            )
            when += timedelta(minutes=1)
        record = store.get_release("lms-2025-07")
        assert record is not None
        assert minutes is not None or not record.active, "the release should have finished"
        events.unregister("provide-client-params", before)
        events.unregister("after-call", after)
    return usage


def first_build_ms(runs: int = 5) -> list[float]:
    """The first invocation's extra work: import the core and compose the poller (no AWS call:
    clients are made lazily)."""
    code = (
        "import time, app; t = time.perf_counter(); app.poller(); "
        "print((time.perf_counter() - t) * 1000)"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "shared"),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_DEFAULT_REGION": REGION,
        "TABLE_NAME": TABLE,
        "SENDER_EMAIL": "releasewatch@example.com",
        "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
    }
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=ROOT / "functions" / "poller",
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


def main() -> None:
    print("== AWS: cold start (import of each handler module, fresh interpreter) ==")
    for function in ("poller", "api"):
        times = import_time_ms(function)
        median = statistics.median(times)
        verdict = (
            "ok"
            if median <= TARGET_MS
            else ("over target" if median <= CEILING_MS else "OVER CEILING")
        )
        print(
            f"  functions/{function}/app.py: median {median:.0f} ms "
            f"(min {min(times):.0f}, max {max(times):.0f}; target {TARGET_MS}) {verdict}"
        )

    build = first_build_ms()
    print(
        f"  poller's first invocation, composing the core: median {statistics.median(build):.0f}"
        " ms (the models, httpx and botocore load here, not at import)"
    )

    print("== AWS: calls and capacity per release (moto, botocore event hooks) ==")
    scenarios = {"on time": timedelta(seconds=20), "2.5 h late": timedelta(hours=2, minutes=30)}
    usages = {}
    for name, live_after in scenarios.items():
        usage = simulate(live_after)
        usages[name] = usage
        top = ", ".join(f"{k} {v}" for k, v in usage.calls.most_common(6))
        print(
            f"  {name}: {sum(usage.calls.values())} calls over {usage.invocations} invocations; "
            f"~{usage.wru:.0f} WRU, ~{usage.rru:.0f} RRU; {usage.emails} emails, {usage.sms} SMS; "
            f"~{usage.billed_s:.0f} s billed at 512 MB; ${usage.cost():.4f}"
        )
        print(f"    top calls: {top}")

    idle = simulate(None, before_due=timedelta(days=7), minutes=60)
    per_minute = sum(idle.calls.values()) / idle.invocations
    print(
        f"  pushed, a week ahead: {per_minute:.1f} calls and ~{idle.wru / idle.invocations:.1f} WRU"
        f" per minute ({', '.join(f'{k} {v}' for k, v in idle.calls.most_common(4))} per hour)"
    )
    idle_month = idle.cost() / 60 * INVOCATIONS_PER_MONTH
    print(f"    = ${idle_month:.3f} a month for each release kept pushed but not yet near")

    fixed = (
        INVOCATIONS_PER_MONTH
        * (PRICE_LAMBDA_REQUEST + BASE_INVOCATION_S * POLLER_GB * PRICE_LAMBDA_GB_S_ARM)
        + ALARMS * PRICE_ALARM
        + CUSTOM_METRICS * PRICE_CUSTOM_METRIC
    )
    print("== AWS: monthly estimate (USD, us-east-1 prices; SMS to UK numbers) ==")
    print(f"  fixed: schedule every minute, alarms, EMF metrics: ${fixed:.2f}")
    for n in (10, 50, 200):
        on_time = n * usages["on time"].cost()
        late = n * usages["2.5 h late"].cost()
        ahead = n * 0.5 * idle_month  # each pushed about two weeks before its 24 h lookahead
        print(
            f"  {n} releases/month: ${fixed + on_time:.2f} if all on time; "
            f"${fixed + 0.9 * on_time + 0.1 * late:.2f} if 1 in 10 is 2.5 h late; "
            f"+${ahead:.2f} if each is pushed two weeks ahead"
        )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
