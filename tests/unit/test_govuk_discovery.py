"""GOV.UK mode end to end over httpx.MockTransport: what an announcement leads to, and finding
the publication when the announcement was left in place (see probe/discover.py).

Items are the real shapes (tests/fixtures/govuk/, tests/probe_support.py); the routing
function stands in for www.gov.uk and any other host, and records every request.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releasewatch.model import Check, LiveRule, Release
from releasewatch.probe import HttpProber, ProbeSettings
from tests.probe_support import (
    ANNOUNCEMENT,
    DUE,
    PUBLICATION,
    TITLE,
    FakeClock,
    announcement_item,
    as_json,
    make_release,
    publication_item,
    redirect_item,
)

HOST = "https://www.gov.uk"
GOVUK = LiveRule(govuk=True)
FIXTURES = Path(__file__).parent.parent / "fixtures" / "govuk"
DERIVED = "/government/statistics/labour-market-overview-july-2025"  # the announcement's slug
SEARCH = "/api/search.json"
ORG = "office-for-national-statistics"
Route = Callable[[httpx.Request], httpx.Response]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def guidance_item(path: str = "/government/publications/labour-market-guidance") -> Any:
    item = fixture("publication_guidance")
    item["base_path"] = path
    return item


def search_answer(*results: tuple[str, str]) -> bytes:
    """The search API's answer shape (GOVUK.md): results with the fields asked for."""
    rows = [
        {"title": title, "link": link, "public_timestamp": "2025-07-17T09:30:36.000+01:00"}
        for title, link in results
    ]
    return json.dumps({"results": rows, "total": len(rows), "start": 0}).encode()


class GovUk:
    """A www.gov.uk stand-in: content items by path, a search answer, other hosts' pages."""

    def __init__(
        self,
        items: dict[str, Any],
        *,
        search: bytes | None = None,
        pages: dict[str, httpx.Response] | None = None,
    ) -> None:
        self.items = items
        self.search = search
        self.pages = pages or {}
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        url = request.url
        if url.host != "www.gov.uk":
            return self.pages.get(f"{url.scheme}://{url.host}{url.path}", httpx.Response(404))
        if url.path == SEARCH:
            if self.search is None:
                return httpx.Response(404)
            return httpx.Response(200, content=self.search)
        path = url.path.removeprefix("/api/content")
        if url.path.startswith("/api/content/") and path in self.items:
            return httpx.Response(200, content=as_json(self.items[path]))
        if url.path in self.pages:
            return self.pages[url.path]
        return httpx.Response(404, text="Not found")

    def paths(self) -> list[str]:
        return [f"{r.url.host}{r.url.path}" for r in self.seen]


async def probe(
    route: Route, release: Release, at: datetime = DUE, prober: Any = None, **settings: Any
) -> Check:
    own = prober is None
    p = prober or prober_for(route, at, **settings)
    try:
        result: Check = await p.probe(release)
        return result
    finally:
        if own:
            await p.aclose()


def prober_for(route: Route, at: datetime = DUE, **settings: Any) -> HttpProber:
    return HttpProber(
        FakeClock(at=at),
        ProbeSettings(**settings),
        transport=httpx.MockTransport(route),
    )


def announcement_release(**overrides: Any) -> Release:
    return make_release(f"{HOST}{ANNOUNCEMENT}", rule=GOVUK, **overrides)


# -- what an announcement leads to -------------------------------------------------------------


async def test_announcement_redirected_to_a_guidance_page_is_not_live_and_says_so() -> None:
    guidance = "/government/publications/labour-market-guidance"
    site = GovUk({ANNOUNCEMENT: redirect_item(guidance), guidance: guidance_item(guidance)})
    check = await probe(site, announcement_release())
    assert not check.live
    assert f"announcement redirects to {guidance}" in check.reason
    assert f"a guidance page {guidance}, not a statistics publication" in check.reason
    assert check.published_at is None
    assert check.judged_url == f"{HOST}{guidance}"


async def test_announcement_redirected_to_a_live_publication_records_the_publication() -> None:
    site = GovUk({ANNOUNCEMENT: redirect_item(PUBLICATION), PUBLICATION: publication_item()})
    check = await probe(site, announcement_release())
    assert check.live, check.reason
    assert check.judged_url == f"{HOST}{PUBLICATION}"
    assert check.url.startswith(f"{HOST}/api/content{ANNOUNCEMENT}?rwcb=")


