"""The personal-data scan the page tests rely on: it must find an address or a number however a
page carries it (text, attribute, encoded link, split by markup), in the real browser's DOM,
and must not cry wolf at times, dates, ids and durations."""

from __future__ import annotations

import pytest

from tests.browser.conftest import Browsing
from tests.browser.harness import personal_data

LEAKS = [
    ("+447700900123", "text"),
    ("+44 7700 900123", "text"),
    ("+44 (0)7700 900 123", "text"),
    ("07700 900123", "text"),
    ("07700900123", "text"),
    ("447700900123", "text"),
    ("020 7946 0000", "text"),
    ("alice.publisher@example.com", "text"),
    ("+447700900123", "attribute"),
    ("alice%40example.com", "link"),
    ("%2B447700900123", "link"),
]


@pytest.mark.parametrize(("leak", "where"), LEAKS)
def test_the_scan_finds_what_a_page_must_not_show(tab: Browsing, leak: str, where: str) -> None:
    body = {
        "text": f"<p>Call <b>{leak}</b> now</p>",
        "attribute": f'<p data-contact="{leak}">Alice</p>',
        "link": f'<a href="mailto:{leak}">Alice</a>',
    }[where]
    tab.page.set_content(f"<!doctype html><title>t</title><body>{body}</body>")
    with pytest.raises(AssertionError, match="shows personal data"):
        tab.assert_no_personal_data("probe")


def test_a_number_split_by_markup_is_found_in_the_visible_text(tab: Browsing) -> None:
    tab.page.set_content("<p>07700 <span>900</span><i>123</i></p>")
    with pytest.raises(AssertionError, match="shows personal data"):
        tab.assert_no_personal_data("probe")


@pytest.mark.parametrize(
    "fine",
    [
        "Thu 17 Jul 2025 09:30:07 BST",
        "2025-07-17T08:30:00+00:00",
        "lms-2025-07",
        "Late — 12 min, 2 h 30 min late",
        "404 \u00d7 42, 09:15:00\u201309:29:50",  # x 42, en dash
        "due 10:00, next step 09:50",
        "/a/AbC1234567890dEf_-x",
        "HTTP 404, 120 ms, max-age=300",
        "[number withheld] [address withheld]",
    ],
)
def test_the_scan_passes_what_pages_do_show(fine: str) -> None:
    assert personal_data(fine) == []
