"""What the watchdog costs on AWS in a month when nothing is late and nothing is sent: the
fixed cost, read from template.yaml (alarms, custom metrics, memory, tracing, retention) and
from what one tick uses (measured by tests/bench/bench_aws.py; CONSERVATIVE below is what the
cost test assumes instead).

Prices: Europe (London, eu-west-2) list prices in USD. Each says where it comes from (the AWS
pricing page, region eu-west-2) and whether it was checked against that page, and when
(`checked`); the unchecked ones are from the 2025 pages as first read (DynamoDB on-demand after
its November 2024 price cut) and must be compared before a figure is quoted to a budget holder.
The free tier (the always-free allowances: they are per account, shared with everything
else in it) is shown separately, never netted into the list price.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"

PRICES_DATE = "eu-west-2 list prices; see each price's source and when it was checked"
# Issue 9 set $0.60; issue 19 added three alarm metrics ($0.30 at list price, inside the
# 10 free alarm metrics) for failures no handler sees (sync errors and throttles, API
# timeouts) and corrected three London prices upwards.
TARGET_USD = 0.90  # $0.79 without an API cap, $0.89 with one (each alarm metric $0.10)
TICKS_PER_MONTH = 60 * 24 * 30  # rate(1 minute), a 30-day month: 43,200
HOURS_PER_MONTH = 730  # how AWS prorates a metric-month
# The ack-link key is cached for 5 minutes (aws/secure_parameters.py): a warm
# poller re-reads it, one SSM GetParameter and one KMS Decrypt (aws/ssm key), every 5 minutes.
KEY_READS_PER_MONTH = TICKS_PER_MONTH / 5
# The poller reads SNS's SMS spend metric once an hour (aws/sms_spend.py; more often only
# after sending texts, which is not the fixed cost).
SPEND_READS_PER_MONTH = TICKS_PER_MONTH / 60


@dataclass(frozen=True)
class Price:
    usd: float  # list price for `per` units
    per: float
    unit: str
    free: float = 0.0  # monthly always-free allowance, in units
    source: str = ""  # the pricing page it comes from (eu-west-2)
    checked: str = "not checked"  # when it was compared with that page, and by whom

    def cost(self, units: float) -> float:
        return units / self.per * self.usd

    def free_tier_cost(self, units: float) -> float:
        return self.cost(max(0.0, units - self.free))


_CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/"
_ISSUE_19 = "2026-12, eu-west-2 figure given in issue 19"
PRICES = {
    "alarm": Price(0.10, 1, "standard alarm metric-month", 10, _CLOUDWATCH),
    "custom_metric": Price(0.30, 1, "custom metric-month (first 10,000)", 10, _CLOUDWATCH),
    "lambda_request": Price(0.20, 1e6, "requests", 1e6, "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_s": Price(
        0.0000133334, 1, "GB-seconds (arm64)", 400_000, "https://aws.amazon.com/lambda/pricing/"
    ),
    "dynamodb_wru": Price(
        0.7423,
        1e6,
        "write request units (on-demand)",
        0,
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "dynamodb_rru": Price(
        0.1484,
        1e6,
        "read request units (on-demand)",
        0,
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "logs_ingestion": Price(0.5985, 1, "GB ingested", 5, _CLOUDWATCH, _ISSUE_19),
    "logs_storage": Price(0.0315, 1, "GB-month stored", 0, _CLOUDWATCH, _ISSUE_19),
    "scheduler": Price(
        1.15,
        1e6,
        "schedule invocations",
        14e6,
        "https://aws.amazon.com/eventbridge/pricing/ (Scheduler)",
        _ISSUE_19,
    ),
    "kms": Price(0.03, 1e4, "KMS requests", 20_000, "https://aws.amazon.com/kms/pricing/"),
    "cloudwatch_api": Price(0.01, 1000, "GetMetricStatistics requests", 1e6, _CLOUDWATCH),
    "xray": Price(5.00, 1e6, "traces recorded", 100_000, "https://aws.amazon.com/xray/pricing/"),
}


# -- the template --------------------------------------------------------------------------


@dataclass(frozen=True)
class Alarm:
    name: str
    metrics: tuple[tuple[str, str], ...]  # (namespace, metric name) of each metric it reads
    condition: str | None = None


@dataclass
class Inventory:
    """What template.yaml deploys, with the given parameter values (defaults otherwise)."""

    alarms: list[Alarm]
    poller_memory_mb: int
    tracing: str
    log_retention_days: int
    skipped: list[str] = field(default_factory=list)  # conditional alarms not deployed

    @property
    def alarm_metrics(self) -> int:
        return sum(len(a.metrics) for a in self.alarms)

    @property
    def custom_metrics(self) -> set[tuple[str, str]]:
        """The custom metrics the alarms read (AWS's own namespaces are free)."""
        return {m for a in self.alarms for m in a.metrics if not m[0].startswith("AWS/")}


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    from samtranslator.yaml_helper import yaml_parse  # reads !Ref, !Sub, !If...

    template: dict[str, Any] = yaml_parse(path.read_text())
    return template


def resolve(value: Any, template: dict[str, Any], params: dict[str, Any]) -> Any:
    """Ref to a parameter, Fn::If, Fn::Equals, Fn::Not and Condition, as a deploy would."""
    if isinstance(value, dict) and len(value) == 1:
        ((fn, args),) = value.items()
        if fn == "Ref" and args in template.get("Parameters", {}):
            return params.get(args, template["Parameters"][args].get("Default"))
        if fn == "Ref" and args == "AWS::NoValue":
            return None
        if fn == "Fn::Equals":
            left, right = (resolve(a, template, params) for a in args)
            return str(left) == str(right)
        if fn == "Fn::Not":
            return not resolve(args[0], template, params)
        if fn == "Condition":
            return resolve(template["Conditions"][args], template, params)
        if fn == "Fn::If":
            name, yes, no = args
            test = resolve(template["Conditions"][name], template, params)
            return resolve(yes if test else no, template, params)
    return value


def inventory(template: dict[str, Any] | None = None, **params: Any) -> Inventory:
    template = template if template is not None else load_template()
    alarms, skipped = [], []
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        condition = resource.get("Condition")
        if condition and not resolve(template["Conditions"][condition], template, params):
            skipped.append(name)
            continue
        props = resource["Properties"]
        if "Metrics" in props:  # metric math: each metric it reads is billed, not expressions
            metrics = tuple(
                (q["MetricStat"]["Metric"]["Namespace"], q["MetricStat"]["Metric"]["MetricName"])
                for q in props["Metrics"]
                if "MetricStat" in q
            )
        else:
            metrics = ((props["Namespace"], props["MetricName"]),)
        alarms.append(Alarm(name, metrics, condition))
    function = template.get("Globals", {}).get("Function", {})
    poller = template["Resources"]["PollerFunction"]["Properties"]
    memory = resolve(poller.get("MemorySize", function.get("MemorySize", 128)), template, params)
    tracing = resolve(
        poller.get("Tracing", function.get("Tracing", "PassThrough")), template, params
    )
    retention = resolve(
        template["Resources"]["PollerLogGroup"]["Properties"]["RetentionInDays"], template, params
    )
    return Inventory(alarms, int(memory), str(tracing), int(retention), skipped)


# -- one tick ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TickUsage:
    """What one scheduled invocation with nothing to do uses."""

    billed_ms: float  # Lambda bills by the millisecond
    log_bytes: float  # ingested into CloudWatch Logs, Lambda's START/END/REPORT lines included
    wru: float  # DynamoDB write request units
    rru: float  # DynamoDB read request units
    # custom metrics a healthy tick sends; each costs a full metric-month ($0.30)
    continuous_metrics: int = 0
    source: str = "measured"


# Assumed by the cost test, which must not time anything: the bench measures a warm idle tick
# at ~20-70 ms on moto (AWS's round trips are slower) and ~960 log bytes; the test also checks
# that a real idle tick's writes, reads, log bytes and metrics stay within these.
CONSERVATIVE = TickUsage(
    billed_ms=100, log_bytes=1200, wru=1, rru=1, continuous_metrics=0, source="assumed"
)


@dataclass(frozen=True)
class Line:
    item: str
    quantity: str
    list_usd: float
    free_tier_usd: float  # what the same usage costs after the always-free allowances


def fixed_monthly(inv: Inventory, tick: TickUsage) -> list[Line]:
    p = PRICES
    n = TICKS_PER_MONTH
    gb_s = n * tick.billed_ms / 1000 * inv.poller_memory_mb / 1024
    log_gb = n * tick.log_bytes / 1e9
    stored_gb = log_gb * inv.log_retention_days / 30  # steady state, before compression
    traces = n if inv.tracing == "Active" else 0
    custom = tick.continuous_metrics
    lines = [
        Line(
            "CloudWatch alarms",
            f"{inv.alarm_metrics} alarm metrics ({len(inv.alarms)} alarms)",
            p["alarm"].cost(inv.alarm_metrics),
            p["alarm"].free_tier_cost(inv.alarm_metrics),
        ),
        Line(
            "custom metrics sent every tick",
            f"{custom} (of {len(inv.custom_metrics)} that alarms read; the rest only on trouble)",
            p["custom_metric"].cost(custom),
            p["custom_metric"].free_tier_cost(custom),
        ),
        Line(
            "Lambda requests",
            f"{n:,} ticks",
            p["lambda_request"].cost(n),
            p["lambda_request"].free_tier_cost(n),
        ),
        Line(
            "Lambda compute",
            f"{gb_s:,.0f} GB-s ({tick.billed_ms:.0f} ms at {inv.poller_memory_mb} MB, arm64)",
            p["lambda_gb_s"].cost(gb_s),
            p["lambda_gb_s"].free_tier_cost(gb_s),
        ),
        Line(
            "DynamoDB on-demand",
            f"{n * tick.wru:,.0f} WRU + {n * tick.rru:,.0f} RRU",
            p["dynamodb_wru"].cost(n * tick.wru) + p["dynamodb_rru"].cost(n * tick.rru),
            p["dynamodb_wru"].cost(n * tick.wru) + p["dynamodb_rru"].cost(n * tick.rru),
        ),
        Line(
            "CloudWatch Logs ingestion",
            f"{log_gb * 1000:.0f} MB ({tick.log_bytes:.0f} B a tick)",
            p["logs_ingestion"].cost(log_gb),
            p["logs_ingestion"].free_tier_cost(log_gb),
        ),
        Line(
            "CloudWatch Logs storage",
            f"{stored_gb * 1000:.0f} MB kept {inv.log_retention_days} days",
            p["logs_storage"].cost(stored_gb),
            0.0
            if log_gb + stored_gb <= p["logs_ingestion"].free
            else p["logs_storage"].cost(stored_gb),
        ),
        Line(
            "EventBridge Scheduler",
            f"{n:,} invocations",
            p["scheduler"].cost(n),
            p["scheduler"].free_tier_cost(n),
        ),
        Line(
            "KMS (SSM SecureString, aws/ssm key)",
            f"{KEY_READS_PER_MONTH:,.0f} decrypts (key cached 5 min); SSM standard: free",
            p["kms"].cost(KEY_READS_PER_MONTH),
            p["kms"].free_tier_cost(KEY_READS_PER_MONTH),
        ),
        Line(
            "CloudWatch API (SMS spend reads)",
            f"{SPEND_READS_PER_MONTH:,.0f} GetMetricStatistics (hourly)",
            p["cloudwatch_api"].cost(SPEND_READS_PER_MONTH),
            p["cloudwatch_api"].free_tier_cost(SPEND_READS_PER_MONTH),
        ),
        Line(
            "X-Ray traces",
            f"{traces:,} (Tracing={inv.tracing})",
            p["xray"].cost(traces),
            p["xray"].free_tier_cost(traces),
        ),
    ]
    return lines


def total(lines: list[Line]) -> tuple[float, float]:
    return sum(x.list_usd for x in lines), sum(x.free_tier_usd for x in lines)


def table(lines: list[Line]) -> list[str]:
    """The cost table as text lines."""
    out = [f"  {'item':<38} {'list $':>7} {'free tier $':>11}  quantity"]
    for x in lines:
        out.append(f"  {x.item:<38} {x.list_usd:>7.3f} {x.free_tier_usd:>11.3f}  {x.quantity}")
    listed, free = total(lines)
    out.append(
        f"  {'fixed, a month':<38} {listed:>7.2f} {free:>11.2f}  target < ${TARGET_USD:.2f} list"
    )
    return out
