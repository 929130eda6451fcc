"""Poller Lambda: invoked every minute by the schedule; ticks, re-polls the hot window, reports.

The Watchdog (DynamoDB, SES, SNS, HTTP prober) is built once per container, on the first
invocation; the environment is validated then (PollerSettings names any missing variable).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from releasewatch.aws.lazy import Lazy
from releasewatch.aws.metrics import EMPTY_FLUSH_WARNING, count_problems

if TYPE_CHECKING:
    from releasewatch.aws.poller import InvocationReport, Poller

logger = Logger()
metrics = Metrics()
warnings.filterwarnings("ignore", message=EMPTY_FLUSH_WARNING)
# No Powertools Tracer: constructing it loads the X-Ray SDK, about 0.5 s of every cold start
# (measured by tests/bench/bench_aws.py), which would blow the 300 ms import budget. With the
# template's Tracing parameter Active (it defaults to Disabled), Lambda still records each
# invocation in X-Ray without it.


def _build() -> Poller:
    # Imported here, not at module level: the models, httpx and boto3 clients load during the
    # first invocation's build, keeping the module import (the cold start measure) small.
    from releasewatch.aws.poller import build_poller
    from releasewatch.aws.settings import PollerSettings

    return build_poller(PollerSettings.from_env())


poller: Lazy[Poller] = Lazy(_build)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
# No cold-start metric: it would be a second custom metric (with a function_name dimension)
# that no alarm reads; Lambda's free Init Duration is in every cold start's REPORT line.
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        # The event: the schedule's, or a shard of a busy minute (releasewatch/aws/shards.py).
        report = poller().run(context.get_remaining_time_in_millis, event)
    except Exception as exc:
        # The tick failed as a whole (DynamoDB unreachable or throttled, a bug): counted as a
        # problem (its alarm fires at once) and logged here with its reason; re-raised so the
        # invocation fails (Lambda Errors, a retry, then the failed-ticks queue and its alarm).
        from releasewatch.store.health import explain
        from releasewatch.web.scrub import scrub

        count_problems(metrics, 1)
        logger.error("poll failed", extra={"reason": scrub(explain(exc))[:500]})
        raise
    return record(report)


def record(report: InvocationReport) -> dict[str, Any]:
    """The Problems metric when something is wrong (nothing when all is well: see
    releasewatch/aws/metrics.py), and one log line per invocation with the counts."""
    count_problems(metrics, report.problems())
    if report.ack_secret_problem:
        logger.error("ack secret unavailable", extra={"reason": report.ack_secret_problem})
    summary = report.summary()
    logger.info("poll finished", extra=summary)
    return summary
