"""The local process: tick, sleep until the next thing is due, repeat until told to stop.

A tick that fails as a whole (the store is full, locked, read-only or corrupt) is not retried
at once: the loop backs off, 1 s doubling to a cap, logs the reason once per failure streak
(and once when it recovers) and publishes the streak for /health and the dashboard. Probes are
bounded separately, by the Watchdog, so the watched pages see no more requests than their
cadence whatever the store does.

The periodic calendar sync runs apart from the ticks, as a task: a calendar that trickles,
hangs or explodes never holds up a check or an alert. Its plan is applied between two ticks
(`gate`), and it has its own deadline (calendar/resync.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from ..errors import StoreError
from ..readiness.policy import wake_times
from ..service import TickReport, Watchdog
from ..store.health import explain
from ..timefmt import uk_datetime
from .loophealth import TickHealth

log = logging.getLogger("releasewatch.runner")

BACKOFF_FIRST = 1.0
BACKOFF_CAP = 60.0


# How long a tick of the local loop waits for its probes: a page answering within it is
# judged in the same tick (a 100 ms page, or 1,000 of them over 50 connections, takes about
# 2 s); one still running is recorded by a later tick (see Watchdog.probe_wait).
PROBE_WAIT = 5.0


def seconds_until_next(watchdog: Watchdog, now: datetime, ceiling: timedelta) -> float:
    """Sleep no longer than `ceiling`, and wake for the earliest due check, chain step or
    readiness time. Only the releases whose wake time comes before the ceiling are read (a
    release's wake_at is at or before each of those times), not every one watched."""
    wake = now + ceiling
    probing = watchdog.probing()
    if watchdog.finished_inflight():
        return 0.0  # a probe that outlived its tick has ended: record it now
    for record in watchdog.store.due_releases(wake):
        # A release whose probe is still running (queued for its host's budget, or slow) is
        # checked when the probe ends, which wakes the loop (run_loop): waking for its past
        # next_check_at meanwhile would spin, tick after tick doing nothing.
        if record.next_check_at is not None and record.id not in probing:
            # Not before the Watchdog would probe again: a check the store failed to advance
            # must not make the loop spin.
            wake = min(wake, max(record.next_check_at, watchdog.probe_not_before(record)))
        release = record.release
        for step in release.steps:
            fire = release.due + step.after
            if fire > now:
                wake = min(wake, fire)
        # Readiness times (the day before, and the last call) are not checks or chain steps.
        wake = min([wake, *wake_times(release, now)])
    return max(0.0, (wake - now).total_seconds())


def backoff_seconds(failures: int, cap: float = BACKOFF_CAP) -> float:
    """1, 2, 4, ... seconds after the 1st, 2nd, 3rd failed tick in a row, never above `cap`."""
    return min(cap, BACKOFF_FIRST * 2.0 ** min(failures - 1, 30))


async def run_loop(
    watchdog: Watchdog,
    *,
    stop: asyncio.Event,
    ceiling: timedelta = timedelta(seconds=5),
    on_tick: Callable[[TickReport], bool] | None = None,
    health: TickHealth | None = None,
    backoff_cap: float = BACKOFF_CAP,
    resync: Callable[[datetime], Awaitable[None]] | None = None,
    sync_every: timedelta = timedelta(hours=6),
    gate: asyncio.Lock | None = None,
    sync_at_start: bool = False,
) -> None:
    """Tick until `stop` is set (or `on_tick` returns False). A failed tick is never fatal.
    With `resync`, the calendars are synced again every `sync_every` (the caller synced on
    start), in a task of its own while the ticks go on; `gate` (the resync's) is held for each
    tick, so the sync's plan is applied between ticks. One sync at a time: a sync still
    running when the next is due is not started twice. `sync_at_start`: the first sync starts
    with the first tick (`run`'s start-up sync, which must never hold up the first alert)."""
    health = health or TickHealth()
    gate = gate or asyncio.Lock()
    if watchdog.probe_wait is None:
        watchdog.probe_wait = PROBE_WAIT  # a slow origin cannot hold up the others' ticks
    next_sync = watchdog.clock.now() + (timedelta(0) if sync_at_start else sync_every)
    syncing: asyncio.Task[None] | None = None
    try:
        while not stop.is_set():
            if syncing is not None and syncing.done():
                _finished(syncing)
                syncing = None
            if resync is not None and syncing is None and watchdog.clock.now() >= next_sync:
                syncing = asyncio.ensure_future(resync(watchdog.clock.now()))
                # Only the first sync may be at start: every later one waits `sync_every`.
                next_sync = watchdog.clock.now() + sync_every
            delay = await _one_tick(watchdog, gate, ceiling, on_tick, health, backoff_cap)
            if delay is None:
                return
            if resync is not None and syncing is None:  # wake for the next sync too (one
                # still under way is looked at again after this sleep: never a busy wait)
                delay = min(delay, max(0.0, (next_sync - watchdog.clock.now()).total_seconds()))
            sleeper = asyncio.ensure_future(watchdog.clock.sleep(delay))
            stopper = asyncio.ensure_future(stop.wait())
            # A probe that outlived its tick wakes the loop when it ends, to be recorded then.
            probes = set(watchdog.inflight_tasks())
            await asyncio.wait({sleeper, stopper, *probes}, return_when=asyncio.FIRST_COMPLETED)
            for task in (sleeper, stopper):
                task.cancel()
    finally:
        if syncing is not None:  # stopping: a sync not yet applied is abandoned whole
            syncing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await syncing


def _finished(syncing: asyncio.Task[None]) -> None:
    """A finished sync task: Resync reports its own failures; anything else is a bug, logged."""
    if not syncing.cancelled() and syncing.exception() is not None:
        log.error("calendar sync failed", exc_info=syncing.exception())


async def _one_tick(
    watchdog: Watchdog,
    gate: asyncio.Lock,
    ceiling: timedelta,
    on_tick: Callable[[TickReport], bool] | None,
    health: TickHealth,
    backoff_cap: float,
) -> float | None:
    """One tick (holding `gate`); the seconds to sleep after it, or None to stop."""
    try:
        async with gate:
            report = await watchdog.tick()
    except Exception as exc:
        streak = health.failed(watchdog.clock.now(), explain(exc))
        if streak.attempts == 1:
            # Once per streak: a full disk must not become thousands of identical lines.
            # A traceback only for what looks like a bug, not for a store's own errors.
            log.error(
                "tick failed: %s; retrying with backoff (up to %g s) until it works",
                streak.reason,
                backoff_cap,
                exc_info=not isinstance(exc, sqlite3.Error | StoreError | OSError),
            )
        delay = backoff_seconds(streak.attempts, backoff_cap)
    else:
        # A streak ends only with a tick that wrote its checks (probed) without errors: an
        # idle tick may write nothing, and would otherwise "recover" between failures.
        ended = health.view()
        if ended.ok or (report.probed and not report.errors):
            ended = health.succeeded(report.at)
        if not ended.ok and health.view().ok and ended.failing_since is not None:
            log.warning(
                "tick works again, after %d failed attempt(s) since %s (last reason: %s)",
                ended.attempts,
                uk_datetime(ended.failing_since),
                ended.reason,
            )
        if on_tick is not None and not on_tick(report):
            return None
        try:
            delay = seconds_until_next(watchdog, watchdog.clock.now(), ceiling)
        except Exception:  # the store failed between the tick and here: the next tick says
            delay = ceiling.total_seconds()
    return delay


def install_signal_handlers(stop: asyncio.Event) -> None:
    """Ctrl-C and SIGTERM finish the current tick, then stop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not possible off the main thread or off POSIX; Ctrl-C then raises as usual.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
