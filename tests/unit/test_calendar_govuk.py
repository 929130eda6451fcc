"""GOV.UK announcements from the search API: paging, states, the request the API accepts."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pytest

from releasewatch.calendar.announcement import AnnState, FeedError, Parsed
from releasewatch.calendar.fetch import FeedFetcher
from releasewatch.calendar.govuk import fetch_govuk, parse_page
from releasewatch.calendar.spec import GovukSpec
from tests.calendar_support import FakeSearch, result
from tests.probe_support import loopback_server

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def fetch(server_url: str, **spec: object) -> tuple[object, FeedFetcher]:
    fetcher = FeedFetcher(local_mode=True)
    full = {"organisations": ["intellectual-property-office"], "base_url": server_url, **spec}

    async def go() -> object:
        try:
            return await fetch_govuk(GovukSpec.model_validate(full), fetcher, NOW)
        finally:
            await fetcher.aclose()

    return asyncio.run(go()), fetcher


def test_pages_through_every_announcement_without_parameters_the_api_refuses():
    search = FakeSearch(
        [
            result(
                f"monthly-ipo-statistics-{m}",
                f"Monthly IPO statistics: {m}",
                "2026-07-17T09:30:00.000+01:00",
            )
            for m in ("july", "august", "september")
        ]
    )
    with loopback_server(search) as server:
        parsed, fetcher = fetch(server.url("").rstrip("/"), page_size=2)
    assert [a.title for a in parsed.announcements] == [  # type: ignore[attr-defined]
        "Monthly IPO statistics: july",
        "Monthly IPO statistics: august",
        "Monthly IPO statistics: september",
    ]
    assert fetcher.requests == 2  # two pages of two: start=0, start=2
    starts = [s.query["start"] for s in server.seen]
    assert starts == [["0"], ["2"]]
    first = server.seen[0]
    assert first.query["filter_format"] == ["statistics_announcement"]
    assert first.query["filter_release_timestamp"] == ["from:2026-07-01"]
    assert first.query["count"] == ["2"]
    assert "rwcb" not in first.query  # the watchdog's cache-buster would be a 422
    assert first.headers["user-agent"].startswith("releasewatch/")


def test_an_announcement_becomes_its_release_fields():
    search = FakeSearch(
        [
            result(
                "monthly-ipo-statistics-july-2026",
                "Monthly IPO statistics: July 2026",
                "2026-07-17T09:30:00.000+01:00",
            )
        ]
    )
    with loopback_server(search) as server:
        base = server.url("").rstrip("/")
        parsed, _ = fetch(base)
    (ann,) = parsed.announcements  # type: ignore[attr-defined]
    assert ann.id == "govuk-monthly-ipo-statistics-july-2026"
    assert ann.due == datetime(2026, 7, 17, 8, 30, tzinfo=UTC)  # stored UTC
    assert ann.url == base + "/government/statistics/announcements/monthly-ipo-statistics-july-2026"
    assert ann.publication_url == base + "/government/statistics/monthly-ipo-statistics-july-2026"
    assert ann.producer == "Intellectual Property Office"
    assert ann.state is AnnState.CONFIRMED and ann.govuk


def test_a_422_from_the_search_api_fails_the_source_with_its_reason():
    search = FakeSearch([])
    with loopback_server(search) as server:
        fetcher = FeedFetcher(local_mode=True)

        async def go() -> None:
            try:
                await fetcher.get(server.url("/api/search.json"), [("rwcb", "1")])
            finally:
                await fetcher.aclose()

        with pytest.raises(FeedError, match=r"status 422: .*Unexpected parameters: rwcb"):
            asyncio.run(go())


def test_a_failing_page_fails_the_whole_source():
    with (
        loopback_server(FakeSearch(fail_with=503)) as server,
        pytest.raises(FeedError, match="503"),
    ):
        fetch(server.url("").rstrip("/"))


def test_outside_local_mode_a_loopback_base_url_is_refused_before_any_request():
    with loopback_server(FakeSearch([])) as server:
        fetcher = FeedFetcher(local_mode=False)
        spec = GovukSpec(organisations=("ipo",), base_url=server.url("").rstrip("/"))
        with pytest.raises(FeedError, match="refused"):
            asyncio.run(fetch_govuk(spec, fetcher, NOW))
        assert server.seen == []


def test_states_and_bad_entries_are_each_reported_where_they_are():
    body = {
        "results": [
            result("a", "Confirmed", "2026-07-17T09:30:00.000+01:00"),
            result(
                "b", "Provisional", "2026-08-01T00:00:00.000+01:00", "provisional", "August 2026"
            ),
            result("c", "Cancelled", "2026-07-20T09:30:00.000+01:00", "cancelled"),
            result("d", "No time", None),
            result("e", "Bad time", "17 July 2026"),
            result("f", "Odd state", "2026-07-17T09:30:00.000+01:00", "postponed"),
            {"title": "Not one", "link": "/government/publications/x"},
        ],
        "total": 7,
    }
    out = Parsed()
    on_page, total = parse_page(json.dumps(body).encode(), "https://www.gov.uk", into=out)
    assert (on_page, total) == (7, 7)
    assert [(a.title, a.state.value) for a in out.announcements] == [
        ("Confirmed", "confirmed"),
        ("Provisional", "provisional"),
        ("Cancelled", "cancelled"),
    ]
    assert [(s.where, s.reason) for s in out.skipped] == [
        ("results[3]", "confirmed, but no release_timestamp"),
        ("results[4]", "release_timestamp '17 July 2026' is not an ISO 8601 time"),
        ("results[5]", "unknown statistics_announcement_state 'postponed'"),
        ("results[6]", "link '/government/publications/x' is not a statistics announcement path"),
    ]


@pytest.mark.parametrize("body", [b"<html>", b'{"results": []}', b"[]"])
def test_an_answer_that_is_not_a_search_page_fails_the_source(body: bytes):
    with pytest.raises(FeedError):
        parse_page(body, "https://www.gov.uk")


def test_control_characters_in_feed_text_never_reach_the_terminal():
    body = {
        "results": [
            result("a", "Stats\x1b[2J\u202e: July\nfake line", "2026-07-17T09:30:00.000+01:00")
        ],
        "total": 1,
    }
    out = Parsed()
    parse_page(json.dumps(body).encode(), "https://www.gov.uk", into=out)
    assert out.announcements[0].title == "Stats [2J : July fake line"
