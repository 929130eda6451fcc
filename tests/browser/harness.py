"""The browser tests' world: the real local web server on 127.0.0.1:0 over a SQLite store that
the real Watchdog fills, tick by tick, on an injected clock.

The server reads the same FixedClock on every request, so moving the clock between page loads
(`LiveScenario.advance`) is what a person would see as time passing: the watchdog ticks up to
the new time (probes, state changes, alerts) and the next page load shows it.

Nothing here imports Playwright: the pages are driven in conftest.py.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

from releasewatch.clock import FixedClock
from releasewatch.errors import SendError
from releasewatch.links.tokens import TokenCodec
from releasewatch.links.urls import SignedLinks
from releasewatch.local.loophealth import TickHealth
from releasewatch.model import Readiness, Release
from releasewatch.notify.base import Message
from releasewatch.service import Watchdog
from releasewatch.store.sqlite import SQLiteStore
from releasewatch.web.app import WebApp
from releasewatch.web.local_server import LocalWebServer
from tests.factories import DUE, make_release
from tests.fakes import ScriptedProber

SECRET = b"browser-tests-secret-0123456789ab"
ID = "lms-2025-07"
TICK = timedelta(seconds=10)  # how often the watchdog ticks while the clock is moved on


def at(hh: int, mm: int, ss: int = 0) -> datetime:
    """A UK local time on the release day (17 July 2025, BST), as UTC."""
    return DUE + timedelta(hours=hh - 9, minutes=mm - 30, seconds=ss)


def never(now: datetime) -> bool:
    return False


@dataclass(frozen=True)
class Sent:
    at: datetime
    message: Message


class Notifier:
    """A channel that accepts every message (noting when), unless `fail` says otherwise."""

    def __init__(
        self, clock: FixedClock, fail: Callable[[Message], SendError | None] | None = None
    ) -> None:
        self.clock = clock
        self.fail = fail
        self.sent: list[Sent] = []
        self._lock = threading.Lock()

    def send(self, message: Message) -> str:
        if self.fail is not None and (error := self.fail(message)) is not None:
            raise error
        with self._lock:
            self.sent.append(Sent(self.clock.now(), message))
            return f"msg-{len(self.sent)}"


class LiveScenario:
    """Releases in a SQLite file, the Watchdog that works on them, and the local web server
    that shows them, all on one FixedClock starting at `start`."""

    def __init__(
        self,
        db: Path,
        *,
        releases: Sequence[Release] = (),
        live: Callable[[datetime], bool] | dict[str, Callable[[datetime], bool]] = never,
        sms_fail: Callable[[Message], SendError | None] | None = None,
        email_fail: Callable[[Message], SendError | None] | None = None,
        start: datetime = DUE - timedelta(minutes=20),
    ) -> None:
        self.clock = FixedClock(start)
        self.store = SQLiteStore(db)
        self.store.apply_releases(list(releases) or [make_release()], start)
        self.codec = TokenCodec(SECRET)
        self.health = TickHealth()
        self.server = LocalWebServer(
            WebApp(self.store, self.codec, self.clock, self.health), port=0
        ).start()
        self.base_url = self.server.base_url
        # The links in messages point at this server, as in local mode.
        self.links = SignedLinks(self.base_url, self.codec)
        self.email = Notifier(self.clock, email_fail)
        self.sms = Notifier(self.clock, sms_fail)
        self.dog = Watchdog(
            self.store,
            ScriptedProber(self.clock, live),
            {"email": self.email, "sms": self.sms},
            self.clock,
            links=self.links,
        )
        # Ticks run on a thread of their own: Playwright's sync API marks the test thread's
        # event loop as running between calls, so asyncio.run() there would refuse to start.
        self._ticker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="browser-ticks")

    # -- time ---------------------------------------------------------------------------------
    def run_until(self, end: datetime, step: timedelta = TICK) -> None:
        """Tick every `step` of clock time until `end`, as the run loop would; the clock is
        left at `end`, the last tick made there."""

        async def ticks() -> None:
            while True:
                await self.dog.tick()
                now = self.clock.now()
                if now >= end:
                    return
                self.clock.set(min(end, now + step))

        self._ticker.submit(asyncio.run, ticks()).result(timeout=120)

    def advance(self, delta: timedelta) -> datetime:
        self.run_until(self.clock.now() + delta)
        return self.clock.now()

    # -- addresses ----------------------------------------------------------------------------
    def url(self, path: str = "/") -> str:
        return self.base_url + path

    def link_sent_to(self, contact_id: str, channel: str = "sms", prefix: str = "/a/") -> str:
        """The latest link of this kind the contact was sent: what they would tap."""
        notifier = self.sms if channel == "sms" else self.email
        pattern = re.compile(re.escape(self.base_url + prefix) + r"[A-Za-z0-9_.~-]+")
        for sent in reversed(notifier.sent):
            if sent.message.contact_id == contact_id and (m := pattern.search(sent.message.text)):
                return m.group(0)
        raise AssertionError(f"no {prefix} link was sent to {contact_id} by {channel}")

    def close(self) -> None:
        self.server.stop()
        self._ticker.shutdown(wait=True)
        self.store.close()


# -- what must never be on a page ---------------------------------------------------------------
# Deliberately wider than scrub.scrub: these find what a person would read as an address or a
# UK number, whatever the markup around it, and the fixtures' Ofcom drama numbers in any form.
EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
UK_NUMBER = re.compile(
    r"(?:\+|\b00\s?)44[\s().-]*(?:0[\s().-]*)?[1-9](?:[\s.-]*\d){8,9}"  # +44 7700 900123
    r"|(?<![\w./-])0[1-9](?:[\s-]?\d){8,9}(?![\d:])"  # 07700 900123, 020 7946 0000
    r"|(?<!\d)447\d{9}(?!\d)"  # 447700900123 (E.164 without the plus)
)
DRAMA = re.compile(r"7700[\s.-]*900[\s.-]*\d{3}")  # any of +447700900000..999, however split


def personal_data(text: str) -> list[str]:
    """Every email address or phone number in `text`, also inside percent-encoded URLs."""
    found: list[str] = []
    for candidate in (text, unquote(text)):
        for pattern in (EMAIL, UK_NUMBER, DRAMA):
            found += [m.group(0) for m in pattern.finditer(candidate)]
    return sorted(set(found))


# -- a release morning with something of everything ---------------------------------------------
LATE = ID  # due 09:30 today, never live: the chain runs
ON_TIME = "gdp-2025-q2"  # due 07:00 today, live at 07:00:20
TOMORROW = "cpi-2025-07"  # due 07:00 tomorrow, readiness asked today at 14:00
GATEWAY_REFUSAL = "recipient +447700900101 refused by the gateway (opted out)"


def morning_releases() -> list[Release]:
    return [
        # Free text that quotes a contact (a producer line with a press-office address) must
        # still never reach a page.
        make_release(LATE, producer="Office for Example Statistics (press@example.com)"),
        make_release(
            ON_TIME,
            due=at(7, 0),
            title="GDP first quarterly estimate, UK: April to June 2025",
        ),
        make_release(
            TOMORROW,
            due=at(7, 0) + timedelta(days=1),
            title="Consumer price inflation, UK: June 2025",
            readiness=Readiness(notify=("stats_team",), escalate_to=("lead_official",)),
        ),
    ]


def refuse_sms(message: Message) -> SendError | None:
    """The SMS gateway refuses the web publisher's number for good, quoting it (as they do)."""
    return SendError(GATEWAY_REFUSAL, permanent=True)


