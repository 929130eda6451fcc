"""Poller Lambda: invoked every minute by the schedule; ticks, re-polls the hot window, reports.

The Watchdog (DynamoDB, SES, SNS, HTTP prober) is built once per container, on the first
invocation; the environment is validated then (PollerSettings names any missing variable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from releasewatch.aws.lazy import Lazy

if TYPE_CHECKING:
    from releasewatch.aws.poller import InvocationReport, Poller

logger = Logger()
metrics = Metrics()
# No Powertools Tracer: constructing it loads the X-Ray SDK, about 0.5 s of every cold start
# (measured by tests/bench/bench_aws.py), which would blow the 300 ms import budget. The
# template keeps `Tracing: Active`, so Lambda still records each invocation in X-Ray.


def _build() -> Poller:
    # Imported here, not at module level: the models, httpx and boto3 clients load during the
    # first invocation's build, keeping the module import (the cold start measure) small.
    from releasewatch.aws.poller import build_poller
    from releasewatch.aws.settings import PollerSettings

    return build_poller(PollerSettings.from_env())


poller: Lazy[Poller] = Lazy(_build)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        report = poller().run(context.get_remaining_time_in_millis)
    except Exception as exc:
        # The tick failed as a whole (DynamoDB unreachable or throttled, a bug): counted, and
        # logged here with its reason; re-raised so the invocation fails (Errors alarm, retry,
        # the failed-ticks queue) and no heartbeat is sent.
        from releasewatch.store.health import explain
        from releasewatch.web.pages import scrub

        metrics.add_metric(name="TickFailures", unit=MetricUnit.Count, value=1)
        logger.error("poll failed", extra={"reason": scrub(explain(exc))[:500]})
        raise
    return record(report)


def record(report: InvocationReport) -> dict[str, Any]:
    """Metrics and one log line per invocation; a heartbeat means a tick completed."""
    metrics.add_metric(name="Heartbeat", unit=MetricUnit.Count, value=1)
    metrics.add_metric(name="Ticks", unit=MetricUnit.Count, value=report.ticks)
    metrics.add_metric(name="Checks", unit=MetricUnit.Count, value=report.checks)
    metrics.add_metric(name="NotificationsSent", unit=MetricUnit.Count, value=report.sent)
    metrics.add_metric(name="NotificationsFailed", unit=MetricUnit.Count, value=report.failed)
    metrics.add_metric(name="ReleaseErrors", unit=MetricUnit.Count, value=report.errors)
    # Emitted only when they happen: their alarms treat silence as good news, and a custom
    # metric with no data points costs nothing.
    if report.failed_permanently:
        metrics.add_metric(
            name="NotificationsFailedPermanently",
            unit=MetricUnit.Count,
            value=report.failed_permanently,
        )
    if report.ack_secret_problem:
        metrics.add_metric(name="AckSecretUnreadable", unit=MetricUnit.Count, value=1)
        logger.error("ack secret unavailable", extra={"reason": report.ack_secret_problem})
    summary = report.summary()
    logger.info("poll finished", extra=summary)
    return summary
