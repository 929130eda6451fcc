"""A watchdog sending through the loopback fake of Notify, with Notify's callbacks served by the
local web server: what the receipt and reply tests share."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import httpx

from releasewatch.acks.by_reply import inbound_callback
from releasewatch.bootstrap import notify_client, notify_notifiers
from releasewatch.links.tokens import TokenCodec
from releasewatch.model import Chain, Release, Step
from releasewatch.notify.govuk_notify import NotifyClient, NotifySettings
from releasewatch.service import TickReport, Watchdog
from releasewatch.store.base import Store
from releasewatch.store.memory import InMemoryStore
from releasewatch.web.app import WebApp
from releasewatch.web.local_server import serve
from releasewatch.web.notify_callbacks import NotifyCallbacks
from tests.factories import CONTACTS, DUE, make_release
from tests.fakes import FixedClock, ScriptedProber
from tests.notify_fake import API_KEY, EMAIL_TEMPLATE, SMS_TEMPLATE, FakeNotify, serve_notify

TOKEN = "callback-bearer-token-0123456789"
M = timedelta(minutes=1)

# Web publisher by text alone at +10m (repeating), lead official by email at +30m, head of
# profession's breach notice at +60m: every step through Notify.
CHAIN = Chain(
    id="notify",
    steps=(
        Step(after=5 * M, notify=("stats_team",), channels=("notify_email",)),
        Step(after=10 * M, notify=("web_publisher",), channels=("notify_sms",), repeat=10 * M),
        Step(after=30 * M, notify=("lead_official",), channels=("notify_sms",)),
        Step(
            after=60 * M,
            notify=("head_of_profession",),
            channels=("notify_sms",),
            kind="breach",
        ),
    ),
)


def notify_release(**overrides: object) -> Release:
    return make_release(chain=CHAIN, contacts=CONTACTS, **overrides)


@dataclass
class NotifyWorld:
    clock: FixedClock
    store: Store
    fake: FakeNotify
    watchdog: Watchdog
    client: NotifyClient
    web_url: str
    release: Release
    live: list[bool]

    def tick(self, at: timedelta | None = None) -> TickReport:
        if at is not None:
            self.clock.set(DUE + at)
        return asyncio.run(self.watchdog.tick())

    def receipt(self, index: int, status: str, token: str = TOKEN) -> int:
        message = self.fake.sent[index]
        self.fake.deliver(message, status)
        payload = self.fake.receipt_payload(message, status)
        return self.fake.callback(self.web_url + "/notify/receipts", token, payload).status_code

    def reply(self, number: str, text: str, token: str = TOKEN) -> httpx.Response:
        """A text to the service's reply number, called back as Notify does."""
        received = self.fake.reply(number, text)
        payload = self.fake.inbound_payload(received)
        return self.fake.callback(self.web_url + "/notify/inbound", token, payload)

    def texts_to(self, number: str) -> list[str]:
        return [m.personalisation["body"] for m in self.fake.sent if m.to == number]

    def delivery(self, reference: str | None):  # type: ignore[no-untyped-def]
        return next(d for d in self.store.deliveries(self.release.id) if d.key == reference)


@contextlib.contextmanager
def notify_world(
    *, callbacks: bool = True, replies: bool = True, max_attempts: int = 3
) -> Iterator[NotifyWorld]:
    clock = FixedClock(DUE - 20 * M)
    store = InMemoryStore()
    release = notify_release()
    store.apply_releases([release], clock.now())
    live = [False]
    prober = ScriptedProber(clock, lambda now: live[0])
    fake = FakeNotify(now=clock.now)
    with serve_notify(fake) as notify_url:
        settings = NotifySettings(
            EMAIL_TEMPLATE, SMS_TEMPLATE, base_url=notify_url, replies=replies
        )
        client = notify_client(settings, API_KEY, clock)
        notifiers = notify_notifiers(client, settings, transport="notify")
        watchdog = Watchdog(store, prober, notifiers, clock, max_attempts=max_attempts)
        hooks = (
            NotifyCallbacks(
                store,
                clock,
                TOKEN.encode(),
                max_attempts=max_attempts,
                inbound=inbound_callback if replies else None,
            )
            if callbacks
            else None
        )
        app = WebApp(store, TokenCodec(b"k" * 32), clock, callbacks=hooks)
        with serve(app, port=0) as web_url:
            yield NotifyWorld(clock, store, fake, watchdog, client, web_url, release, live)
