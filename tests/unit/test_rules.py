"""Live rules are pure: a rule and what was seen give a verdict and a reason a person can read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from releasewatch.model import LiveRule
from releasewatch.probe.rules import judge_govuk, judge_page
from tests.probe_support import (
    ANNOUNCEMENT,
    PUBLICATION,
    announcement_item,
    publication_item,
    redirect_item,
)

PAGE = "https://www.gov.uk" + PUBLICATION


def test_expected_status_with_no_other_checks_is_live() -> None:
    verdict = judge_page(LiveRule(), 200, PAGE, None)
    assert verdict.live
    assert "200" in verdict.reason


def test_wrong_status_says_what_was_seen_and_expected() -> None:
    verdict = judge_page(LiveRule(), 404, PAGE, "Page not found")
    assert verdict == (False, "status 404, expected 200")


def test_custom_expected_status_is_honoured() -> None:
    assert judge_page(LiveRule(status=204), 204, PAGE, None).live
    assert judge_page(LiveRule(status=204), 200, PAGE, None).reason == "status 200, expected 204"


def test_no_response_is_not_live() -> None:
    assert judge_page(LiveRule(), None, PAGE, None) == (False, "no response")


def test_missing_text_is_named() -> None:
    rule = LiveRule(contains=("Labour market overview", "July 2025"))
    verdict = judge_page(rule, 200, PAGE, "<h1>Labour market overview</h1>")
    assert not verdict.live
    assert verdict.reason == "missing text 'July 2025'"


def test_announcement_text_still_present_is_not_live() -> None:
    rule = LiveRule(not_contains=("Statistics release announcement",))
    body = "<p>Statistics release announcement</p><p>Release date: 17 July 2025 9:30am</p>"
    verdict = judge_page(rule, 200, PAGE, body)
    assert verdict == (False, "text 'Statistics release announcement' still present")


def test_every_problem_is_listed() -> None:
    rule = LiveRule(contains=("Overview",), not_contains=("announcement",), final_url=r"/labour")
    verdict = judge_page(rule, 200, "https://www.gov.uk/other", "an announcement")
    assert not verdict.live
    assert "final URL https://www.gov.uk/other does not match '/labour'" in verdict.reason
    assert "missing text 'Overview'" in verdict.reason
    assert "text 'announcement' still present" in verdict.reason


def test_final_url_is_a_search_not_a_full_match() -> None:
    rule = LiveRule(final_url=r"/government/statistics/labour-market")
    assert judge_page(rule, 200, PAGE, None).live
    announcement = "https://www.gov.uk" + ANNOUNCEMENT
    assert not judge_page(rule, 200, announcement, None).live


def test_long_texts_are_shortened_in_reasons() -> None:
    text = "x" * 200
    verdict = judge_page(LiveRule(contains=(text,)), 200, PAGE, "")
    assert len(verdict.reason) < 100
    assert verdict.reason.endswith("…'")


# A rule's texts must have a visible character (LiveRule refuses blank ones).
_needle = st.text(min_size=1, max_size=10).filter(str.strip)


@given(must=st.lists(_needle, max_size=4), filler=st.text(max_size=20))
def test_a_body_containing_every_required_text_is_live(must: list[str], filler: str) -> None:
    body = filler.join(must) + filler
    assert judge_page(LiveRule(contains=tuple(must)), 200, PAGE, body).live


@given(bad=_needle, around=st.text(max_size=20))
def test_a_body_containing_a_forbidden_text_is_never_live(bad: str, around: str) -> None:
    verdict = judge_page(LiveRule(not_contains=(bad,)), 200, PAGE, around + bad + around)
    assert not verdict.live


# -- GOV.UK content items ---------------------------------------------------------------------


def test_publication_is_live_with_its_first_published_time() -> None:
    verdict = judge_govuk(publication_item("2025-07-17T08:30:36.000+00:00"))
    assert verdict.live
    assert verdict.published_at == datetime(2025, 7, 17, 8, 30, 36, tzinfo=UTC)
    assert PUBLICATION in verdict.reason


def test_published_time_with_an_offset_is_held_in_utc() -> None:
    verdict = judge_govuk(publication_item("2025-07-17T09:30:00+01:00"))
    assert verdict.published_at == datetime(2025, 7, 17, 8, 30, tzinfo=UTC)


def test_other_published_document_types_are_not_live() -> None:
    # Was "count as live" on 9ef7dd6: any item with a date passed. Only a statistics
    # publication is the publication (tests/unit/test_govuk_judge.py covers every shape).
    item = {"schema_name": "html_publication", "first_published_at": "2025-07-17T08:30:00Z"}
    verdict = judge_govuk(item)
    assert not verdict.live
    assert "html publication" in verdict.reason and "not a statistics publication" in verdict.reason


@pytest.mark.parametrize("state", ["confirmed", "provisional"])
def test_announcement_is_not_live_and_names_state_and_display_date(state: str) -> None:
    verdict = judge_govuk(announcement_item(state=state, display_date="July 2025"))
    assert not verdict.live
    assert state in verdict.reason
    assert "July 2025" in verdict.reason
    assert verdict.follow is None


def test_cancelled_announcement_says_so() -> None:
    verdict = judge_govuk(announcement_item(state="cancelled"))
    assert not verdict.live
    assert "cancelled" in verdict.reason


def test_redirect_to_a_publication_is_only_a_hint_to_follow() -> None:
    verdict = judge_govuk(redirect_item(PUBLICATION))
    assert not verdict.live  # the publication's own item decides
    assert verdict.follow == PUBLICATION


@pytest.mark.parametrize(
    "destination",
    ["/government/statistics/announcements", "/government/statistics/announcements/"],
)
def test_redirect_to_the_announcements_index_means_deleted(destination: str) -> None:
    verdict = judge_govuk(redirect_item(destination))
    assert verdict == (False, "announcement deleted without publication", None, None, None)


def test_document_without_first_published_at_is_not_live() -> None:
    item = publication_item()
    del item["first_published_at"]
    verdict = judge_govuk(item)
    assert not verdict.live
    assert "first_published_at" in verdict.reason


def test_unreadable_first_published_at_is_not_live() -> None:
    verdict = judge_govuk(publication_item("soon"))
    assert not verdict.live
    assert "'soon'" in verdict.reason


def test_redirect_without_destination_is_not_live() -> None:
    verdict = judge_govuk({"schema_name": "redirect", "redirects": []})
    assert not verdict.live
    assert verdict.follow is None


def test_gone_document_is_not_live() -> None:
    assert judge_govuk({"schema_name": "gone"}) == (False, "document is gone", None, None, None)


def test_markup_and_not_markup_are_matched_exactly_on_the_page_source() -> None:
    source = '<div class="release" data-gtm-release-status="published"><h1>GDP</h1></div>'
    rule = LiveRule(markup=('data-release="x"',))
    assert judge_page(rule, 200, PAGE, "GDP", source).reason == (
        "page source lacks 'data-release=\"x\"'"
    )
    assert judge_page(LiveRule(markup=('status="published"',)), 200, PAGE, "GDP", source).live
    banned = LiveRule(not_markup=('data-gtm-release-status="published"',))
    assert not judge_page(banned, 200, PAGE, "GDP", source).live
    # Visible text is not markup: the attribute's value on screen does not satisfy it.
    assert not judge_page(rule, 200, PAGE, 'data-release="x"', "<p>data-release=x</p>").live
    with pytest.raises(ValueError, match="status_only cannot be combined"):
        LiveRule(status_only=True, not_markup=("x",))