async def test_redirect_to_another_host_is_requested_in_full_and_never_live() -> None:
    item = redirect_item("https://somewhere.else.gov.uk")
    other = httpx.Response(200, text="<html>Somewhere else</html>")
    site = GovUk(
        {ANNOUNCEMENT: item, "/": fixture("homepage")},
        pages={"https://somewhere.else.gov.uk/": other},
    )
    # The origin's requests only (the public path is tested in test_public_path.py).
    check = await probe(site, announcement_release(), public_path="off")
    assert not check.live
    assert site.paths() == [f"www.gov.uk/api/content{ANNOUNCEMENT}", "somewhere.else.gov.uk/"]
    asked = site.seen[1].url
    assert asked.scheme == "https" and "rwcb" in asked.params  # busted like every request
    assert "somewhere.else.gov.uk" in check.reason
    assert "not a statistics publication" in check.reason
    assert check.judged_url == "https://somewhere.else.gov.uk/"
    assert check.published_at is None


async def test_redirect_to_another_host_goes_through_the_guard() -> None:
    # A content redirect cannot point the watchdog at the metadata service either.
    site = GovUk({ANNOUNCEMENT: redirect_item("https://169.254.169.254/latest/meta-data/")})
    check = await probe(site, announcement_release())
    assert not check.live
    assert check.error == "refused"
    assert site.paths() == [f"www.gov.uk/api/content{ANNOUNCEMENT}"]


async def test_content_request_redirected_off_the_host_is_not_judged_as_an_item() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "www.gov.uk":
            return httpx.Response(301, headers={"Location": "https://somewhere.else.gov.uk/x"})
        # Another host answering with a publication-shaped item must not pass for GOV.UK's.
        return httpx.Response(200, content=as_json(publication_item()))

    check = await probe(route, announcement_release())
    assert not check.live
    assert "redirected to another host" in check.reason
    assert check.judged_url == "https://somewhere.else.gov.uk/x"


async def test_the_homepage_item_is_never_live() -> None:
    site = GovUk({ANNOUNCEMENT: redirect_item("/"), "/": fixture("homepage")})
    check = await probe(site, announcement_release())
    assert not check.live
    assert "the GOV.UK homepage /, not a statistics publication" in check.reason


async def test_a_cancelled_announcement_is_not_live_and_nothing_else_is_looked_for() -> None:
    site = GovUk(
        {ANNOUNCEMENT: announcement_item("cancelled"), DERIVED: publication_item()},
        search=search_answer((TITLE, DERIVED)),
    )
    check = await probe(site, announcement_release(), at=DUE + timedelta(minutes=1))
    assert not check.live
    assert "cancelled" in check.reason
    assert site.paths() == [f"www.gov.uk/api/content{ANNOUNCEMENT}"]


# -- the announcement left in place ---------------------------------------------------------


def derived_publication() -> Any:
    item = publication_item()
    item["base_path"] = DERIVED
    return item


async def test_publication_live_at_the_derived_slug_is_live_though_the_announcement_stays() -> None:
    site = GovUk({ANNOUNCEMENT: announcement_item(), DERIVED: derived_publication()})
    check = await probe(site, announcement_release(), at=DUE + timedelta(seconds=10))
    assert check.live, check.reason
    assert check.judged_url == f"{HOST}{DERIVED}"
    assert check.published_at == datetime(2025, 7, 17, 8, 30, 36, tzinfo=UTC)
    assert "announcement: statistics announcement still in place" in check.reason
    assert site.paths() == [
        f"www.gov.uk/api/content{ANNOUNCEMENT}",
        f"www.gov.uk/api/content{DERIVED}",
    ]


async def test_derived_slug_is_not_asked_for_before_the_pre_window() -> None:
    site = GovUk({ANNOUNCEMENT: announcement_item(), DERIVED: derived_publication()})
    release = announcement_release()
    early = DUE - release.pre_window - timedelta(seconds=1)
    check = await probe(site, release, at=early, public_path="off")  # the origin's requests
    assert not check.live
    assert site.paths() == [f"www.gov.uk/api/content{ANNOUNCEMENT}"]


async def test_a_guidance_page_at_the_derived_slug_does_not_count() -> None:
    site = GovUk({ANNOUNCEMENT: announcement_item(), DERIVED: guidance_item(DERIVED)})
    check = await probe(site, announcement_release(), at=DUE - timedelta(minutes=5))
    assert not check.live
    assert f"a guidance page {DERIVED}, not a statistics publication" in check.reason


