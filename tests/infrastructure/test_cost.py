"""The fixed cost stays under issue 9's budget ($0.60 a month at eu-west-2 list price): the
alarms and custom metrics are read from template.yaml and the code, so adding an alarm or a
metric that breaks the budget fails here (tools/aws_cost.py; `make bench` prints the table)."""

from __future__ import annotations

import re
from pathlib import Path

from releasewatch.aws.metrics import PROBLEMS
from tools.aws_cost import (
    CONSERVATIVE,
    PRICES,
    TARGET_USD,
    fixed_monthly,
    inventory,
    load_template,
    total,
)

ROOT = Path(__file__).resolve().parents[2]
# $0.70 of the target, with the optional ApiThrottles alarm: issue 19 added three (sync errors
# and throttles, API errors) for what no handler sees
ALARM_METRICS_BUDGET = 7
CUSTOM_METRICS_BUDGET = 1


def test_the_stack_costs_under_the_target_at_list_price_with_or_without_an_api_cap() -> None:
    for params in ({}, {"ApiReservedConcurrency": "5"}):
        listed, free = total(fixed_monthly(inventory(**params), CONSERVATIVE))
        assert listed < TARGET_USD, f"${listed:.3f} a month at list price with {params}"
        assert free < listed  # the free tier is shown apart, never netted into the list price


def test_the_alarm_and_custom_metric_counts_stay_within_what_the_budget_allows() -> None:
    inv = inventory()
    capped = inventory(ApiReservedConcurrency="5")
    assert capped.alarm_metrics <= ALARM_METRICS_BUDGET, [a.name for a in capped.alarms]
    assert len(capped.custom_metrics) <= CUSTOM_METRICS_BUDGET, capped.custom_metrics
    assert inv.custom_metrics == {("Releasewatch", PROBLEMS)}
    # the optional alarm is created only with a cap, and priced then
    assert inv.skipped == ["ApiThrottlesAlarm"]
    assert capped.alarm_metrics == inv.alarm_metrics + 1
    extra = (
        total(fixed_monthly(capped, CONSERVATIVE))[0] - total(fixed_monthly(inv, CONSERVATIVE))[0]
    )
    assert round(extra, 6) == PRICES["alarm"].usd


def test_metric_math_alarms_are_priced_per_metric_they_read() -> None:
    # CloudWatch bills an alarm per metric it reads, expressions aside
    template = load_template()
    template["Resources"] = {
        "Ratio": {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "Metrics": [
                    {
                        "Id": "e",
                        "MetricStat": {
                            "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Errors"}
                        },
                    },
                    {
                        "Id": "i",
                        "MetricStat": {
                            "Metric": {"Namespace": "AWS/Lambda", "MetricName": "Invocations"}
                        },
                    },
                    {"Id": "r", "Expression": "e / i"},
                ]
            },
        },
        **{k: v for k, v in template["Resources"].items() if v["Type"] != "AWS::CloudWatch::Alarm"},
    }
    assert inventory(template).alarm_metrics == 2


def test_tracing_would_break_the_budget_so_it_is_off_by_default() -> None:
    assert inventory().tracing == "Disabled"
    assert total(fixed_monthly(inventory(Tracing="Active"), CONSERVATIVE))[0] > TARGET_USD


def test_the_code_sends_no_custom_metric_an_alarm_does_not_read() -> None:
    # add_metric is called in one place (releasewatch/aws/metrics.py: Problems, only above 0);
    # no handler writes EMF or calls PutMetricData itself
    sources = [*ROOT.joinpath("functions").rglob("*.py"), *ROOT.joinpath("shared").rglob("*.py")]
    callers = {
        str(path.relative_to(ROOT))
        for path in sources
        if re.search(r"\.add_metric\(|single_metric|put_metric_data|\"_aws\"", path.read_text())
    }
    assert callers == {"shared/releasewatch/aws/metrics.py"}
    for function in ("poller", "api"):
        text = ROOT.joinpath("functions", function, "app.py").read_text()
        assert "capture_cold_start_metric" not in text  # a second metric, with no alarm


def test_a_real_idle_tick_stays_within_what_the_cost_test_assumes() -> None:
    # the built-from-source poller handler against moto server: one write (the /health
    # marker), index queries, one log line and no metric; timing is the bench's business
    from tests.bench.bench_aws import measure_idle_tick

    tick, calls, logged = measure_idle_tick(runs=3)
    assert tick.wru <= CONSERVATIVE.wru and tick.rru <= CONSERVATIVE.rru, calls
    assert tick.log_bytes <= CONSERVATIVE.log_bytes, logged
    assert tick.continuous_metrics == CONSERVATIVE.continuous_metrics == 0


def test_every_price_says_where_it_comes_from_and_the_london_corrections_hold() -> None:
    for name, price in PRICES.items():
        assert price.source.startswith("https://aws.amazon.com/"), name
        assert price.checked, name
    # issue 19: eu-west-2's CloudWatch Logs and EventBridge Scheduler prices
    assert PRICES["logs_ingestion"].usd == 0.5985
    assert PRICES["logs_storage"].usd == 0.0315
    assert PRICES["scheduler"].usd / PRICES["scheduler"].per * 1e6 == 1.15
    assert PRICES["logs_ingestion"].checked != "not checked"
