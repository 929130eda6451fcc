"""On time is never early: a check's time is when its answer arrived, on the real wire.

The origin is slow enough that the request straddles the due time: it leaves at 09:29:59 by
the injected clock, and the server moves the clock past 09:30 before it answers. A whole
Watchdog tick then judges it, on both kinds of live rule.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from releasewatch.clock import FixedClock
from releasewatch.model import LiveRule, NotificationKind, ReleaseState
from releasewatch.probe import HttpProber
from releasewatch.service import Watchdog
from tests.factories import DUE, make_release
from tests.fakes import InMemoryStore, RecordingNotifier
from tests.probe_support import TITLE, Handler, as_json, loopback_server, publication_item

PATH = "/government/statistics/labour-market-overview-uk-july-2025"
LIVE_PAGE = f"<html><body><h1>{TITLE}</h1><p>Main points</p></body></html>".encode()
S = timedelta(seconds=1)


def slow_origin(
    clock: FixedClock, answered_at: datetime, first_published: datetime
) -> Callable[[Handler], None]:
    def route(h: Handler) -> None:
        clock.set(answered_at)  # the due time passes while the origin thinks
        time.sleep(0.2)
        if h.route_path.startswith("/api/content/"):
            item = publication_item(first_published.isoformat())
            h.reply(200, as_json(item), {"Content-Type": "application/json"})
        else:
            h.reply(200, LIVE_PAGE, {"Content-Type": "text/html; charset=utf-8"})

    return route


async def tick_once(
    rule: LiveRule, start: datetime, answered_at: datetime, first_published: datetime
) -> tuple[InMemoryStore, list[str]]:
    """One tick at `start` against an origin that answers at `answered_at` by the clock."""
    clock = FixedClock(start)
    store = InMemoryStore()
    email, sms = RecordingNotifier(), RecordingNotifier()
    with loopback_server(slow_origin(clock, answered_at, first_published)) as server:
        release = make_release(url=server.url(PATH), rule=rule, allow_loopback=True)
        store.apply_releases([release], clock.now())
        prober = HttpProber(clock)
        try:
            await Watchdog(store, prober, {"email": email, "sms": sms}, clock).tick()
        finally:
            await prober.aclose()
    kinds = [m.key.split("|")[1] for m in email.sent + sms.sent]
    return store, kinds


def _state(store: InMemoryStore) -> ReleaseState:
    record = store.get_release("lms-2025-07")
    assert record is not None
    return record.state


async def test_a_page_answered_after_due_to_a_request_sent_before_is_on_time() -> None:
    rule = LiveRule(contains=(TITLE,))
    store, kinds = await tick_once(rule, DUE - S, DUE + 2 * S, DUE)
    assert _state(store) == ReleaseState.LIVE
    assert NotificationKind.EARLY.value not in kinds
    assert NotificationKind.REPORT.value not in kinds  # no breach report
    check = store.checks("lms-2025-07")[-1]
    assert check.at == DUE + 2 * S  # when the answer arrived
    assert check.started_at == DUE - S  # when the request left


async def test_govuk_mode_published_at_due_and_answered_after_it_is_on_time() -> None:
    rule = LiveRule(govuk=True)
    store, kinds = await tick_once(rule, DUE - S, DUE + 2 * S, DUE + S)
    assert _state(store) == ReleaseState.LIVE
    assert NotificationKind.EARLY.value not in kinds
    assert NotificationKind.REPORT.value not in kinds
    record = store.get_release("lms-2025-07")
    assert record is not None and record.live_at == DUE + S  # GOV.UK's first_published_at


async def test_govuk_mode_published_before_due_is_early_even_when_seen_after() -> None:
    rule = LiveRule(govuk=True)
    published = DUE - 60 * S
    store, kinds = await tick_once(rule, DUE + 30 * S, DUE + 31 * S, published)
    assert _state(store) == ReleaseState.EARLY
    assert NotificationKind.EARLY.value in kinds
    record = store.get_release("lms-2025-07")
    assert record is not None and record.live_at == published


async def test_our_clock_behind_the_servers_does_not_make_an_on_time_page_early() -> None:
    # The page went live at 09:30:00 by the server's clock (its Date header); ours is 3 s
    # behind, so the answer arrives at 09:29:58 by ours. Before the Date header was read, that
    # was an EARLY state, an early-release breach notice and a breach report: all untrue.
    import email.utils

    clock = FixedClock(DUE - 5 * S)
    store = InMemoryStore()
    email_out, sms = RecordingNotifier(), RecordingNotifier()

    def route(h: Handler) -> None:
        clock.set(DUE - 2 * S)  # our clock when the answer arrives
        server_now = DUE + S  # the server's clock at the same moment
        h.date_time_string = lambda timestamp=None: email.utils.format_datetime(  # type: ignore[method-assign]
            server_now, usegmt=True
        )
        h.reply(200, LIVE_PAGE, {"Content-Type": "text/html; charset=utf-8"})

    with loopback_server(route) as server:
        release = make_release(url=server.url(PATH), rule=LiveRule(contains=(TITLE,)))
        store.apply_releases([release.model_copy(update={"allow_loopback": True})], clock.now())
        prober = HttpProber(clock)
        try:
            await Watchdog(store, prober, {"email": email_out, "sms": sms}, clock).tick()
        finally:
            await prober.aclose()
    check = store.checks("lms-2025-07")[-1]
    assert check.at == DUE - 2 * S and check.origin_date == DUE + S
    assert _state(store) == ReleaseState.LIVE
    kinds = [m.key.split("|")[1] for m in email_out.sent + sms.sent]
    assert NotificationKind.EARLY.value not in kinds
