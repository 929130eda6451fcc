"""The poller's watch on this month's SMS spend (aws/sms_spend.py): a problem at the threshold,
read once an hour and after texts are sent, never more often than that."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from releasewatch.aws.sms_spend import SmsSpendWatch, read_month_to_date_spend

NOW = datetime(2025, 7, 17, 9, 40, tzinfo=UTC)


class Spend:
    """A scripted SMSMonthToDateSpentUSD reading, counting how often it is read."""

    def __init__(self, value: float | None) -> None:
        self.value = value
        self.reads = 0

    def __call__(self, now: datetime) -> float | None:
        self.reads += 1
        return self.value


def test_spend_at_the_threshold_is_a_problem_naming_the_limit_and_the_fix() -> None:
    spend = Spend(0.80)
    problem = SmsSpendWatch(1, 80, read=spend).check(NOW, sent_sms=False)
    assert problem is not None
    assert "$0.80" in problem and "80%" in problem and "$1 SNS spend limit" in problem
    assert "SmsMonthlySpendLimitUSD" in problem
    assert SmsSpendWatch(100, 80, read=Spend(79.99)).check(NOW, sent_sms=False) is None
    # no text sent yet this month: SNS reports nothing, which is fine
    assert SmsSpendWatch(1, 80, read=Spend(None)).check(NOW, sent_sms=False) is None


def test_the_reading_stands_between_checks_so_the_alarm_stays_on() -> None:
    spend = Spend(0.90)
    watch = SmsSpendWatch(1, 80, read=spend)
    minutes = [watch.check(NOW + timedelta(minutes=m), sent_sms=False) for m in range(60)]
    assert all(p is not None for p in minutes)  # a problem every invocation, one read
    assert spend.reads == 1
    spend.value = 0.10  # the limit was raised in the console... and the next hourly read says so
    assert watch.check(NOW + timedelta(minutes=60), sent_sms=False) is None
    assert spend.reads == 2


def test_texts_sent_bring_the_next_read_forward_to_5_minutes() -> None:
    spend = Spend(0.10)
    watch = SmsSpendWatch(1, 80, read=spend)
    watch.check(NOW, sent_sms=False)
    watch.check(NOW + timedelta(minutes=4), sent_sms=True)  # too soon after the last read
    assert spend.reads == 1
    spend.value = 0.85
    assert watch.check(NOW + timedelta(minutes=5), sent_sms=True) is not None
    assert spend.reads == 2


def test_a_spend_that_cannot_be_read_is_a_problem_too() -> None:
    def denied(now: datetime) -> float | None:
        raise PermissionError("AccessDenied: cloudwatch:GetMetricStatistics")

    problem = SmsSpendWatch(1, 80, read=denied).check(NOW, sent_sms=False)
    assert problem is not None and "unreadable" in problem and "AccessDenied" in problem


@pytest.fixture
def cloudwatch(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-2")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-2"
    with mock_aws():
        yield


def test_the_reading_is_sns_month_to_date_spend_from_this_month_only(cloudwatch: None) -> None:
    client = boto3.client("cloudwatch")

    def spent(value: float, at: datetime) -> None:
        client.put_metric_data(
            Namespace="AWS/SNS",
            MetricData=[{"MetricName": "SMSMonthToDateSpentUSD", "Value": value, "Timestamp": at}],
        )

    assert read_month_to_date_spend(NOW) is None  # nothing sent yet
    spent(0.42, NOW - timedelta(minutes=30))
    spent(0.85, NOW - timedelta(minutes=10))
    assert read_month_to_date_spend(NOW) == 0.85
    # last month's total is not this month's: just after midnight on the 1st, nothing yet
    spent(0.99, datetime(2025, 7, 31, 23, 50, tzinfo=UTC))
    assert read_month_to_date_spend(datetime(2025, 8, 1, 0, 30, tzinfo=UTC)) is None