def morning(make: Callable[..., LiveScenario], until: datetime | None = None) -> LiveScenario:
    """A morning run from 06:50 to `until` (09:42): GDP live on time, labour market late with
    its SMS refused."""
    s = make(
        releases=morning_releases(),
        live={LATE: never, ON_TIME: lambda now: now >= at(7, 0, 20), TOMORROW: never},
        sms_fail=refuse_sms,
        start=at(6, 50),
    )
    s.run_until(until or at(9, 42), step=timedelta(seconds=30))
    return s


def confirm_link(s: LiveScenario) -> str:
    """A readiness link for tomorrow's release, as the 14:00 reminder will carry."""
    link = s.links.confirm_url(TOMORROW, "stats_team", s.clock.now(), at(7, 0) + timedelta(days=1))
    assert link is not None
    return link


# Every page a person can reach, by name: the board's views, each release, the forms that
# links in messages open, and the error pages.
PAGES: dict[str, Callable[[LiveScenario], str]] = {
    "board": lambda s: s.url("/"),
    "board-today": lambda s: s.url("/?view=today"),
    "board-tomorrow": lambda s: s.url("/?view=tomorrow"),
    "board-week": lambda s: s.url("/?view=week"),
    "release-late": lambda s: s.url(f"/r/{LATE}"),
    "release-on-time": lambda s: s.url(f"/r/{ON_TIME}"),
    "release-tomorrow": lambda s: s.url(f"/r/{TOMORROW}"),
    "punctuality": lambda s: s.url("/punctuality"),
    "punctuality-late": lambda s: s.url("/punctuality?verdict=late&sort=late&order=desc"),
    "ack": lambda s: s.link_sent_to("stats_team", "email"),
    "confirm": confirm_link,
    "not-found": lambda s: s.url("/no-such-page"),
    "damaged-link": lambda s: s.url("/a/not-a-real-token"),
    "damaged-confirm-link": lambda s: s.url("/c/not-a-real-token"),
    "damaged-dashboard-link": lambda s: s.url("/d/not-a-real-token/"),
}


