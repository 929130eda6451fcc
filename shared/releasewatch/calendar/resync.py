"""`run`'s periodic calendar sync (every `sync_every`, on the injected clock; see runner.py).

The same sync as `releasewatch sync` (sync_once). A source that fails keeps its last good
import (plan_sync), and is reported once per failure streak, in the log and on the console,
and once more when it works again: a source down for a day must not print a line every six
hours, nor be forgotten. A sync that fails as a whole (a store error, damaged saved imports)
is reported the same way and never stops the loop.

It runs apart from probing: runner.run_loop starts it as a task and goes on ticking, and the
plan is applied between two ticks (`gate`, which the loop holds for each tick). A sync that has
not finished within SYNC_DEADLINE is abandoned (nothing of it applied) and reported; each
source has its own, shorter deadline (sync.SOURCE_DEADLINE), so one that trickles fails alone.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

from ..config.load import Config
from ..local.loophealth import TickHealth
from ..store.base import Store
from .fetch import FeedFetcher
from .imports import ImportsKeeper
from .sync import Plan, sync_once

log = logging.getLogger("releasewatch.calendar")

WHOLE = "(the sync)"  # the failing-streak key of a sync that failed as a whole
# Below the AWS sync function's 300 s timeout, so it is reported there rather than killed.
SYNC_DEADLINE = 240.0


class Resync:
    def __init__(
        self,
        config: Config,
        store: Store,
        imports_file: Path | ImportsKeeper,
        *,
        fetcher: Callable[[], FeedFetcher] | None = None,
        console: Callable[[str], None] | None = None,
        health: TickHealth | None = None,
        announce_first: bool = False,
    ) -> None:
        self.config = config
        self.store = store
        self.imports_file = imports_file
        self._fetcher = fetcher or (lambda: FeedFetcher(local_mode=config.local_mode))
        self._console = console or (lambda text: print(text, file=sys.stderr))
        self.failing: dict[str, str] = {}  # source label (or WHOLE) → why, while it fails
        self.health = health  # the board shows what fails (web/views/problems.py)
        self.runs = 0
        self.last_plan: Plan | None = None  # the last sync's plan (None: it failed as a whole)
        self.gate = asyncio.Lock()  # held by run's loop for each tick: applied between ticks
        self.deadline = SYNC_DEADLINE
        self.running = False  # a sync is under way (run's loop goes on ticking meanwhile)
        # `run`'s start-up sync runs beside the ticks: say on the console when it has landed.
        self.announce_first = announce_first

    def __call__(self, now: datetime) -> Awaitable[None]:
        """The sync at `now`, counted (runs, running) as soon as it is asked for: run's loop
        starts it as a task that first runs after the tick."""
        self.runs += 1
        self.running = True
        return self._sync(now)

    async def run(self, now: datetime) -> None:
        """The sync at `now`, awaited (the AWS sync function's whole invocation)."""
        await self(now)

    async def _sync(self, now: datetime) -> None:
        try:
            await self._sync_once(now)
        finally:
            self.running = False

    async def _sync_once(self, now: datetime) -> None:
        fetcher = self._fetcher()
        self.last_plan = None
        try:
            async with asyncio.timeout(self.deadline):
                plan = await sync_once(
                    self.config, self.store, self.imports_file, fetcher, now, gate=self.gate
                )
        except TimeoutError:
            why = f"not finished within {self.deadline:g} s; nothing from it was applied"
            self._report({WHOLE: why}, whole=True)
            return
        except Exception as exc:  # never fatal to the watch loop; reported once per streak
            self._report({WHOLE: f"{type(exc).__name__}: {exc}"}, whole=True)
            return
        finally:
            await fetcher.aclose()
        self.last_plan = plan
        self._report(plan.failures, whole=False)
        if self.announce_first and self.runs == 1:
            counts = ", ".join(f"{n} {k}" for k, n in sorted(plan.counts.items())) or "nothing"
            self._console(f"releasewatch: calendars synced: {counts}")
        if plan.changed or plan.changes:
            log.info("calendar sync: %s", ", ".join(f"{n} {k}" for k, n in plan.counts.items()))

    def _report(self, failures: dict[str, str], *, whole: bool) -> None:
        for label, why in failures.items():
            if label not in self.failing:
                text = (
                    f"calendar sync failed: {why}; the releases already imported are kept"
                    if label == WHOLE
                    else f"calendar source {label} failed: {why}; its last good import is kept"
                )
                log.warning("%s", text)
                self._console(f"releasewatch: {text} (said once until it works again)")
            self.failing[label] = why
        # A sync that failed as a whole says nothing about the sources: keep their streaks.
        keep = set(failures) | (set() if not whole else set(self.failing))
        for label in [lb for lb in self.failing if lb not in keep]:
            del self.failing[label]
            name = "calendar sync" if label == WHOLE else f"calendar source {label}"
            log.warning("%s works again", name)
            self._console(f"releasewatch: {name} works again")
        if self.health is not None:
            self.health.synced(self.failing)
