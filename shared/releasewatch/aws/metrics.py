"""The watchdog's one custom CloudWatch metric, and why there is only one.

A custom metric costs $0.30 a month for every hour-slice it has data in (prorated by the hour),
an alarm $0.10 per metric it reads. So the functions send nothing while all is well, and every
condition an operator must hear about is added into one dimension-free count, `Problems`
(namespace from POWERTOOLS_METRICS_NAMESPACE, plus Powertools' own `service` dimension), which
one alarm watches (ProblemsAlarm in template.yaml). The rest comes from AWS's free metrics:
Lambda Invocations/Errors/Throttles, SQS and SNS. The "poll finished" log line keeps the
detail (ticks, checks, sent, failed...) for Logs Insights.
"""

from __future__ import annotations

from typing import Protocol

PROBLEMS = "Problems"

# Powertools warns on every flush without a metric: a healthy invocation has none on purpose.
EMPTY_FLUSH_WARNING = "No application metrics to publish"


class _Metrics(Protocol):
    def add_metric(self, name: str, unit: str, value: float) -> None: ...


def count_problems(metrics: _Metrics, count: int) -> None:
    """Add `count` to Problems; nothing at all when it is 0 (no data costs nothing)."""
    if count > 0:
        metrics.add_metric(name=PROBLEMS, unit="Count", value=count)
