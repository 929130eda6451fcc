"""The scheduled calendar sync on AWS: the same sync as `releasewatch sync` and `run`'s resync
(calendar/resync.py), on the config `push` stored (aws/pushed_config.py), with the last good
imports and the failing sources kept in the table (aws/calendar_state.py).

A failing source keeps its last good import and is told to the operators (the OpsTopic) once
per failure streak, and once when it works again, though each sync is a fresh invocation.
Moves and cancellations become events that the poller's next tick tells, as locally.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from ..calendar.resync import WHOLE, Resync
from ..clock import Clock, SystemClock
from ..config.load import RotaFetch
from ..errors import ConfigError
from ..store.dynamodb import DynamoDBStore
from .blobs import Documents
from .calendar_state import FailingSources, TableImports
from .pushed_config import pushed
from .settings import SyncSettings

log = logging.getLogger("releasewatch.aws")

Tell = Callable[[str], None]


class CalendarSync:
    def __init__(
        self,
        store: DynamoDBStore,
        clock: Clock,
        tell_ops: Tell,
        *,
        fetch_rota: RotaFetch | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.tell_ops = tell_ops
        self.documents = Documents(store.client, store.table_name)
        if fetch_rota is None:
            from ..readiness.rota_fetch import fetch_rota as fetch_rota_default

            fetch_rota = fetch_rota_default
        self.fetch_rota = fetch_rota

    def run(self) -> dict[str, Any]:
        """One sync; a summary for the log (counts and source labels, never an address)."""
        now = self.clock.now()
        streaks = FailingSources(self.documents)
        before = streaks.load()
        failing = dict(before)
        summary: dict[str, Any] = {"synced": False}
        try:
            with pushed(self.documents, self.fetch_rota) as config:
                if config is None:
                    return summary | {"reason": "no config pushed yet"}
                # Without calendars too: an iCal rota given by URL is re-read and applied.
                resync = Resync(
                    config, self.store, TableImports(self.documents, self.clock),
                    console=self.tell_ops,
                )  # fmt: skip
                resync.failing = failing
                asyncio.run(resync.run(now))
                failing = resync.failing
                plan = resync.last_plan
                if plan is not None:
                    summary = {
                        "synced": True,
                        "counts": plan.counts,
                        "failed_sources": sorted(plan.failures),
                        "changes_to_tell": len(plan.changes),
                        "deactivated": len(plan.removed),
                    }
        except (ConfigError, ValueError) as exc:
            # The pushed config no longer reads (an iCal rota's URL fails) or is damaged:
            # nothing is synced, the releases in the table stay as they are.
            why = f"the pushed config cannot be read: {str(exc)[:500]}"
            if WHOLE not in failing:
                text = f"calendar sync failed: {why}; the releases already imported are kept"
                log.warning("%s", text)
                self.tell_ops(f"releasewatch: {text} (said once until it works again)")
            failing = {**failing, WHOLE: why}
            summary |= {"reason": "the pushed config cannot be read"}
        if failing != before:
            streaks.save(failing, now)
        summary["failing"] = sorted(failing)
        return summary


def sns_teller(topic_arn: str | None) -> Tell:
    """Publish to the operations topic; without one, the log only. A publish that fails
    raises, so the streak is not recorded as told and the next sync tells it again."""
    if not topic_arn:
        return lambda text: log.warning("%s (no OPS_TOPIC_ARN to tell)", text)
    client: list[Any] = []

    def tell(text: str) -> None:
        if not client:
            from . import clients

            client.append(clients.client("sns"))
        client[0].publish(TopicArn=topic_arn, Subject="releasewatch: calendar sync", Message=text)

    return tell


def build_sync(settings: SyncSettings, *, clock: Clock | None = None) -> CalendarSync:
    return CalendarSync(
        DynamoDBStore(settings.table_name),
        clock or SystemClock(),
        sns_teller(settings.ops_topic_arn),
    )
