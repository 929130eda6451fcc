"""What the public sees counts (issue 17): the public path beside the origin, on the wire.

A loopback server plays both: a request with the cache-busting parameter and no-cache headers
reaches "the origin"; a plain one gets "the CDN's copy". A CDN cannot serve what the origin
never had, so this release's publication in the CDN's copy proves it live; a stale copy (a
cached 404, last year's edition) proves nothing. Both rule kinds, both copies in the evidence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from releasewatch.model import Check, LiveRule, Release
from releasewatch.notify.context import _check_lines
from releasewatch.probe import HttpProber, ProbeSettings
from releasewatch.probe.rules import default_rule
from tests.probe_support import (
    DUE,
    PUBLICATION,
    TITLE,
    FakeClock,
    Handler,
    as_json,
    loopback_server,
    make_release,
    publication_item,
)

PAGES = Path(__file__).parent.parent / "fixtures" / "govuk" / "pages"
THIS_YEAR = "2025-07-17T08:30:04.000+00:00"  # at the due time
LAST_YEAR = "2024-07-18T08:30:02.000+00:00"  # last year's edition, same path
HTML = {"Content-Type": "text/html; charset=utf-8"}
JSON = {"Content-Type": "application/json"}


def publication_page(first: str) -> bytes:
    text = (PAGES / "publication.html").read_text()
    return text.format(
        title=TITLE,
        first_published_at=first,
        public_updated_at=first,
        withdrawn_meta="",
        withdrawn_notice="",
    ).encode()


def to_origin(h: Handler) -> bool:
    """The request a cache must pass to the origin: busted, and asking for no cached copy."""
    return "rwcb" in h.query and h.headers.get("Cache-Control") == "no-cache"


def origin_and_cdn(
    origin: Callable[[Handler], None], cdn: Callable[[Handler], None]
) -> Callable[[Handler], None]:
    def route(h: Handler) -> None:
        (origin if to_origin(h) else cdn)(h)

    return route


def overloaded(h: Handler) -> None:
    h.reply(503, b"<html><h1>Sorry, we're experiencing technical difficulties</h1></html>", HTML)


def not_found(h: Handler) -> None:
    h.reply(404, b"<html><h1>Page not found</h1></html>", {**HTML, "X-Cache": "MISS"})


def cached_404(h: Handler) -> None:
    h.reply(404, b"<html><h1>Page not found</h1></html>", {**HTML, "Age": "240", "X-Cache": "HIT"})


def serves(body: bytes, headers: dict[str, str]) -> Callable[[Handler], None]:
    def route(h: Handler) -> None:
        h.reply(200, body, headers)

    return route


def page_mode(url: str) -> Release:
    # The default content rule, as config applies it: title present, no error wording.
    rule = default_rule(TITLE, LiveRule(), url)
    return make_release(url, rule=rule, allow_loopback=True)


def govuk_mode(url: str) -> Release:
    return make_release(url, rule=LiveRule(govuk=True), allow_loopback=True)


def page(first: str, **cache: str) -> Callable[[Handler], None]:
    return serves(publication_page(first), {**HTML, **cache})


def item(first: str, **cache: str) -> Callable[[Handler], None]:
    return serves(as_json(publication_item(first)), {**JSON, **cache})


MODES: dict[str, tuple[Callable[[str], Release], Callable[..., Callable[[Handler], None]]]] = {
    "page": (page_mode, page),
    "govuk": (govuk_mode, item),
}


async def probe(release: Release, **settings: Any) -> Check:
    prober = HttpProber(FakeClock(at=DUE + timedelta(minutes=1)), ProbeSettings(**settings))
    try:
        return await prober.probe(release)
    finally:
        await prober.aclose()


@pytest.mark.parametrize("mode", MODES)
async def test_origin_503_but_the_cdn_serves_this_release_is_live(mode: str) -> None:
    make, copy = MODES[mode]
    route = origin_and_cdn(overloaded, copy(THIS_YEAR, Age="12", **{"X-Cache": "HIT"}))
    with loopback_server(route) as server:
        check = await probe(make(server.url(PUBLICATION)))
        plain = [s for s in server.seen if "rwcb" not in s.query]
    assert check.live, check.reason
    assert check.error is None
    # Both answers in the evidence: the origin's on the Check, the public's beside it.
    assert check.status == 503
    assert check.public is not None
    assert (check.public.status, check.public.live) == (200, True)
    assert (check.public.age, check.public.x_cache) == ("12", "HIT")
    assert check.published_at is not None and check.published_at.year == 2025
    assert check.reason.startswith("the public path serves it")
    assert "the origin: status 503" in check.reason
    # The public request is a plain one: no parameter, no no-cache headers.
    assert plain and all("cache-control" not in s.headers for s in plain)
    assert all("pragma" not in s.headers for s in plain)


@pytest.mark.parametrize("mode", MODES)
async def test_origin_404_and_last_years_edition_cached_is_not_live(mode: str) -> None:
    make, copy = MODES[mode]
    route = origin_and_cdn(not_found, copy(LAST_YEAR, Age="290", **{"X-Cache": "HIT"}))
    with loopback_server(route) as server:
        check = await probe(make(server.url(PUBLICATION)))
    assert not check.live, check.reason
    assert check.status == 404
    assert check.public is not None and not check.public.live
    assert check.public.status == 200
    assert "an earlier edition" in check.public.reason
    assert check.published_at is None


@pytest.mark.parametrize("mode", MODES)
async def test_origin_live_and_a_stale_cached_404_is_live_with_both_in_evidence(
    mode: str,
) -> None:
    make, copy = MODES[mode]
    route = origin_and_cdn(copy(THIS_YEAR, **{"X-Cache": "MISS"}), cached_404)
    with loopback_server(route) as server:
        check = await probe(make(server.url(PUBLICATION)), public_path="always")
    assert check.live, check.reason
    assert check.status == 200 and check.x_cache == "MISS"
    assert check.public is not None and not check.public.live
    assert (check.public.status, check.public.age, check.public.x_cache) == (404, "240", "HIT")
    # Shown where evidence is shown: the release's check lines in messages and reports.
    lines = "\n".join(_check_lines(check))
    assert "public path (not cache-busted): status 404 (age 240, x-cache HIT), not live" in lines


@pytest.mark.parametrize("mode", MODES)
async def test_by_default_the_public_path_is_not_asked_when_the_origin_shows_it_live(
    mode: str,
) -> None:
    make, copy = MODES[mode]
    route = origin_and_cdn(copy(THIS_YEAR), cached_404)
    with loopback_server(route) as server:
        check = await probe(make(server.url(PUBLICATION)))
        plain = [s for s in server.seen if "rwcb" not in s.query]
    assert check.live and check.public is None
    assert plain == []  # politeness: one request, not two


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("answer", ["404", "not yet", "503"])
async def test_beside_a_clean_not_live_origin_the_public_path_is_asked_once_a_minute(
    mode: str, answer: str
) -> None:
    # A clean "not live" from the origin (a 404, a page that is not this release): the public
    # path is asked beside it once a minute, not at every check, so the busiest minute costs
    # one request per check; an origin that fails (503) has it asked every time. The first
    # check asks it; then once in each of the release's own minutes (probe/recheck.py: each
    # release at its own moment, so that releases checked together do not all ask at once).
    make, copy = MODES[mode]
    origin = {"404": not_found, "not yet": copy(LAST_YEAR), "503": overloaded}[answer]
    route = origin_and_cdn(origin, cached_404)
    clock = FakeClock(at=DUE + timedelta(minutes=1))
    prober = HttpProber(clock, ProbeSettings())
    asked = []
    with loopback_server(route) as server:
        release = make(server.url(PUBLICATION))
        try:
            for _ in range(19):  # every 10 s for three minutes
                before = len([s for s in server.seen if "rwcb" not in s.query])
                check = await prober.probe(release)
                assert not check.live, check.reason
                asked.append(len([s for s in server.seen if "rwcb" not in s.query]) > before)
                assert asked[-1] == (check.public is not None)
                clock.at += timedelta(seconds=10)
        finally:
            await prober.aclose()
    if answer == "503":
        assert asked == [True] * 19
    else:
        at = [10 * i for i, yes in enumerate(asked) if yes]  # seconds after the first check
        assert at[0] == 0
        assert 0 < at[1] <= 60, at  # within the minute, at the release's own moment
        assert [b - a for a, b in pairwise(at[1:])] == [60, 60], at


async def test_releases_checked_together_ask_the_public_path_in_different_rounds() -> None:
    # 09:30 with 300 releases: all first seen together, checked every 10 s together. Asking
    # the public path all in the same round, every minute, would double that round's requests
    # and the politeness budget would queue them past the 10 s interval.
    clock = FakeClock(at=DUE + timedelta(minutes=1))
    prober = HttpProber(clock, ProbeSettings())
    rounds = []
    with loopback_server(origin_and_cdn(not_found, cached_404)) as server:
        releases = [
            make_release(server.url(PUBLICATION), id=f"release-{n}", allow_loopback=True)
            for n in range(12)
        ]
        try:
            for _ in range(7):  # every 10 s for a minute
                checks = await prober.probe_many(releases)
                rounds.append(sum(c.public is not None for c in checks))
                clock.at += timedelta(seconds=10)
        finally:
            await prober.aclose()
    assert rounds[0] == 12  # the first check asks it
    assert sum(rounds[1:]) == 12 and max(rounds[1:]) <= 6, rounds  # once each, spread out


async def test_a_withdrawn_copy_on_the_public_path_is_not_this_release() -> None:
    withdrawn = (
        (PAGES / "publication.html")
        .read_text()
        .format(
            title=TITLE,
            first_published_at=THIS_YEAR,
            public_updated_at=THIS_YEAR,
            withdrawn_meta='<meta name="govuk:withdrawn" content="withdrawn">',
            withdrawn_notice="<p>This publication was withdrawn on 7 March 2026</p>",
        )
        .encode()
    )
    route = origin_and_cdn(overloaded, serves(withdrawn, HTML))
    with loopback_server(route) as server:
        check = await probe(page_mode(server.url(PUBLICATION)))
    assert not check.live
    assert check.public is not None and "withdrawn" in check.public.reason


async def test_the_public_path_follows_the_announcements_content_redirect() -> None:
    # GOV.UK mode from the announcement: the CDN's copy of its item is already the redirect.
    from tests.probe_support import ANNOUNCEMENT, redirect_item

    def cdn(h: Handler) -> None:
        items = {ANNOUNCEMENT: redirect_item(), PUBLICATION: publication_item(THIS_YEAR)}
        found = items.get(h.route_path.removeprefix("/api/content"))
        if found is None:
            h.reply(404, b"{}", JSON)
        else:
            h.reply(200, json.dumps(found).encode(), JSON)

    with loopback_server(origin_and_cdn(overloaded, cdn)) as server:
        check = await probe(govuk_mode(server.url(ANNOUNCEMENT)))
    assert check.live, check.reason
    assert check.public is not None and check.public.judged_url is not None
    assert check.public.judged_url.endswith(PUBLICATION)
    assert check.judged_url == check.public.judged_url


class TickingClock:
    """Each reading a second after the last: which answer's time a check keeps is visible."""

    def __init__(self) -> None:
        self.calls: list[datetime] = []

    def now(self) -> datetime:
        at = DUE + timedelta(minutes=1, seconds=len(self.calls))
        self.calls.append(at)
        return at

    async def sleep(self, seconds: float) -> None:
        return None


@pytest.mark.parametrize(("cdn_live", "answer"), [(False, "origin"), (True, "public")])
async def test_a_check_is_timed_by_the_answer_that_decided_it(cdn_live: bool, answer: str) -> None:
    # Not live: the origin's answer is the evidence of when it was not live (a stale public
    # copy says nothing of the time). Live by the public path: when that copy came.
    cdn = page(THIS_YEAR) if cdn_live else cached_404
    clock = TickingClock()
    prober = HttpProber(clock, ProbeSettings())  # type: ignore[arg-type]
    with loopback_server(origin_and_cdn(not_found, cdn)) as server:
        try:
            check = await prober.probe(page_mode(server.url(PUBLICATION)))
        finally:
            await prober.aclose()
    assert check.live is cdn_live and check.public is not None
    # Readings: the probe began, the origin was asked, answered; the public path likewise.
    _, origin_asked, origin_answered, _, public_answered = clock.calls
    assert check.started_at == origin_asked
    assert check.at == (public_answered if answer == "public" else origin_answered)
