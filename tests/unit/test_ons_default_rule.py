"""ONS release pages exist before they are published (issue 17): any release page on the ONS
website gets the ONS rule by default, whether a config names it by hand or the ONS calendar
imported it. Pages: tests/fixtures/ons/ (dp-frontend-release-calendar and the new CMS)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from releasewatch.calendar.ons import ons_rule
from releasewatch.config.load import parse_config
from releasewatch.model import Check, LiveRule, Release
from releasewatch.probe import HttpProber
from releasewatch.probe.rules import GOVUK_NOT_LIVE_WORDING, default_rule, is_ons_release_page
from tests.probe_support import DUE, FakeClock

ONS = Path(__file__).parent.parent / "fixtures" / "ons"
TITLE = "Labour market overview, UK: July 2026"
URL = "https://www.ons.gov.uk/releases/labourmarketoverviewukjuly2026"

CONFIG = f"""\
contacts:
  team: {{name: Stats team, email: team@example.com}}
chains:
  default:
    - {{after: 5m, notify: [team]}}
releases:
  - id: lmo
    title: "{TITLE}"
    url: {URL}
    due: 2025-07-17 09:30
"""


def hand_written() -> Release:
    return parse_config(CONFIG, "cfg.yaml").releases[0]


async def probe(release: Release, page: str) -> Check:
    body = (ONS / f"{page}.html").read_bytes()

    def route(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers={"Content-Type": "text/html"})

    prober = HttpProber(
        FakeClock(at=DUE + timedelta(minutes=1)), transport=httpx.MockTransport(route)
    )
    try:
        return await prober.probe(release)
    finally:
        await prober.aclose()


def test_a_hand_written_ons_release_gets_the_ons_rule_not_govuks() -> None:
    rule = hand_written().rule
    ons = ons_rule(TITLE)
    assert (rule.contains, rule.not_contains, rule.not_markup) == (
        ons.contains,
        ons.not_contains,
        ons.not_markup,
    )


@pytest.mark.parametrize(
    "url",
    [
        URL,
        "https://ons.gov.uk/releases/labourmarketoverviewukjuly2026",
        "https://WWW.ONS.GOV.UK./releases/x",
    ],
)
def test_release_pages_on_the_ons_website_are_recognised(url: str) -> None:
    assert is_ons_release_page(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://www.gov.uk/government/statistics/labour-market-overview-uk-july-2026",
        "https://www.ons.gov.uk/employmentandlabourmarket/peopleinwork/bulletins/x",
        "https://ons.gov.uk.example.com/releases/x",
        "https://www.example.com/releases/x",
    ],
)
def test_other_pages_keep_the_govuk_default(url: str) -> None:
    assert default_rule(TITLE, LiveRule(), url).not_contains == GOVUK_NOT_LIVE_WORDING


@pytest.mark.parametrize(
    "page", ["release-upcoming", "release-postponed", "wagtail-confirmed", "release-cancelled"]
)
async def test_a_hand_written_ons_release_is_not_live_before_publication(page: str) -> None:
    # Each answers 200 with the title: the GOV.UK default called these live.
    check = await probe(hand_written(), page)
    assert not check.live, check.reason


@pytest.mark.parametrize("page", ["release-published", "wagtail-published"])
async def test_a_hand_written_ons_release_is_live_once_published(page: str) -> None:
    check = await probe(hand_written(), page)
    assert check.live, check.reason


@pytest.mark.parametrize(
    ("page", "reason"),
    [
        ("release-cancelled", ""),
        ("wagtail-cancelled", "Merged into the Labour market overview of August 2026."),
    ],
)
async def test_a_cancelled_ons_release_page_is_a_cancellation(page: str, reason: str) -> None:
    check = await probe(hand_written(), page)
    assert not check.live
    assert check.cancellation == reason
