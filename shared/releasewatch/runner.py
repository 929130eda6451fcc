"""The local process: tick, sleep until the next thing is due, repeat until told to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from datetime import datetime, timedelta

from .service import TickReport, Watchdog

log = logging.getLogger("releasewatch.runner")


def seconds_until_next(watchdog: Watchdog, now: datetime, ceiling: timedelta) -> float:
    """Sleep no longer than `ceiling`, and wake for the earliest due check or chain step."""
    wake = now + ceiling
    for record in watchdog.store.active_releases():
        if record.next_check_at is not None:
            wake = min(wake, record.next_check_at)
        release = record.release
        for step in release.chain.steps:
            fire = release.due + step.after
            if fire > now:
                wake = min(wake, fire)
    return max(0.0, (wake - now).total_seconds())


async def run_loop(
    watchdog: Watchdog,
    *,
    stop: asyncio.Event,
    ceiling: timedelta = timedelta(seconds=5),
    on_tick: Callable[[TickReport], bool] | None = None,
) -> None:
    """Tick until `stop` is set (or `on_tick` returns False). A failed tick is logged, not fatal."""
    while not stop.is_set():
        try:
            report = await watchdog.tick()
        except Exception:
            log.exception("tick failed; trying again")
            report = None
        if report is not None and on_tick is not None and not on_tick(report):
            return
        delay = seconds_until_next(watchdog, watchdog.clock.now(), ceiling)
        sleeper = asyncio.ensure_future(watchdog.clock.sleep(delay))
        stopper = asyncio.ensure_future(stop.wait())
        await asyncio.wait({sleeper, stopper}, return_when=asyncio.FIRST_COMPLETED)
        for task in (sleeper, stopper):
            task.cancel()


def install_signal_handlers(stop: asyncio.Event) -> None:
    """Ctrl-C and SIGTERM finish the current tick, then stop."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        # Not possible off the main thread or off POSIX; Ctrl-C then raises as usual.
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
