"""Hand-written fakes for the ports (cosmicpython style): no mocks of our own code."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from releasewatch.clock import Clock, FixedClock
from releasewatch.errors import SendError
from releasewatch.model import Check, Release
from releasewatch.notify.base import Message
from releasewatch.store.memory import InMemoryStore

__all__ = ["FixedClock", "InMemoryStore", "RecordingNotifier", "ScriptedProber"]

Timeline = Callable[[datetime], bool]  # is the page live at this moment?


class ScriptedProber:
    """A prober whose page is live according to a timeline of the (injected) clock."""

    def __init__(self, clock: Clock, live: Timeline | dict[str, Timeline]) -> None:
        self.clock = clock
        self.live = live
        self.calls = 0
        self._lock = threading.Lock()

    async def probe(self, release: Release) -> Check:
        now = self.clock.now()
        timeline = self.live[release.id] if isinstance(self.live, dict) else self.live
        with self._lock:
            self.calls += 1
        is_live = timeline(now)
        return Check(
            release_id=release.id,
            at=now,
            url=release.url + "?rwcb=1",
            live=is_live,
            reason="all live rules pass" if is_live else "status 404, expected 200",
            status=200 if is_live else 404,
            final_url=release.url,
            age="0",
            x_cache="MISS",
        )

    async def probe_many(self, releases: Sequence[Release]) -> list[Check]:
        return [await self.probe(r) for r in releases]

    async def aclose(self) -> None:
        return None


@dataclass
class RecordingNotifier:
    """Records every accepted message; `fail` decides per message whether to raise SendError."""

    fail: Callable[[Message], SendError | None] | None = None
    sent: list[Message] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, message: Message) -> str:
        if self.fail is not None:
            error = self.fail(message)
            if error is not None:
                raise error
        with self._lock:
            self.sent.append(message)
            return f"msg-{len(self.sent)}"

    def keys(self) -> list[str]:
        with self._lock:
            return [m.key for m in self.sent]