async def test_publication_under_another_slug_is_found_by_search() -> None:
    site = GovUk(
        {ANNOUNCEMENT: announcement_item(), PUBLICATION: publication_item()},
        search=search_answer(
            ("Labour market guidance", "/government/publications/labour-market-guidance"),
            ("LABOUR   market overview, UK \u2014 July 2025", PUBLICATION),
        ),
    )
    check = await probe(site, announcement_release(), at=DUE + timedelta(minutes=1))
    assert check.live, check.reason
    assert check.judged_url == f"{HOST}{PUBLICATION}"
    assert check.published_at == datetime(2025, 7, 17, 8, 30, 36, tzinfo=UTC)
    assert "found by GOV.UK search" in check.reason
    assert site.paths() == [
        f"www.gov.uk/api/content{ANNOUNCEMENT}",
        f"www.gov.uk/api/content{DERIVED}",
        f"www.gov.uk{SEARCH}",
        f"www.gov.uk/api/content{PUBLICATION}",
    ]


async def test_the_search_request_carries_no_cache_bust_param_and_filters_for_statistics() -> None:
    site = GovUk({ANNOUNCEMENT: announcement_item()}, search=search_answer())
    check = await probe(site, announcement_release(), at=DUE + timedelta(minutes=1))
    assert not check.live
    [search] = [r for r in site.seen if r.url.path == SEARCH]
    params = search.url.params
    assert "rwcb" not in params  # the search API answers 422 to unknown parameters
    assert len(params["c"]) >= 8  # its own cache-buster
    assert params.get_list("filter_organisations") == [ORG]
    assert sorted(params.get_list("filter_content_store_document_type")) == [
        "national_statistics",
        "official_statistics",
    ]
    assert params["filter_public_timestamp"] == "from:2025-07-17 08:15"  # due - pre_window, UTC
    assert params["order"] == "-public_timestamp"
    assert "no statistics publication with the announcement's title" in check.reason


async def test_a_search_result_must_itself_be_a_statistics_publication() -> None:
    guidance = "/government/publications/labour-market-overview-uk-july-2025"
    site = GovUk(
        {ANNOUNCEMENT: announcement_item(), guidance: guidance_item(guidance)},
        search=search_answer((TITLE, guidance)),
    )
    check = await probe(site, announcement_release(), at=DUE + timedelta(minutes=1))
    assert not check.live
    assert f"a guidance page {guidance}, not a statistics publication" in check.reason


async def test_search_waits_for_the_due_time_and_then_runs_at_most_every_five_minutes() -> None:
    site = GovUk({ANNOUNCEMENT: announcement_item()}, search=search_answer())
    release = announcement_release()
    clock = FakeClock(at=DUE - timedelta(seconds=10))
    p = HttpProber(clock, transport=httpx.MockTransport(site))
    try:
        searches = []
        for offset in (-10, 0, 10, 60, 299, 300, 310):
            clock.at = DUE + timedelta(seconds=offset)
            await p.probe(release)
            searches.append(sum(r.url.path == SEARCH for r in site.seen))
    finally:
        await p.aclose()
    assert searches == [0, 1, 1, 1, 1, 2, 2]


def test_titles_match_whatever_their_case_punctuation_and_spacing() -> None:
    from releasewatch.probe.discover import normalise_title  # new in this change

    assert normalise_title("Labour market overview, UK: July 2025") == normalise_title(
        "  labour MARKET overview \u2013 UK \u2014 July\u00a02025 "
    )
    assert normalise_title("Labour market overview, UK: July 2025") != normalise_title(
        "Labour market overview, UK: June 2025"
    )


# -- more than one URL -----------------------------------------------------------------------


async def test_a_named_publication_url_is_live_when_the_publication_is() -> None:
    elsewhere = "/government/statistics/lmo-july-2025-bulletin"
    item = publication_item()
    item["base_path"] = elsewhere
    site = GovUk({ANNOUNCEMENT: announcement_item(), elsewhere: item})
    release = announcement_release(publication_url=f"{HOST}{elsewhere}")
    check = await probe(site, release, at=DUE + timedelta(minutes=1))
    assert check.live, check.reason
    assert check.judged_url == f"{HOST}{elsewhere}"
    # A named publication replaces the guesses: no derived slug, no search.
    assert site.paths() == [
        f"www.gov.uk/api/content{ANNOUNCEMENT}",
        f"www.gov.uk/api/content{elsewhere}",
    ]


