"""`govuk: {organisations: all}`: every organisation's announcements, paged honestly.

A loopback search API serves real-shaped pages (tests/calendar_support.py); a calendar that
does not add up (a lying total, a repeated page, results shifting under the paging) fails the
source with its reason rather than import part of it as the whole.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from releasewatch.calendar.announcement import MAX_EVERYTHING_ENTRIES, FeedError
from releasewatch.calendar.fetch import FeedFetcher
from releasewatch.calendar.govuk import fetch_govuk
from releasewatch.calendar.spec import CalendarSpec, GovukSpec
from tests.calendar_support import FakeSearch, result
from tests.probe_support import Handler, loopback_server

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def org(n: int) -> dict[str, str]:
    slug = f"department-{n}"
    return {"slug": slug, "title": f"Department {n}", "acronym": f"D{n}",
            "link": f"/government/organisations/{slug}"}  # fmt: skip


def announcements(n: int) -> list[dict[str, object]]:
    """n announcements from 40 organisations, a quarter of them provisional."""
    return [
        result(
            f"statistics-{i}",
            f"Statistics {i}",
            f"2026-{7 + i % 6:02d}-{1 + i % 28:02d}T09:30:00.000+01:00",
            state="provisional" if i % 4 == 3 else "confirmed",
            org=org(i % 40),
        )
        for i in range(n)
    ]


def fetch(route: object, **spec: object) -> tuple[object, FeedFetcher, list[Handler]]:
    fetcher = FeedFetcher(local_mode=True)
    with loopback_server(route) as server:  # type: ignore[arg-type]
        full = {"organisations": "all", "base_url": server.url("").rstrip("/"), **spec}

        async def go() -> object:
            try:
                return await fetch_govuk(GovukSpec.model_validate(full), fetcher, NOW)
            except FeedError as exc:
                return exc
            finally:
                await fetcher.aclose()

        return asyncio.run(go()), fetcher, server.seen


def test_all_organisations_reads_3000_announcements_over_many_pages_without_a_filter():
    out, fetcher, seen = fetch(FakeSearch(announcements(3000)), page_size=100)
    assert not isinstance(out, FeedError), out
    assert len(out.announcements) == 3000  # type: ignore[attr-defined]
    assert fetcher.requests == 30
    assert [s.query["start"][0] for s in seen] == [str(i * 100) for i in range(30)]
    assert all("filter_organisations" not in s.query for s in seen)  # every organisation
    first = out.announcements[0]  # type: ignore[attr-defined]
    assert first.organisations == ("department-0",) and first.producer == "Department 0"


def test_all_organisations_at_the_largest_page_takes_two_requests():
    out, fetcher, _ = fetch(FakeSearch(announcements(3000)))
    assert not isinstance(out, FeedError) and fetcher.requests == 2


@dataclass
class Lying(FakeSearch):
    """The search API with one lie told: a total above the results, a total that changes
    after the first page, or the first page's last result again at the top of the second."""

    extra_total: int = 0
    total_moves: bool = False
    shift: bool = False

    def __call__(self, h: Handler) -> None:
        start = int(h.query.get("start", ["0"])[0])
        count = int(h.query.get("count", ["10"])[0])
        page = self.results[max(0, start - 1) if self.shift and start else start :][:count]
        total = len(self.results) + self.extra_total + (start if self.total_moves else 0)
        body = {"results": page, "total": total, "start": start, "suggested_queries": []}
        h.reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


def test_a_total_larger_than_the_results_fails_the_source_not_a_partial_import():
    out, _, _ = fetch(Lying(announcements(3000), extra_total=200), page_size=500)
    assert isinstance(out, FeedError)
    assert "total says 3200, but the results end at 3000 (start=3000)" in str(out)


def test_a_total_that_changes_between_pages_fails_the_source():
    out, fetcher, _ = fetch(Lying(announcements(1000), total_moves=True), page_size=500)
    assert isinstance(out, FeedError) and fetcher.requests == 2
    assert "total changed from 1000 to 1500 at start=500" in str(out)


def test_results_that_shift_under_the_paging_fail_the_source():
    out, _, _ = fetch(Lying(announcements(1000), shift=True), page_size=500)
    assert isinstance(out, FeedError)
    assert "start=500 repeats '/government/statistics/announcements/statistics-499'" in str(out)


def test_a_page_answered_twice_fails_the_source_after_two_requests():
    def same_page(h: Handler) -> None:
        page = announcements(3)
        h.reply(200, json.dumps({"results": page, "total": 3000}).encode())

    out, fetcher, _ = fetch(same_page, page_size=3)
    assert isinstance(out, FeedError) and fetcher.requests == 2
    assert "start=3 answered the same page as before" in str(out)


def test_a_total_past_the_cap_for_all_organisations_is_refused_after_one_request():
    out, fetcher, _ = fetch(Lying(announcements(10), extra_total=MAX_EVERYTHING_ENTRIES))
    assert isinstance(out, FeedError) and fetcher.requests == 1
    assert f"more than {MAX_EVERYTHING_ENTRIES} announcements" in str(out)
    assert "not believed" in str(out)


def test_organisations_all_is_spelt_all_and_labels_its_source():
    spec = CalendarSpec.model_validate({"govuk": {"organisations": "all"}})
    assert spec.govuk is not None and spec.govuk.everything and spec.label == "govuk:all"
    named = CalendarSpec.model_validate({"govuk": {"organisations": ["ipo"]}})
    assert named.govuk is not None and not named.govuk.everything
    for wrong in ("All", "ipo", []):
        with pytest.raises(ValidationError, match="a list of organisation slugs, or all"):
            GovukSpec.model_validate({"organisations": wrong})
