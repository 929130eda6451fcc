"""The simulated clock, shared by the watchdog and the origin servers (other processes).

Between ticks it stands still and jumps to the next wake time; during a tick it runs at real
speed (`running()`), so a slow tick delays detection in simulated time exactly as it would in
real time, and a page going live in the middle of a tick is live for the probes made after it.
The state is two shared doubles: the simulated epoch, and the CLOCK_MONOTONIC reading it was
taken at (NaN while stopped); CLOCK_MONOTONIC is one clock for every process on the machine.
"""

from __future__ import annotations

import asyncio
import math
import multiprocessing
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any


class SimClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("SimClock needs a timezone-aware start")
        ctx = multiprocessing.get_context("fork")
        self._epoch: Any = ctx.Value("d", start.timestamp(), lock=False)
        self._mono: Any = ctx.Value("d", math.nan, lock=False)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def timestamp(self) -> float:
        epoch, mono = float(self._epoch.value), float(self._mono.value)
        return epoch if math.isnan(mono) else epoch + time.monotonic() - mono

    def jump(self, when: datetime) -> None:
        """Stand still at `when` (never backwards: a tick that ran past it keeps its time)."""
        self._epoch.value = max(self.timestamp(), when.timestamp())
        self._mono.value = math.nan

    @contextmanager
    def running(self) -> Iterator[None]:
        """Run at real speed inside the block; stand still again after it."""
        self._epoch.value = self.timestamp()
        self._mono.value = time.monotonic()
        try:
            yield
        finally:
            self._epoch.value = self.timestamp()
            self._mono.value = math.nan

    async def sleep(self, seconds: float) -> None:
        if math.isnan(self._mono.value):  # standing still: sleeping is a jump
            self._epoch.value += max(0.0, seconds)
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(max(0.0, seconds))
