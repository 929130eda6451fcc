"""This month's SMS spend against the account's SNS spend limit, watched by the poller.

SNS stops sending texts at the limit, so operators must hear before it. SNS publishes the spend
as a free metric (AWS/SNS SMSMonthToDateSpentUSD); a CloudWatch alarm on it would cost $0.10 a
month, a sixth of the watchdog's budget. The poller reads it instead (GetMetricStatistics,
$0.01 per 1,000 requests, inside the free million) once an hour, and again after an invocation
that sent a text (at most every 5 minutes, since that is when it grows), and adds a problem to
the Problems metric on every invocation while the last reading is at or over the threshold.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

log = logging.getLogger("releasewatch.aws")

RECHECK_EVERY = timedelta(hours=1)
RECHECK_AFTER_SMS = timedelta(minutes=5)


class SmsSpendWatch:
    def __init__(
        self,
        limit_usd: float,
        alarm_percent: float,
        read: Callable[[datetime], float | None] | None = None,
    ) -> None:
        self.limit_usd = limit_usd
        self.alarm_percent = alarm_percent
        self._read = read or read_month_to_date_spend
        self._checked_at: datetime | None = None
        self._problem: str | None = None

    def check(self, now: datetime, *, sent_sms: bool) -> str | None:
        """None while the spend is under the threshold; else why it is a problem. Reads the
        metric only when a re-check is due; in between, the last reading stands."""
        last = self._checked_at
        due = (
            last is None
            or now - last >= RECHECK_EVERY
            or (sent_sms and now - last >= RECHECK_AFTER_SMS)
        )
        if not due:
            return self._problem
        self._checked_at = now
        try:
            spent = self._read(now)
        except Exception as exc:  # cannot see the spend: say so, like any blind spot
            self._problem = f"SMS spend unreadable: {type(exc).__name__}: {exc}"[:300]
            log.error("%s", self._problem)
            return self._problem
        threshold = self.limit_usd * self.alarm_percent / 100
        if spent is None or spent < threshold:
            self._problem = None
        else:
            share = 100 * spent / self.limit_usd
            self._problem = (
                f"SMS spend this month is ${spent:.2f}, {share:.0f}% of the ${self.limit_usd:g} "
                "SNS spend limit: raise the limit (SNS > Text messaging) and the "
                "SmsMonthlySpendLimitUSD parameter"
            )
            log.error("%s", self._problem)
        return self._problem


def read_month_to_date_spend(now: datetime) -> float | None:
    """The highest SMSMonthToDateSpentUSD SNS reported this month (in the last day at most:
    it only grows within a month); None when it reported none (no text sent yet)."""
    from . import clients

    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = max(month, now - timedelta(days=1))
    if now - start < timedelta(minutes=1):
        return None
    answer = clients.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/SNS",
        MetricName="SMSMonthToDateSpentUSD",
        StartTime=start,
        EndTime=now,
        Period=86400,
        Statistics=["Maximum"],
    )
    points = [float(p["Maximum"]) for p in answer.get("Datapoints", [])]
    return max(points, default=None)