async def test_a_named_publication_not_yet_there_is_not_live_and_both_are_reported() -> None:
    elsewhere = "/government/statistics/lmo-july-2025-bulletin"
    site = GovUk({ANNOUNCEMENT: announcement_item()})
    release = announcement_release(publication_url=f"{HOST}{elsewhere}")
    check = await probe(site, release, at=DUE + timedelta(minutes=1))
    assert not check.live
    assert "statistics announcement still in place" in check.reason
    assert f"publication {HOST}{elsewhere}: content item not found" in check.reason
    assert check.judged_url == f"{HOST}{ANNOUNCEMENT}"  # the page whose item decided


async def test_a_missing_content_item_records_its_page_as_judged() -> None:
    release = make_release(f"{HOST}{PUBLICATION}", rule=GOVUK)
    check = await probe(GovUk({}), release)
    assert (check.live, check.status) == (False, 404)
    assert check.judged_url == f"{HOST}{PUBLICATION}"  # the page, not /api/content/...


async def test_page_mode_with_a_publication_url_judges_the_publication_page() -> None:
    pages = {
        ANNOUNCEMENT: httpx.Response(200, text=f"<h1>{TITLE}</h1> Release date: 17 July"),
        PUBLICATION: httpx.Response(200, text=f"<h1>{TITLE}</h1> Main points"),
    }
    release = make_release(f"{HOST}{ANNOUNCEMENT}", publication_url=f"{HOST}{PUBLICATION}")
    check = await probe(GovUk({}, pages=pages), release)
    assert check.live, check.reason
    assert check.judged_url == f"{HOST}{PUBLICATION}"
    before = await probe(GovUk({}, pages={ANNOUNCEMENT: pages[ANNOUNCEMENT]}), release)
    assert not before.live  # the announcement answering 200 is not the publication


async def test_page_mode_publication_found_through_the_announcements_redirect() -> None:
    # publication_url is a guess; GOV.UK published under another slug and redirected the
    # announcement there. Fails on 390e87f: not live (the announcement was never requested).
    real = "/government/statistics/labour-market-overview-uk-july-2025-bulletin"
    guessed = f"{HOST}{PUBLICATION}"
    pages = {
        ANNOUNCEMENT: httpx.Response(301, headers={"Location": real}),
        real: httpx.Response(200, text=f"<h1>{TITLE}</h1> Main points"),
    }
    site = GovUk({}, pages=pages)
    check = await probe(site, make_release(f"{HOST}{ANNOUNCEMENT}", publication_url=guessed))
    assert check.live, check.reason
    assert check.judged_url == f"{HOST}{real}"
    assert "announcement redirected" in check.reason
    # Redirected to the announcements list (cancelled without publication): not live.
    index = "/government/statistics/announcements"
    pages = {
        ANNOUNCEMENT: httpx.Response(301, headers={"Location": index}),
        index: httpx.Response(200, text=f"<h1>Research and statistics</h1>{TITLE}"),
    }
    rule = LiveRule(contains=(TITLE,))
    release = make_release(f"{HOST}{ANNOUNCEMENT}", publication_url=guessed, rule=rule)
    assert not (await probe(GovUk({}, pages=pages), release)).live


async def test_a_page_probe_records_its_final_url_as_judged() -> None:
    pages = {
        ANNOUNCEMENT: httpx.Response(301, headers={"Location": PUBLICATION}),
        PUBLICATION: httpx.Response(200, text="ok"),
    }
    check = await probe(GovUk({}, pages=pages), make_release(f"{HOST}{ANNOUNCEMENT}"))
    assert check.live
    assert check.judged_url == f"{HOST}{PUBLICATION}"


# -- config --------------------------------------------------------------------------------

CONFIG = """\
contacts:
  team: {name: Stats team, email: team@example.com}
chains:
  default:
    - {after: 5m, notify: [team]}
releases:
  - id: lms
    title: Labour market
    url: https://www.gov.uk/government/statistics/announcements/lms
    publication_url: PUBLICATION_URL
    due: 2025-07-17 09:30
    live: {govuk: true}
"""


def test_config_names_the_publication_beside_its_announcement() -> None:
    from releasewatch.config.load import parse_config

    text = CONFIG.replace("PUBLICATION_URL", "https://www.gov.uk/government/statistics/lms")
    release = parse_config(text).releases[0]
    assert release.url == "https://www.gov.uk/government/statistics/announcements/lms"
    assert release.publication_url == "https://www.gov.uk/government/statistics/lms"


