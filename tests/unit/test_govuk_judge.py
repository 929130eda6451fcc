"""judge_govuk over Content API items of every shape GOV.UK serves (tests/fixtures/govuk/).

Only a statistics publication is the publication; every other document an announcement can
lead to is reported as what it is, never live, whatever dates it carries.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from releasewatch.probe.rules import judge_govuk

FIXTURES = Path(__file__).parent.parent / "fixtures" / "govuk"


def load(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("name", "published", "label"),
    [
        (
            "publication_official_statistics",
            datetime(2015, 1, 14, 9, 30, tzinfo=UTC),
            "official statistics",
        ),
        (
            "publication_national_statistics",
            datetime(2015, 5, 21, 8, 30, 36, tzinfo=UTC),
            "accredited official statistics",
        ),
    ],
)
def test_a_statistics_publication_is_live_from_its_first_published_at(
    name: str, published: datetime, label: str
) -> None:
    item = load(name)
    verdict = judge_govuk(item)
    assert verdict.live, verdict.reason
    assert verdict.published_at == published
    assert label in verdict.reason and item["base_path"] in verdict.reason
    assert item["withdrawn_notice"] == {}  # the real shape of "not withdrawn"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("publication_guidance", "a guidance page"),
        ("publication_policy_paper", "a policy paper"),
        ("publication_corporate_report", "a corporate report"),
        ("publication_withdrawn", "a guidance page"),
        ("homepage", "the GOV.UK homepage"),
        ("finder_research_and_statistics", "an index page (finder)"),
    ],
)
def test_a_published_document_that_is_not_statistics_is_never_live(name: str, kind: str) -> None:
    item = load(name)
    verdict = judge_govuk(item)
    assert not verdict.live
    assert verdict.published_at is None
    assert verdict.follow is None
    assert verdict.reason == f"{kind} {item['base_path']}, not a statistics publication"


def test_a_withdrawn_statistics_publication_is_not_live() -> None:
    verdict = judge_govuk(load("publication_statistics_withdrawn"))
    assert not verdict.live
    assert "withdrawn at 2016-03-01T09:30:00Z" in verdict.reason


def test_a_statistics_publication_without_first_published_at_is_not_live() -> None:
    item = load("publication_official_statistics")
    del item["first_published_at"]
    verdict = judge_govuk(item)
    assert not verdict.live
    assert "has no first_published_at" in verdict.reason


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("announcement_confirmed", ["still in place", "confirmed", "20 January 2016 9:30am"]),
        ("announcement_date_changed", ["still in place", "confirmed", "20 January 2016 9:30am"]),
        ("announcement_provisional_national", ["still in place", "provisional", "January 2016"]),
        ("announcement_cancelled", ["cancelled", "20 January 2016 9:30am"]),
    ],
)
def test_an_announcement_in_any_state_is_not_live(name: str, words: list[str]) -> None:
    verdict = judge_govuk(load(name))
    assert not verdict.live and verdict.follow is None
    for word in words:
        assert word in verdict.reason


def test_a_redirect_item_is_followed_by_its_exact_route() -> None:
    verdict = judge_govuk(load("redirect"))
    assert not verdict.live
    # The exact route for the item's own base_path, not the prefix route beside it.
    assert verdict.follow == (
        "/maritime-safety-weather-and-navigation/register-406-mhz-beacons?query=answer#fragment"
    )


def test_a_redirect_to_another_host_keeps_the_full_url() -> None:
    verdict = judge_govuk(load("redirect_other_host"))
    assert not verdict.live
    assert verdict.follow == "https://somewhere.else.gov.uk"


@pytest.mark.parametrize("name", ["gone", "gone_with_alternative_path", "vanish"])
def test_gone_and_vanished_documents_are_not_live(name: str) -> None:
    verdict = judge_govuk(load(name))
    assert not verdict.live and verdict.follow is None
    assert ("gone" if name.startswith("gone") else "vanished") in verdict.reason


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)
KEYS = [
    "schema_name",
    "document_type",
    "base_path",
    "details",
    "redirects",
    "first_published_at",
    "withdrawn_notice",
    "links",
    "title",
]


@settings(max_examples=200, deadline=None)
@given(
    st.dictionaries(st.sampled_from(KEYS), json_values, max_size=8),
    st.sampled_from(
        ["publication", "statistics_announcement", "redirect", "gone", "vanish", "homepage"]
    ),
)
def test_any_item_gets_a_verdict_never_an_exception(item: dict[str, Any], schema: str) -> None:
    item.setdefault("schema_name", schema)
    verdict = judge_govuk(item)
    assert isinstance(verdict.reason, str) and verdict.reason
    if verdict.live:  # only ever a statistics publication with a readable date
        assert item["schema_name"] == "publication"
        assert item["document_type"] in ("official_statistics", "national_statistics")
        assert verdict.published_at is not None