# -- a busy morning: thirty releases at 09:31 ---------------------------------------------------
BUSY_LATE = "busy-late-0905"  # due 09:05, never live
BUSY_FAILED = "busy-late-0920"  # due 09:20, never live, its SMS at 09:30 refused
BUSY_LIVE_LATE = "busy-live-late-0910"  # due 09:10, live at 09:14
BUSY_DUE_NOW = "busy-due-now-0930"  # due 09:30, not live at 09:31 (within its grace)
BUSY_ON_TIME = tuple(f"busy-on-time-{n:02d}" for n in range(1, 13))  # due 09:30, live 09:30:20
BUSY_LATER = tuple(f"busy-later-{n:02d}" for n in range(1, 15))  # 09:45 to 13:00
BUSY_SUMMARY = (
    "2 late · 1 message failed · 1 due now, not live yet · 1 live late · 12 live on time"
    " · 14 not due yet"
)


def busy_releases() -> list[Release]:
    def rel(rid: str, due: datetime, title: str) -> Release:
        return make_release(rid, due=due, title=title, producer="Office for Example Statistics")

    releases = [
        rel(BUSY_LATE, at(9, 5), "Average weekly earnings, UK: July 2025"),
        rel(BUSY_FAILED, at(9, 20), "Labour market overview, UK: July 2025"),
        rel(BUSY_LIVE_LATE, at(9, 10), "Public sector finances, UK: June 2025"),
        rel(BUSY_DUE_NOW, at(9, 30), "Retail sales, Great Britain: June 2025"),
    ]
    releases += [
        rel(rid, at(9, 30), f"Regional economic indicators {n}: July 2025")
        for n, rid in enumerate(BUSY_ON_TIME, start=1)
    ]
    releases += [
        rel(rid, at(9, 45) + timedelta(minutes=15 * n), f"Business survey {n + 1}: July 2025")
        for n, rid in enumerate(BUSY_LATER)
    ]
    return releases


def busy_morning(make: Callable[..., LiveScenario]) -> LiveScenario:
    """Thirty releases at 09:31: two late (one with its SMS refused), one live 4 minutes late,
    twelve live on time, one just due, fourteen not due yet."""
    live: dict[str, Callable[[datetime], bool]] = {r: never for r in BUSY_LATER}
    live |= {r: (lambda now: now >= at(9, 30, 20)) for r in BUSY_ON_TIME}
    live |= {BUSY_LATE: never, BUSY_FAILED: never, BUSY_DUE_NOW: never}
    live[BUSY_LIVE_LATE] = lambda now: now >= at(9, 14)

    def refuse_one(message: Message) -> SendError | None:
        return refuse_sms(message) if message.key.startswith(BUSY_FAILED + "|") else None

    s = make(releases=busy_releases(), live=live, sms_fail=refuse_one, start=at(8, 55))
    s.run_until(at(9, 31), step=timedelta(seconds=30))
    return s