def test_config_refuses_a_publication_url_that_cannot_be_watched_and_says_where() -> None:
    from releasewatch.config.load import parse_config
    from releasewatch.errors import ConfigError

    text = CONFIG.replace("PUBLICATION_URL", "http://www.gov.uk/government/statistics/lms")
    try:
        parse_config(text, "cfg.yaml")
    except ConfigError as exc:
        found = [str(p) for p in exc.problems]
    else:
        raise AssertionError("an http publication_url was accepted")
    assert len(found) == 1
    assert "releases[0].publication_url" in found[0] and "cfg.yaml" in found[0]
    assert "only https" in found[0]


async def test_gov_uk_without_www_is_the_same_site() -> None:
    # gov.uk answers with a redirect to www.gov.uk; that is GOV.UK's own item, not another host.
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.host == "gov.uk":
            return httpx.Response(301, headers={"Location": f"{HOST}{request.url.path}"})
        return GovUk({ANNOUNCEMENT: redirect_item(PUBLICATION), PUBLICATION: publication_item()})(
            request
        )

    check = await probe(route, make_release(f"https://gov.uk{ANNOUNCEMENT}", rule=GOVUK))
    assert check.live, check.reason


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "schema_name",
                    "redirects",
                    "destination",
                    "path",
                    "results",
                    "title",
                    "link",
                    "links",
                    "organisations",
                    "base_path",
                    "details",
                    "state",
                ]
            ),
            inner,
            max_size=4,
        )
    ),
    max_leaves=15,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(announcement=_json, derived=_json, search=_json)
def test_hostile_items_and_search_answers_give_a_check_never_an_exception(
    announcement: Any, derived: Any, search: Any
) -> None:
    def route(request: httpx.Request) -> httpx.Response:
        body = {f"/api/content{ANNOUNCEMENT}": announcement, SEARCH: search}.get(
            request.url.path, derived
        )
        return httpx.Response(200, content=json.dumps(body).encode())

    check = asyncio.run(probe(route, announcement_release(), at=DUE + timedelta(minutes=1)))
    assert check.reason
    assert not check.live  # no statistics publication anywhere in these answers


# -- a statistics page updated in place (one document, a new edition each release) -------------
# Some series (e.g. DESNZ's "Energy Trends" sections) republish one document each quarter: its
# first_published_at stays years old, public_updated_at is the edition's own time.


def in_place_item(public_updated_at: str) -> Any:
    item = publication_item(first_published_at="2013-03-28T09:30:00.000+00:00")
    item["public_updated_at"] = public_updated_at
    return item


async def test_a_page_republished_in_place_is_dated_by_this_edition_not_its_first_one() -> None:
    edition = "2025-07-17T08:30:36.000+00:00"  # due is 08:30 UTC: on time
    site = GovUk({ANNOUNCEMENT: redirect_item(PUBLICATION), PUBLICATION: in_place_item(edition)})
    check = await probe(site, announcement_release(), at=DUE + timedelta(seconds=40))
    assert check.live, check.reason
    # fails on 390e87f: published_at 2013-03-28 made this on-time release an early breach
    assert check.published_at == datetime(2025, 7, 17, 8, 30, 36, tzinfo=UTC)


async def test_last_quarters_edition_of_a_page_updated_in_place_is_not_this_release() -> None:
    # publication_url names the series page; before 09:30 it still shows last quarter's edition.
    last_quarter = "2025-04-17T08:30:12.000+00:00"
    site = GovUk({ANNOUNCEMENT: announcement_item(), PUBLICATION: in_place_item(last_quarter)})
    release = announcement_release(publication_url=f"{HOST}{PUBLICATION}")
    check = await probe(site, release, at=DUE - timedelta(hours=3))
    # fails on 390e87f: live, first published 2013, so an early breach 3 hours before due
    assert not check.live
    assert "earlier edition" in check.reason
    assert check.published_at is None


@pytest.mark.parametrize("updated", ["2025-07-14T08:30:00.000+00:00", "2025-07-14T08:30:00.900Z"])
async def test_a_new_publication_released_days_early_is_still_early(updated: str) -> None:
    # public_updated_at equal to first_published_at, or a moment later (publishing apps other
    # than whitehall stamp them separately): a new document, not one republished in place.
    item = publication_item("2025-07-14T08:30:00.000+00:00")
    item["public_updated_at"] = updated
    site = GovUk({ANNOUNCEMENT: redirect_item(PUBLICATION), PUBLICATION: item})
    check = await probe(site, announcement_release(), at=DUE - timedelta(hours=20))
    assert check.live, check.reason
    assert check.published_at == datetime(2025, 7, 14, 8, 30, tzinfo=UTC)


