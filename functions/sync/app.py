"""Calendar sync Lambda: invoked by its schedules (every 6 hours, and 08:00 Europe/London on
working days); imports the calendars of the pushed config (releasewatch.aws.calendar_sync).

Its own function, not an event routed to the poller: it runs a few times a day, so the
poller's cold start and its one-minute timeout, concurrency and alarms stay the tick's alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from releasewatch.aws.lazy import Lazy
from releasewatch.aws.metrics import count_problems

if TYPE_CHECKING:
    from releasewatch.aws.calendar_sync import CalendarSync

logger = Logger()
# Only for Problems, when a sync raises: one more alarm would take the fixed cost over budget.
metrics = Metrics()


def _build() -> CalendarSync:
    from releasewatch.aws.calendar_sync import build_sync
    from releasewatch.aws.settings import SyncSettings

    return build_sync(SyncSettings.from_env())


sync: Lazy[CalendarSync] = Lazy(_build)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        summary = sync().run()
    except Exception:
        count_problems(metrics, 1)
        metrics.flush_metrics()
        raise
    logger.info("calendar sync finished", extra=summary)
    return summary
