"""The politeness budget per host (issue 21), on the wire: requests per second across every
release to one host, both paths counted, 429 and Retry-After honoured.

Time is virtual (the budget's injected monotonic clock and sleep): a wait for a slot advances
it, so a burst of 300 releases is spread over virtual seconds and the assertions are counts
per virtual second, never wall-clock timings.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from releasewatch.model import LiveRule, Release
from releasewatch.probe import HttpProber, ProbeSettings
from releasewatch.probe.budget import MAX_PAUSE, HostBudget
from tests.probe_support import DUE, TITLE, FakeClock, Handler, loopback_server, make_release

LIVE = f"<html><h1>{TITLE}</h1></html>".encode()
HOT_INTERVAL = 10.0  # Cadence().hot, in seconds


class VirtualTime:
    """A monotonic clock that moves only when someone sleeps."""

    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t = max(self.t, self.t + seconds)
        await asyncio.sleep(0)


def releases(url: str, count: int) -> list[Release]:
    rule = LiveRule(contains=(TITLE,))
    return [
        make_release(f"{url}/r{i}", id=f"r{i}", rule=rule, allow_loopback=True)
        for i in range(count)
    ]


def prober(time: VirtualTime, rate: float, **settings: object) -> HttpProber:
    budget = HostBudget({"127.0.0.1": rate}, monotonic=time.now, sleep=time.sleep)
    return HttpProber(FakeClock(), ProbeSettings(**settings), budget=budget)  # type: ignore[arg-type]


@pytest.mark.parametrize(("rate", "within_hot_interval"), [(60.0, True), (20.0, False)])
async def test_a_burst_of_300_releases_stays_within_the_hosts_budget(
    rate: float, within_hot_interval: bool
) -> None:
    def live(h: Handler) -> None:
        h.reply(200, LIVE)

    time = VirtualTime()
    p = prober(time, rate)
    with loopback_server(live) as server:
        try:
            checks = await p.probe_many(releases(server.url(""), 300))
        finally:
            await p.aclose()
        on_the_wire = len(server.seen)
    # Every release probed and judged, none refused or timed out for want of a slot.
    assert [c.release_id for c in checks] == [f"r{i}" for i in range(300)]
    assert all(c.live for c in checks), {c.reason for c in checks if not c.live}
    # Every request the server saw was counted, and no second had more than the rate.
    per_second = p.budget.per_second("127.0.0.1")
    assert sum(per_second.values()) == on_the_wire == 300
    assert max(per_second.values()) <= rate
    # 300 requests at `rate` a second take 300 / rate seconds: within the hot interval
    # (10 s) at 60 a second, not at 20 (the arithmetic in docs/how-it-decides.md).
    span = max(per_second) - min(per_second) + 1
    assert span == 300 / rate
    assert (span <= HOT_INTERVAL) is within_hot_interval
    busiest = p.budget.busiest_minutes()
    assert [(b.host, b.requests) for b in busiest] == [("127.0.0.1", 300)]


async def test_both_paths_count_against_the_same_budget() -> None:
    def origin_down_cdn_up(h: Handler) -> None:
        h.reply(503 if "rwcb" in h.query else 200, LIVE)

    time = VirtualTime()
    p = prober(time, 10.0)
    with loopback_server(origin_down_cdn_up) as server:
        try:
            checks = await p.probe_many(releases(server.url(""), 20))
        finally:
            await p.aclose()
        on_the_wire = len(server.seen)
    assert all(c.live and c.public is not None for c in checks)
    per_second = p.budget.per_second("127.0.0.1")
    assert sum(per_second.values()) == on_the_wire == 40  # origin + public, each release
    assert max(per_second.values()) <= 10


@pytest.mark.parametrize(
    ("header", "paused"),
    [("30", timedelta(seconds=30)), ("86400", MAX_PAUSE), (None, timedelta(seconds=10))],
)
async def test_a_429_pauses_the_host_for_its_retry_after_capped(
    header: str | None, paused: timedelta
) -> None:
    def busy_once(h: Handler) -> None:
        if len(h.server.seen) == 1:
            h.reply(429, b"slow down", {"Retry-After": header} if header else {})
        else:
            h.reply(200, LIVE)

    time = VirtualTime()
    p = prober(time, 100.0)
    with loopback_server(busy_once) as server:
        try:
            first = await p.probe(releases(server.url(""), 1)[0])
            during = await p.probe_many(releases(server.url(""), 5))
            asked_during = len(server.seen)
            time.t += paused.total_seconds() + 0.01
            after = await p.probe(releases(server.url(""), 1)[0])
        finally:
            await p.aclose()
    assert first.error == "rate_limited" and first.status == 429
    assert f"{paused.total_seconds():g}s" in first.reason
    # Nothing sent while the pause runs: each probe says why instead.
    assert asked_during == 1
    assert all(c.error == "rate_limited" and "asked for a pause" in c.reason for c in during)
    assert after.live, after.reason


async def test_hosts_have_their_own_budgets_and_a_host_not_named_is_not_limited() -> None:
    time = VirtualTime()
    budget = HostBudget({"www.gov.uk": 2.0}, monotonic=time.now, sleep=time.sleep)
    waits = [await budget.take("gov.uk") for _ in range(4)]  # www. or not: one service
    assert waits == [0.0, 0.5, 0.5, 0.5]  # each waits for its own slot, in order
    assert [await budget.take("example.com") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert budget.requests() == {"gov.uk": 4, "example.com": 3}
    assert [b.host for b in budget.busiest_minutes()] == ["gov.uk", "example.com"]


def test_a_rate_that_is_not_positive_is_refused() -> None:
    with pytest.raises(ValueError, match=r"requests per second for www\.gov\.uk must be positive"):
        HostBudget({"www.gov.uk": 0})


def test_the_defaults_budget_govuk_and_ons() -> None:
    budget = HostBudget()
    assert set(budget.rates) == {"gov.uk", "ons.gov.uk"}


async def test_the_budget_wait_is_not_charged_to_the_probes_total_timeout() -> None:
    # 4 releases at 1 a second on real time: the last waits 3 s for its slot, past its 2 s
    # total timeout, and is still probed, not timed out (the wait extends its deadline).
    def live(h: Handler) -> None:
        h.reply(200, LIVE)

    budget = HostBudget({"127.0.0.1": 1.0})
    p = HttpProber(FakeClock(at=DUE), ProbeSettings(total_timeout=2.0), budget=budget)
    with loopback_server(live) as server:
        try:
            checks = await p.probe_many(releases(server.url(""), 4))
        finally:
            await p.aclose()
    assert all(c.live for c in checks), [c.reason for c in checks]


async def test_a_report_can_print_what_the_busiest_minute_cost_each_host() -> None:
    time = VirtualTime()
    budget = HostBudget({"www.gov.uk": 50.0}, monotonic=time.now, sleep=time.sleep)
    for _ in range(120):
        await budget.take("www.gov.uk")
    for _ in range(30):
        await budget.take("statistics.example.gov.uk")
    assert budget.describe() == [
        "gov.uk: 120 requests in its busiest minute, 2.0 a second (budget 50 a second)",
        "statistics.example.gov.uk: 30 requests in its busiest minute, 0.5 a second (no budget)",
    ]


async def test_a_probe_queued_for_its_hosts_connections_is_not_timed_out_by_the_queue() -> None:
    # One connection to the host, 8 releases answered in 0.3 s each: the last waits about
    # 2.1 s for its turn, past the 2 s total; the total counts from its turn, not the queue.
    def slow(h: Handler) -> None:
        import time as wall

        wall.sleep(0.3)
        h.reply(200, LIVE)

    p = HttpProber(
        FakeClock(at=DUE),
        ProbeSettings(total_timeout=2.0, per_host_limit=1),
        budget=HostBudget({}),
    )
    with loopback_server(slow) as server:
        try:
            checks = await p.probe_many(releases(server.url(""), 8))
        finally:
            await p.aclose()
    assert all(c.live for c in checks), [c.reason for c in checks]


@pytest.mark.parametrize(
    ("header", "wait"),
    [
        ("120", timedelta(seconds=120)),
        ("Thu, 17 Jul 2025 08:31:30 GMT", timedelta(seconds=90)),  # an HTTP date, 90 s on
        ("Thu, 17 Jul 2025 08:29:00 GMT", timedelta(0)),  # already past
        ("9" * 40, timedelta(seconds=10**8)),  # absurd: bounded before the budget caps it
        ("soon", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_an_http_date(
    header: str | None, wait: timedelta | None
) -> None:
    from releasewatch.probe.http import retry_after

    assert retry_after(header, DUE) == wait


def test_the_probe_settings_rates_reach_the_budget() -> None:
    p = HttpProber(FakeClock(), ProbeSettings(host_rates={"WWW.Example.gov.uk": 3.0}))
    assert p.budget.rates == {"example.gov.uk": 3.0}
    assert HttpProber(FakeClock()).budget.rates == {"gov.uk": 50.0, "ons.gov.uk": 10.0}
