"""Verdicts on the web as it is (issue 17), over httpx.MockTransport, both rule kinds.

Page mode judges the HTML GOV.UK renders (tests/fixtures/govuk/pages/, with the `govuk:` meta
tags and notice banners of govuk_publishing_components); GOV.UK mode the Content API items
(tests/fixtures/govuk/*.json). Each case is what a probe sees at one moment.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from releasewatch.model import Check, LiveRule, Release
from releasewatch.probe import HttpProber, ProbeSettings
from releasewatch.probe.rules import default_rule
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
FIXTURES = Path(__file__).parent.parent / "fixtures" / "govuk"
PAGES = FIXTURES / "pages"
GOVUK = LiveRule(govuk=True)
CANCELLED_TITLE = "Diagnostic imaging dataset for September 2015"
LAST_YEAR = "2024-07-18T08:30:00.000+00:00"


def cancelled_item() -> Any:
    item = json.loads((FIXTURES / "announcement_cancelled.json").read_text())
    item["base_path"] = ANNOUNCEMENT
    return item


def html(name: str) -> httpx.Response:
    body = (PAGES / name).read_bytes()
    return httpx.Response(200, content=body, headers={"content-type": "text/html; charset=utf-8"})


def publication_page(
    first: str,
    updated: str | None = None,
    *,
    title: str = TITLE,
    withdrawn_on: str | None = None,
) -> httpx.Response:
    notice = ""
    if withdrawn_on is not None:
        notice = (
            '<section class="govuk-notification-banner gem-c-notice" aria-label="Notice" '
            'role="region"><div class="govuk-notification-banner__content">'
            '<h2 class="gem-c-notice__title govuk-notification-banner__heading">This '
            f'publication was withdrawn on <time datetime="2026-03-07">{withdrawn_on}</time>'
            '</h2><div class="govuk-govspeak"><p>This information is now out of date.</p>'
            "</div></div></section>"
        )
    text = (
        (PAGES / "publication.html")
        .read_text()
        .format(
            title=title,
            first_published_at=first,
            public_updated_at=updated or first,
            withdrawn_meta='<meta name="govuk:withdrawn" content="withdrawn">' if notice else "",
            withdrawn_notice=notice,
        )
    )
    return httpx.Response(200, text=text, headers={"content-type": "text/html; charset=utf-8"})


class Site:
    """www.gov.uk: pages by path (page mode), content items by path (GOV.UK mode), 404 else;
    a page given as a (status, location) pair is a redirect."""

    def __init__(
        self,
        pages: dict[str, httpx.Response | tuple[int, str]] | None = None,
        items: dict[str, Any] | None = None,
    ) -> None:
        self.pages = pages or {}
        self.items = items or {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/api/content/"):
            item = self.items.get(path.removeprefix("/api/content"))
            if item is None:
                return httpx.Response(404, text="Not found")
            if isinstance(item, int):
                return httpx.Response(item, text="gone")
            return httpx.Response(200, content=as_json(item))
        page = self.pages.get(path)
        if page is None:
            return httpx.Response(404, text="<h1>Page not found</h1>")
        if isinstance(page, tuple):
            return httpx.Response(page[0], headers={"location": page[1]})
        return page


async def probe(site: Site, release: Release, at: datetime = DUE) -> Check:
    prober = HttpProber(FakeClock(at=at), ProbeSettings(), transport=httpx.MockTransport(site))
    try:
        return await prober.probe(release)
    finally:
        await prober.aclose()


def page_release(url: str = ANNOUNCEMENT, title: str = TITLE, **overrides: Any) -> Release:
    """Page mode with the default rule, as config gives a release with no rule of its own."""
    return make_release(
        f"{HOST}{url}", title=title, rule=default_rule(title, LiveRule()), **overrides
    )


def govuk_release(**overrides: Any) -> Release:
    return make_release(f"{HOST}{ANNOUNCEMENT}", rule=GOVUK, **overrides)


# -- a cancellation wins, whenever it comes ----------------------------------------------------


@pytest.mark.parametrize("before", [timedelta(days=1), timedelta(seconds=12)])
async def test_govuk_mode_reads_the_cancellation_and_gives_govuks_reason(before: timedelta) -> None:
    check = await probe(Site(items={ANNOUNCEMENT: cancelled_item()}), govuk_release(), DUE - before)
    assert not check.live
    assert check.cancellation == "Official Statistics"  # details.cancellation_reason
    assert "cancelled" in check.reason


@pytest.mark.parametrize("before", [timedelta(days=1), timedelta(seconds=12)])
async def test_page_mode_reads_the_cancellation_from_the_announcement_page(
    before: timedelta,
) -> None:
    site = Site({ANNOUNCEMENT: html("announcement_cancelled.html")})
    check = await probe(site, page_release(title=CANCELLED_TITLE), DUE - before)
    assert not check.live
    assert check.cancellation == "Official Statistics"  # the notice's description
    assert "cancelled" in check.reason


async def test_page_mode_reads_the_cancellation_when_a_publication_url_is_named() -> None:
    site = Site({ANNOUNCEMENT: html("announcement_cancelled.html")})  # publication: 404
    release = page_release(title=CANCELLED_TITLE, publication_url=f"{HOST}{PUBLICATION}")
    check = await probe(site, release)
    assert not check.live
    assert check.cancellation == "Official Statistics"


async def test_a_confirmed_announcement_is_no_cancellation_in_either_mode() -> None:
    page = await probe(
        Site({ANNOUNCEMENT: html("announcement_confirmed.html")}),
        page_release(title=CANCELLED_TITLE),
    )
    item = await probe(Site(items={ANNOUNCEMENT: announcement_item()}), govuk_release())
    assert (page.live, page.cancellation) == (False, None)
    assert (item.live, item.cancellation) == (False, None)


@pytest.mark.parametrize("status", [404, 410])
async def test_an_announcement_that_disappears_is_not_a_cancellation(status: int) -> None:
    gone = httpx.Response(status, text="<h1>Page not found</h1>")
    page = await probe(Site({ANNOUNCEMENT: gone}), page_release())
    item = await probe(Site(items={ANNOUNCEMENT: status}), govuk_release())
    assert (page.live, page.cancellation) == (False, None)
    assert (item.live, item.cancellation) == (False, None)


async def test_a_publication_that_quotes_the_word_cancelled_is_live_and_no_cancellation() -> None:
    site = Site({PUBLICATION: publication_page("2025-07-17T08:30:04.000+00:00")})
    release = page_release(PUBLICATION, title=TITLE)
    body = (PAGES / "publication.html").read_text()
    assert "cancelled" not in body  # the check below relies on the page, not on chance
    check = await probe(site, release, DUE + timedelta(minutes=1))
    assert check.live and check.cancellation is None


# -- old and withdrawn editions are not this release -------------------------------------------


async def test_page_mode_last_years_edition_at_the_publication_url_is_not_live() -> None:
    site = Site({PUBLICATION: publication_page(LAST_YEAR)})
    release = page_release(PUBLICATION)
    check = await probe(site, release, DUE - timedelta(hours=3))
    assert not check.live
    assert "earlier edition" in check.reason
    assert check.published_at is None


async def test_govuk_mode_last_years_edition_at_a_configured_publication_url_is_not_live() -> None:
    old = publication_item(first_published_at=LAST_YEAR)
    old["public_updated_at"] = LAST_YEAR
    site = Site(items={ANNOUNCEMENT: announcement_item(), PUBLICATION: old})
    release = govuk_release(publication_url=f"{HOST}{PUBLICATION}")
    check = await probe(site, release, DUE - timedelta(hours=3))
    # Before: live, first published a year ago, so an early breach three hours before due.
    assert not check.live
    assert "earlier edition" in check.reason
    assert check.published_at is None


async def test_page_mode_a_withdrawn_publication_is_not_live() -> None:
    page = publication_page("2025-07-17T08:30:04.000+00:00", withdrawn_on="7 March 2026")
    check = await probe(
        Site({PUBLICATION: page}), page_release(PUBLICATION), DUE + timedelta(minutes=1)
    )
    assert not check.live
    assert "withdrawn on 7 march 2026" in check.reason


async def test_govuk_mode_a_withdrawn_publication_is_not_live() -> None:
    item = json.loads((FIXTURES / "publication_statistics_withdrawn.json").read_text())
    item["base_path"] = PUBLICATION
    site = Site(items={ANNOUNCEMENT: redirect_item(PUBLICATION), PUBLICATION: item})
    check = await probe(site, govuk_release(), DUE + timedelta(minutes=1))
    assert not check.live
    assert "withdrawn" in check.reason


async def test_page_mode_a_publication_published_on_time_and_corrected_later_is_this_one() -> None:
    # Published at 09:30:04, corrected in place two days later: public_updated_at moves.
    page = publication_page("2025-07-17T08:30:04.000+00:00", "2025-07-19T10:12:00.000+00:00")
    site = Site({ANNOUNCEMENT: (301, PUBLICATION), PUBLICATION: page})
    check = await probe(site, page_release(), DUE + timedelta(days=2, hours=2))
    assert check.live, check.reason
    assert check.published_at == datetime(2025, 7, 17, 8, 30, 4, tzinfo=UTC)


async def test_govuk_mode_a_publication_published_on_time_and_corrected_later_is_this_one() -> None:
    item = publication_item(first_published_at="2025-07-17T08:30:04.000+00:00")
    item["public_updated_at"] = "2025-07-19T10:12:00.000+00:00"
    site = Site(items={ANNOUNCEMENT: announcement_item(), PUBLICATION: item})
    release = govuk_release(publication_url=f"{HOST}{PUBLICATION}")
    check = await probe(site, release, DUE + timedelta(days=2, hours=2))
    assert check.live, check.reason
    assert check.published_at == datetime(2025, 7, 17, 8, 30, 4, tzinfo=UTC)


async def test_govuk_mode_an_edition_updated_in_place_and_corrected_is_dated_by_its_edition() -> (
    None
):
    # One document republished each quarter; this quarter's edition went out at 09:30:04 and
    # was corrected two days later. Its time is the change history's entry, not the correction.
    item = publication_item(first_published_at="2013-03-28T09:30:00.000+00:00")
    item["public_updated_at"] = "2025-07-19T10:12:00.000+00:00"
    item["details"] = {
        "change_history": [
            {"public_timestamp": "2025-07-19T10:12:00.000+00:00", "note": "Table 3 corrected."},
            {"public_timestamp": "2025-07-17T08:30:04.000+00:00", "note": "July 2025 edition."},
            {"public_timestamp": "2025-04-17T08:30:12.000+00:00", "note": "April 2025 edition."},
        ]
    }
    site = Site(items={ANNOUNCEMENT: announcement_item(), PUBLICATION: item})
    release = govuk_release(publication_url=f"{HOST}{PUBLICATION}")
    check = await probe(site, release, DUE + timedelta(days=2, hours=2))
    assert check.live, check.reason
    # Before: published_at was the correction's time, a release two days late.
    assert check.published_at == datetime(2025, 7, 17, 8, 30, 4, tzinfo=UTC)


async def test_page_mode_a_publication_the_announcement_redirects_to_is_early_not_old() -> None:
    # Released three days early: the announcement's own redirect vouches for it.
    page = publication_page("2025-07-14T08:30:00.000+00:00")
    site = Site({ANNOUNCEMENT: (301, PUBLICATION), PUBLICATION: page})
    check = await probe(site, page_release(), DUE - timedelta(days=2))
    assert check.live, check.reason
    assert check.published_at == datetime(2025, 7, 14, 8, 30, tzinfo=UTC)


async def test_page_mode_a_page_updated_in_place_this_edition_in_the_window_is_live() -> None:
    page = publication_page("2013-03-28T09:30:00.000+00:00", "2025-07-17T08:30:04.000+00:00")
    check = await probe(
        Site({PUBLICATION: page}), page_release(PUBLICATION), DUE + timedelta(minutes=1)
    )
    assert check.live, check.reason
    assert check.published_at is None  # the page gives no time for this edition: the check's


# -- the publication may not be titled like its announcement ----------------------------------

ANNOUNCED = "Monthly statistics: Patents, July 2025"
PUBLISHED = "Patents statistics: July 2025"
RETITLED = "/government/statistics/patents-statistics-july-2025"
ON_TIME = "2025-07-17T08:30:04.000+00:00"


def retitled_item(path: str = RETITLED, title: str = PUBLISHED) -> Any:
    item = publication_item(first_published_at=ON_TIME)
    item["base_path"], item["title"] = path, title
    return item


def search_site(items: dict[str, Any], *rows: tuple[str, str]) -> Site:
    site = Site(items=items)
    answer = {"results": [{"title": t, "link": link} for t, link in rows], "total": len(rows)}

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/search.json":
            return httpx.Response(200, content=json.dumps(answer).encode())
        return site(request)

    return route  # type: ignore[return-value]


async def test_govuk_mode_finds_a_retitled_publication_by_search_and_says_why() -> None:
    announcement = announcement_item()
    announcement["title"] = ANNOUNCED
    trade_marks = "/government/statistics/trade-marks-statistics-july-2025"
    last_month = "/government/statistics/patents-statistics-june-2025"
    site = search_site(
        {
            ANNOUNCEMENT: announcement,
            trade_marks: retitled_item(trade_marks, "Trade marks statistics: July 2025"),
            last_month: retitled_item(last_month, "Patents statistics: June 2025"),
            RETITLED: retitled_item(),
        },
        ("Trade marks statistics: July 2025", trade_marks),
        ("Patents statistics: June 2025", last_month),
        (PUBLISHED, RETITLED),
    )
    release = govuk_release(title=ANNOUNCED)
    check = await probe(site, release, DUE + timedelta(minutes=1))  # type: ignore[arg-type]
    # Before: the exact title was required, and the release was alerted on as late.
    assert check.live, check.reason
    assert check.judged_url == f"{HOST}{RETITLED}"
    assert f"titled '{PUBLISHED}'" in check.reason
    assert "title words shared: patents" in check.reason
    assert "office-for-national-statistics" in check.reason  # the organisation it was found by


async def test_govuk_mode_a_retitled_publication_the_announcement_redirects_to_is_live() -> None:
    site = Site(items={ANNOUNCEMENT: redirect_item(RETITLED), RETITLED: retitled_item()})
    check = await probe(site, govuk_release(title=ANNOUNCED), DUE + timedelta(minutes=1))
    assert check.live, check.reason


async def test_page_mode_the_default_rule_accepts_the_retitled_publication_redirected_to() -> None:
    site = Site(
        {ANNOUNCEMENT: (301, RETITLED), RETITLED: publication_page(ON_TIME, title=PUBLISHED)}
    )
    check = await probe(site, page_release(title=ANNOUNCED), DUE + timedelta(minutes=1))
    # Before: "missing text 'Monthly statistics: Patents, July 2025'", alerts for a live page.
    assert check.live, check.reason
    assert "the announcement redirects to it" in check.reason
    assert "govuk:format official_statistics" in check.reason
    assert check.published_at == datetime(2025, 7, 17, 8, 30, 4, tzinfo=UTC)


async def test_page_mode_a_named_publication_retitled_is_accepted_by_its_words() -> None:
    site = Site({RETITLED: publication_page(ON_TIME, title=PUBLISHED)})
    release = page_release(title=ANNOUNCED, publication_url=f"{HOST}{RETITLED}")
    check = await probe(site, release, DUE + timedelta(minutes=1))
    assert check.live, check.reason
    assert "title words shared: patents" in check.reason


async def test_page_mode_another_series_publication_at_a_named_url_is_not_accepted() -> None:
    page = publication_page(ON_TIME, title="Trade marks statistics: July 2025")
    release = page_release(title=ANNOUNCED, publication_url=f"{HOST}{RETITLED}")
    check = await probe(Site({RETITLED: page}), release, DUE + timedelta(minutes=1))
    assert not check.live
    assert f"missing text '{ANNOUNCED}'" in check.reason


ERROR_PAGE = (
    "<html><head><title>Sorry, we're experiencing technical difficulties - GOV.UK</title>"
    "</head><body><main><h1>Sorry, we're experiencing technical difficulties</h1>"
    "<p>Please try again in a few moments.</p></main></body></html>"
)
MAINTENANCE_PAGE = (
    "<html><head><title>GOV.UK</title></head><body><main><h1>This service is unavailable due "
    "to scheduled maintenance</h1></main></body></html>"
)
GUIDANCE_PAGE = (
    '<html><head><title>Patents guidance - GOV.UK</title><meta name="govuk:format" '
    'content="guidance"><meta name="govuk:first-published-at" content="2025-07-17T08:30:04Z">'
    "</head><body><main><h1>Patents guidance</h1></main></body></html>"
)


@pytest.mark.parametrize("page", [ERROR_PAGE, MAINTENANCE_PAGE, GUIDANCE_PAGE])
async def test_page_mode_the_default_rule_still_refuses_error_maintenance_and_other_pages(
    page: str,
) -> None:
    served = httpx.Response(200, text=page, headers={"content-type": "text/html"})
    site = Site({ANNOUNCEMENT: (301, RETITLED), RETITLED: served})
    check = await probe(site, page_release(title=ANNOUNCED), DUE + timedelta(minutes=1))
    assert not check.live, check.reason


@pytest.mark.parametrize(
    ("found", "matches"),
    [
        ("Patents statistics: July 2025", True),  # retitled, same subject and period
        ("PATENTS \u2013 statistics, July 2025", True),  # case, dashes, order
        ("Patents statistics: June 2025", False),  # last month's: different periods
        ("Trade marks statistics: July 2025", False),  # another series, same boilerplate
        ("Monthly statistics: July 2025", False),  # boilerplate and date only
    ],
)
def test_titles_match_by_their_words_with_dates_and_boilerplate_weighed_down(
    found: str, matches: bool
) -> None:
    from releasewatch.probe.titles import title_match

    assert title_match(ANNOUNCED, found).matches is matches


async def test_onss_cancellation_wording_quoted_on_a_govuk_announcement_is_no_cancellation() -> (
    None
):
    page = (PAGES / "announcement_confirmed.html").read_text()
    quoted = page.replace(
        '<p class="gem-c-lead-paragraph">',
        '<p class="gem-c-lead-paragraph">Release date: Cancelled was shown in error. ',
    )
    assert quoted != page
    served = httpx.Response(200, text=quoted, headers={"content-type": "text/html"})
    check = await probe(Site({ANNOUNCEMENT: served}), page_release(title=CANCELLED_TITLE))
    assert not check.live
    assert check.cancellation is None
