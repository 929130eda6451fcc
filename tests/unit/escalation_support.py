"""A scenario harness: a controlled clock, a scripted page, notifiers that note when they sent,
signed links, and the web app to acknowledge through (GET and POST, as a person would)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from releasewatch.errors import SendError
from releasewatch.links.tokens import TokenCodec
from releasewatch.links.urls import SignedLinks
from releasewatch.model import Release
from releasewatch.notify.base import Message
from releasewatch.service import Watchdog
from releasewatch.timefmt import uk
from releasewatch.web.app import Response, WebApp
from tests.factories import DUE, make_release
from tests.fakes import FixedClock, InMemoryStore, ScriptedProber

BASE = "https://rw.example.com"
SECRET = b"scenario-secret-0123456789abcdef"
ID = "lms-2025-07"


@dataclass
class Sent:
    at: datetime
    message: Message

    @property
    def row(self) -> tuple[str, str, str, str]:
        """('09:35:00', contact, channel, kind[:occurrence][>fallback]) in UK local time."""
        parts = self.message.key.split("|")
        kind = parts[1]
        if parts[3] not in ("0", "") and kind in ("alert", "breach"):
            kind += f":{parts[3]}"
        if ">" in self.message.key:
            kind += " (fallback)"
        return (f"{uk(self.at):%H:%M:%S}", self.message.contact_id, self.message.channel, kind)


@dataclass
class TimedNotifier:
    clock: FixedClock
    log: list[Sent]
    fail: Callable[[Message], SendError | None] | None = None

    def send(self, message: Message) -> str:
        if self.fail is not None:
            error = self.fail(message)
            if error is not None:
                raise error
        self.log.append(Sent(self.clock.now(), message))
        return f"msg-{len(self.log)}"


@dataclass
class Scenario:
    live: Callable[[datetime], bool]
    release: Release = field(default_factory=make_release)
    sms_fail: Callable[[Message], SendError | None] | None = None
    start: datetime = DUE - timedelta(minutes=20)
    step: timedelta = timedelta(seconds=10)

    def __post_init__(self) -> None:
        self.clock = FixedClock(self.start)
        self.store = InMemoryStore()
        self.store.apply_releases([self.release], self.clock.now())
        self.log: list[Sent] = []
        self.codec = TokenCodec(SECRET)
        self.links = SignedLinks(BASE, self.codec)
        self.web = WebApp(self.store, self.codec, self.clock)
        self.prober = ScriptedProber(self.clock, self.live)
        self.dog = Watchdog(
            self.store,
            self.prober,
            {
                "email": TimedNotifier(self.clock, self.log),
                "sms": TimedNotifier(self.clock, self.log, self.sms_fail),
            },
            self.clock,
            links=self.links,
        )

    def run_until(self, end: datetime) -> None:
        while self.clock.now() < end:
            asyncio.run(self.dog.tick())
            self.clock.advance(self.step)

    def rows(self) -> list[tuple[str, str, str, str]]:
        return [s.row for s in self.log]

    def latest_link(self, contact_id: str, channel: str = "sms") -> str:
        for sent in reversed(self.log):
            m = sent.message
            if m.contact_id == contact_id and m.channel == channel:
                found = re.search(re.escape(BASE) + r"(/a/[A-Za-z0-9_-]+)", m.text)
                if found:
                    return found.group(1)
        raise AssertionError(f"no acknowledge link sent to {contact_id} by {channel}")

    def open(self, path: str, method: str = "GET") -> Response:
        return self.web.handle(method, path)

    def snapshot(self) -> tuple[object, ...]:
        return (
            [r.model_dump_json() for r in self.store.all_releases()],
            [e.model_dump_json() for e in self.store.events(ID)],
            [d.model_dump_json() for d in self.store.deliveries(ID)],
        )


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    """A UK local time on the release day (BST), as UTC."""
    return DUE + timedelta(hours=hh - 9, minutes=mm - 30, seconds=ss)
