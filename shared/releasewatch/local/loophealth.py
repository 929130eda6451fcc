"""Whether the local run loop's ticks (and its calendar syncs) are working: written by the loop,
read by the web server's /health and dashboard (another thread), so a watchdog whose store
fails says so where people look, not only in a log nobody reads."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HealthView:
    ok: bool
    failing_since: datetime | None = None
    reason: str | None = None
    attempts: int = 0
    last_ok: datetime | None = None


class TickHealth:
    """One failure streak at a time: `failed` opens or extends it, `succeeded` closes it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._view = HealthView(ok=True)
        self._sync_failing: dict[str, str] = {}

    def synced(self, failing: Mapping[str, str]) -> None:
        """The calendar sync's sources failing now (source → why; empty: all work)."""
        with self._lock:
            self._sync_failing = dict(failing)

    def sync_failing(self) -> dict[str, str]:
        with self._lock:
            return dict(self._sync_failing)

    def view(self) -> HealthView:
        with self._lock:
            return self._view

    def failed(self, at: datetime, reason: str) -> HealthView:
        """Record a failed tick; returns the streak so far (attempts == 1: it just began)."""
        with self._lock:
            v = self._view
            self._view = HealthView(
                ok=False,
                failing_since=v.failing_since or at,
                reason=reason,
                attempts=v.attempts + 1,
                last_ok=v.last_ok,
            )
            return self._view

    def succeeded(self, at: datetime) -> HealthView:
        """Record a good tick; returns the streak that just ended (ok=True if there was none)."""
        with self._lock:
            ended = self._view
            self._view = HealthView(ok=True, last_ok=at)
            return ended