async def test_an_older_document_at_the_guessed_slug_is_not_this_release() -> None:
    # Last year's edition had the same title, so it holds the slug (whitehall gives the new
    # one "...--2"). It was published before this release was even announced: not this
    # release's publication. Fails on 390e87f: live, and an early breach dated a year back.
    announcement = announcement_item()
    announcement["first_published_at"] = "2025-05-01T09:30:00.000+01:00"
    old = publication_item(first_published_at="2024-07-18T08:30:00.000+00:00")
    old["base_path"] = DERIVED
    search = search_answer((TITLE, DERIVED))
    site = GovUk({ANNOUNCEMENT: announcement, DERIVED: old}, search=search)
    check = await probe(site, announcement_release(), at=DUE + timedelta(minutes=1))
    assert not check.live
    # First published before the release's window (a day before due), so another edition:
    # the window rule says so before the announcement's own date is looked at.
    assert "an earlier edition, before this release's window" in check.reason
    assert check.published_at is None
    assert check.published_at is None
    # The real publication, published after its announcement, is still found there.
    site = GovUk({ANNOUNCEMENT: announcement, DERIVED: derived_publication()})
    assert (await probe(site, announcement_release(), at=DUE + timedelta(minutes=1))).live


# -- a guessed publication from before the window: an earlier edition, or this one early? ------
# Found at the announcement's slug more than a day (the lookahead) before due, with the
# announcement not redirected. Decided by evidence: first published after this release was
# announced → a document that did not exist when it was announced: this release, early.

THREE_DAYS_EARLY = "2025-07-14T08:30:00.000+00:00"


def announced(at: str | None) -> Any:
    item = announcement_item()
    if at is not None:
        item["first_published_at"] = at
    return item


def guessed(first: str, updated: str | None = None) -> Any:
    item = publication_item(first)
    item["base_path"] = DERIVED
    item["public_updated_at"] = updated or first
    return item


async def test_a_guessed_publication_first_published_after_the_announcement_is_this_one_early() -> (
    None
):
    site = GovUk(
        {
            ANNOUNCEMENT: announced("2025-05-01T09:30:00.000+01:00"),
            DERIVED: guessed(THREE_DAYS_EARLY),
        }
    )
    check = await probe(site, announcement_release(), at=DUE - timedelta(minutes=10))
    assert check.live, check.reason
    assert check.published_at == datetime(2025, 7, 14, 8, 30, tzinfo=UTC)
    assert "after its announcement was made (2025-05-01T08:30:00+00:00)" in check.reason
    assert "released early" in check.reason


@pytest.mark.parametrize(
    ("made", "updated", "why"),
    [
        # Published before this release was announced: last edition, whatever its slug.
        ("2025-07-15T09:30:00.000+01:00", None, "an earlier edition"),
        # The announcement does not say when it was made: no evidence, not this release.
        (None, None, "an earlier edition"),
        # Republished in place after the announcement: a correction to the last edition
        # looks the same, so no credit (a false early breach is the worst notice we send).
        ("2025-05-01T09:30:00.000+01:00", "2025-07-15T10:00:00.000+01:00", "an earlier edition"),
    ],
)
async def test_a_guessed_publication_without_that_evidence_stays_another_edition(
    made: str | None, updated: str | None, why: str
) -> None:
    first = "2025-05-14T08:30:00.000+00:00" if updated else THREE_DAYS_EARLY
    site = GovUk({ANNOUNCEMENT: announced(made), DERIVED: guessed(first, updated)})
    check = await probe(site, announcement_release(), at=DUE - timedelta(minutes=10))
    assert not check.live, check.reason
    assert why in check.reason
    assert check.published_at is None


async def test_a_configured_publication_url_gets_no_credit_from_the_announcement_date() -> None:
    # A URL named in the config is not derived from this announcement: its edition checks
    # are the window's alone (last year's edition there is not this release).
    site = GovUk(
        {
            ANNOUNCEMENT: announced("2025-05-01T09:30:00.000+01:00"),
            DERIVED: guessed(THREE_DAYS_EARLY),
        }
    )
    release = announcement_release(publication_url=f"{HOST}{DERIVED}")
    check = await probe(site, release, at=DUE - timedelta(minutes=10))
    assert not check.live, check.reason
