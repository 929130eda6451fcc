"""Acknowledging from the page an alert links to, in a real browser: the link opens a page that
changes nothing, the button records the acknowledgement, and the board shows who and when."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from releasewatch.model import EventKind
from tests.browser.harness import ID, at


def acks(s):  # type: ignore[no-untyped-def]
    return [(e.contact_id, e.at) for e in s.store.events(ID) if e.kind == EventKind.ACKNOWLEDGED]


def test_an_acknowledgement_made_on_the_ack_page_shows_on_the_board(live, tab):  # type: ignore[no-untyped-def]
    # GIVEN the release is 12 minutes late: the web publisher was texted at 09:40
    s = live()
    s.run_until(at(9, 42))
    link = s.link_sent_to("web_publisher", "sms")

    # WHEN they open the link from the SMS
    page = tab.open(link, "ack")
    expect(page.get_by_role("heading", level=1)).to_have_text("Acknowledge this alert?")
    expect(page.get_by_text("You: Alice Publisher (chain step 2)")).to_be_visible()
    assert acks(s) == []  # opening the link (or a link preview fetching it) records nothing

    # ...and press the button, a minute later
    s.run_until(at(9, 43))
    page.get_by_role("button", name="Acknowledge").click()

    # THEN the page thanks them, with the time it was recorded
    expect(page.get_by_role("heading", level=1)).to_have_text("Acknowledged")
    expect(page.get_by_text("recorded at 09:43")).to_be_visible()
    tab.look("acknowledged")
    assert acks(s) == [("web_publisher", at(9, 43))]

    # ...and the board shows who acknowledged
    board = tab.open(s.url("/"), "board")
    expect(board.locator(f'tr[data-release-id="{ID}"]')).to_contain_text("Alice Publisher")

    # ...and the release page shows when, and that the next step is held by it (30 min)
    board.locator(f'tr[data-release-id="{ID}"]').get_by_role("link").first.click()
    page = tab.page
    expect(page).to_have_url(re.compile(rf"/r/{ID}$"))
    tab.look("release")
    expect(page.locator("#acknowledgements")).to_contain_text("Alice Publisher")
    expect(page.locator("#acknowledgements")).to_contain_text("09:43:00")
    expect(page.locator("#next-step")).to_contain_text("10:13:00")
    lead = page.locator("#ladder tr[data-step]").filter(has_text="Bob Lead")
    expect(lead).to_have_attribute("data-delivery", "held")


def test_a_used_link_says_so_and_records_nothing_more(live, tab):  # type: ignore[no-untyped-def]
    s = live()
    s.run_until(at(9, 41))
    link = s.link_sent_to("web_publisher", "sms")
    page = tab.open(link, "ack")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Acknowledged")
    # the same link again (from the SMS, or Back: the form is never cached)
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Link not accepted")
    expect(page.get_by_text("already been used to acknowledge")).to_be_visible()
    expect(page.get_by_role("button")).to_have_count(0)
    tab.look("used-link")
    assert len(acks(s)) == 1
