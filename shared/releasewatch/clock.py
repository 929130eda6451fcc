"""Clocks. Everything that needs the time is given one; nothing reads the wall clock itself.

asyncio is imported by the sleeps that use it: the API function reads only `now`, and asyncio
would be a sixth of its cold start.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of this clock's time."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        import asyncio

        await asyncio.sleep(max(0.0, seconds))


class FixedClock:
    """A clock that only moves when told to; sleeping advances it (for replaying scenarios)."""

    def __init__(self, start: datetime) -> None:
        require_aware(start)
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        require_aware(when)
        with self._lock:
            self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta | float) -> datetime:
        step = delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        with self._lock:
            self._now += step
            return self._now

    async def sleep(self, seconds: float) -> None:
        import asyncio

        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


class ScaledClock:
    """Simulated time running `factor` times faster than real time from `start` (the demo)."""

    def __init__(self, start: datetime, factor: float) -> None:
        require_aware(start)
        self._start = start.astimezone(UTC)
        self._factor = factor
        self._t0 = time.monotonic()
        self._lock = threading.Lock()  # the web server's threads read it while it changes

    def now(self) -> datetime:
        with self._lock:
            return self._start + timedelta(seconds=(time.monotonic() - self._t0) * self._factor)

    def real_speed(self) -> None:
        """From now on run at real speed (the demo's board, kept serving after the demo,
        then reads 'Live, 2 h 31 min late' and ages in seconds, not hours gone by)."""
        now = self.now()
        with self._lock:
            self._start, self._factor, self._t0 = now, 1.0, time.monotonic()

    async def sleep(self, seconds: float) -> None:
        import asyncio

        with self._lock:
            factor = self._factor
        await asyncio.sleep(max(0.0, seconds) / factor)


def require_aware(when: datetime) -> None:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"naive datetime {when.isoformat()} where a timezone-aware one is needed")
