"""Every page a person can reach, in a real browser: readable at 320 px wide without scrolling
sideways (WCAG 1.4.10 reflow), and never an email address or a phone number anywhere in it,
markup and attributes included, even where the store holds text that quotes one.

The pages come from one release morning (harness.morning): a release live on time, one 12
minutes late whose SMS the gateway refused (quoting the number), one due tomorrow.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from releasewatch.model import EventKind
from tests.browser.conftest import Browsing, broken_words
from tests.browser.harness import LATE, PAGES, TOMORROW, LiveScenario, confirm_link

NARROW = 320


def assert_fits(tab: Browsing, name: str) -> None:
    width, inner = tab.horizontal_overflow()
    assert inner == NARROW
    assert width <= inner, f"{name} scrolls sideways at {NARROW} px: {width} px wide"


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_shows_no_address_or_number(name: str, day: LiveScenario, tab: Browsing) -> None:
    tab.open(PAGES[name](day), name)  # screenshot + no personal data in DOM, text or title


@pytest.mark.parametrize("name", list(PAGES))
def test_each_page_fits_320px(
    name: str, day: LiveScenario, open_tab: Callable[..., Browsing]
) -> None:
    tab = open_tab(width=NARROW, height=640)
    tab.open(PAGES[name](day), f"{name}-320px")
    assert_fits(tab, name)


def test_the_pages_after_pressing_a_button_fit_and_show_no_address_or_number(
    day: LiveScenario, open_tab: Callable[..., Browsing]
) -> None:
    tab = open_tab(width=NARROW, height=640)
    page = tab.open(day.link_sent_to("web_publisher", "email"), "ack-form")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Acknowledged")
    tab.look("acknowledged")
    assert_fits(tab, "acknowledged")

    page = tab.open(confirm_link(day), "confirm-form")
    page.get_by_role("button", name="Confirm it is ready").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmed")
    tab.look("confirmed")
    assert_fits(tab, "confirmed")
    recorded = {e.kind for r in (LATE, TOMORROW) for e in day.store.events(r)}
    assert {EventKind.ACKNOWLEDGED, EventKind.READY_CONFIRMED} <= recorded


def test_the_morning_holds_the_personal_data_the_pages_must_not_show(day: LiveScenario) -> None:
    # The scans above prove something only if the data behind the pages carries it.
    from tests.browser.harness import GATEWAY_REFUSAL, personal_data

    record = day.store.get_release(LATE)
    assert record is not None
    assert personal_data(record.release.producer) == ["press@example.com"]
    failures = [e.detail.get("reason", "") for e in day.store.events(LATE)]
    assert GATEWAY_REFUSAL in failures


@pytest.mark.parametrize("width", [NARROW, 1280])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_word_is_split_across_lines(
    name: str, width: int, day: LiveScenario, open_tab: Callable[..., Browsing]
) -> None:
    # A squeezed table column must not break "Email" into "Ema" / "il" or 09:30:00 into
    # "09:30" / ":00": at 320 px a wide table scrolls inside its own box instead.
    tab = open_tab(width=width, height=900)
    page = tab.open(PAGES[name](day), f"{name}-{width}px-words")
    assert broken_words(page) == []
