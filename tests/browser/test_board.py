"""The release-day board in a real browser, as the statistics team uses it from 09:25: what is
late and by how much, who has been told and whether it went, what happens next and when,
problems first, and a page that keeps itself up to date.

The pages' hooks (the board's DOM contract): board rows `tr[data-release-id]` with a state tag
`[data-state]` and `[data-minutes-late]`; `#problems li[data-problem]`; `#last-refreshed`;
views `?view=today|tomorrow|week`; a release's `#ladder tr[data-step][data-delivery]`,
`#next-step`, `#timeline`, `#acknowledgements`.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect

from releasewatch.errors import SendError
from releasewatch.links.tokens import issue_dashboard
from releasewatch.links.urls import dashboard_url
from releasewatch.notify.base import Message
from tests.browser.conftest import Browsing
from tests.browser.harness import (
    ID,
    LATE,
    ON_TIME,
    TOMORROW,
    LiveScenario,
    at,
    confirm_link,
    morning,
)

REFRESH_WAIT_S = 75.0  # longest the test waits for the page to refresh itself


def row(page: Page, release_id: str) -> Locator:
    return page.locator(f'tr[data-release-id="{release_id}"]')


def minutes_late(page: Page, release_id: str) -> int:
    """The minutes late a row shows, as a person reads it."""
    text = row(page, release_id).locator("[data-minutes-late]").inner_text()
    found = re.search(r"\d+", text)
    assert found, f"no number in the minutes late: {text!r}"
    return int(found.group(0))


def ladder_row(page: Page, who: str, channel: str) -> Locator:
    rows = page.locator("#ladder tr[data-step]").filter(has_text=who).filter(has_text=channel)
    expect(rows).to_have_count(1)
    return rows


def test_a_release_12_minutes_late_shows_the_ladder_the_sms_and_the_next_step(
    live: Callable[..., LiveScenario], tab: Browsing
) -> None:
    # GIVEN the labour market release is 12 minutes late: the stats team was emailed at
    # 09:35, the web publisher texted and emailed at 09:40
    s = live()
    s.run_until(at(9, 42))

    # THEN the board says so in words, with the minutes late
    board = tab.open(s.url("/"), "board")
    late = row(board, ID)
    expect(late.locator("[data-state]")).to_have_attribute("data-state", "late")
    expect(late.locator("[data-state]")).to_have_text(re.compile(r"Late\W+12 min"))
    assert minutes_late(board, ID) == 12

    # WHEN they open the release from its row
    late.get_by_role("link", name=re.compile("Labour market overview")).click()
    page = tab.page
    expect(page).to_have_url(re.compile(rf"/r/{ID}$"))
    tab.look("release")

    # THEN the ladder shows each step: who, how, when it fired, and that it went
    # (the gateway accepted it; "delivered" would need a delivery receipt, which these fake
    # channels, like today's notifiers, do not give)
    sms = ladder_row(page, "Alice Publisher", "SMS")
    expect(sms).to_have_attribute("data-step", "2")
    expect(sms).to_have_attribute("data-delivery", "sent")
    expect(sms).to_contain_text("Sent 09:40:00")
    expect(ladder_row(page, "Alice Publisher", "Email")).to_have_attribute("data-delivery", "sent")
    expect(ladder_row(page, "Labour market statistics team", "Email")).to_contain_text("09:35:00")
    # ...the steps still to come are not sent, and say when they will be
    lead = ladder_row(page, "Bob Lead", "Email")
    expect(lead).to_have_attribute("data-delivery", "pending")
    expect(lead).to_contain_text("10:00:00")
    # ...and the next step: who, and when
    expect(page.locator("#next-step")).to_contain_text("10:00:00")
    expect(page.locator("#next-step")).to_contain_text("Bob Lead")
    # ...and the checks so far, runs of identical ones collapsed
    expect(page.locator("#timeline")).to_contain_text("404")


def test_a_failed_send_is_shown_first_on_the_board_and_the_release_page(
    live: Callable[..., LiveScenario], tab: Browsing
) -> None:
    # GIVEN the SMS gateway refused the web publisher's number at 09:40 (quoting it)
    s = morning(live)

    board = tab.open(s.url("/"), "board")
    failed = board.locator('#problems li[data-problem="failed-send"]')
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("Alice Publisher")
    expect(failed).to_contain_text("SMS")
    expect(failed).to_contain_text("opted out")  # the reason, in the gateway's words
    # "first": under the page's heading, above everything else (the time, the views, rows)
    assert_above(board.locator("h1"), board.locator("#problems"))
    assert_above(board.locator("#problems"), board.locator("#last-refreshed"))
    assert_above(board.locator("#problems"), row(board, ON_TIME))

    # ...and on the release page, first too, with the ladder row marked failed
    failed.get_by_role("link").first.click()
    page = tab.page
    expect(page).to_have_url(re.compile(rf"/r/{LATE}$"))
    tab.look("release")
    expect(page.locator('#problems li[data-problem="failed-send"]')).to_contain_text(
        "Alice Publisher"
    )
    assert_above(page.locator("#problems"), page.locator("#ladder"))
    sms = ladder_row(page, "Alice Publisher", "SMS")
    expect(sms).to_have_attribute("data-delivery", "failed")
    expect(sms).to_contain_text("opted out")


def assert_above(first: Locator, second: Locator) -> None:
    a, b = first.bounding_box(), second.first.bounding_box()
    assert a is not None and b is not None
    assert a["y"] + a["height"] <= b["y"], f"{a} is not above {b}"


def test_an_unhealthy_watchdog_is_shown_first_on_every_page(
    live: Callable[..., LiveScenario], tab: Browsing
) -> None:
    s = live()
    s.run_until(at(9, 36))
    s.health.failed(s.clock.now(), "the database is locked")
    for name, path in [("board", "/"), ("release", f"/r/{ID}")]:
        page = tab.open(s.url(path), name)
        unhealthy = page.locator('#problems li[data-problem="unhealthy"]')
        expect(unhealthy).to_contain_text("database is locked")
        assert_above(page.locator("#problems"), page.locator("#last-refreshed, #ladder"))


@pytest.mark.slow
def test_the_board_refreshes_itself_and_the_minutes_late_go_up(
    live: Callable[..., LiveScenario], tab: Browsing
) -> None:
    # GIVEN the board open at 09:42, the release 12 minutes late
    s = live()
    s.run_until(at(9, 42))
    board = tab.open(s.url("/"), "board")
    assert minutes_late(board, ID) == 12
    refreshed = board.locator("#last-refreshed").inner_text()
    assert "09:42" in refreshed

    # WHEN three minutes pass (the watchdog ticking on) and nobody touches the page
    s.advance(timedelta(minutes=3))

    # THEN the page refreshes itself: the minutes late go up and it says when it refreshed
    assert wait_for_minutes_late(board, ID, 15, REFRESH_WAIT_S) == 15, "no refresh"
    expect(board.locator("#last-refreshed")).to_contain_text("09:45")
    tab.look("board-refreshed")


def test_the_views_show_today_tomorrow_and_the_week(
    live: Callable[..., LiveScenario], tab: Browsing
) -> None:
    s = morning(live)
    board = tab.open(s.url("/"), "today")
    expect(row(board, LATE)).to_have_count(1)
    expect(row(board, ON_TIME)).to_have_count(1)
    expect(row(board, TOMORROW)).to_have_count(0)
    # the late release (its SMS refused too) needs someone: above the one live since 07:00
    assert_above(row(board, LATE), row(board, ON_TIME))
    expect(board.locator("#summary")).to_have_text("1 late · 1 message failed · 1 live on time")
    expect(row(board, ON_TIME).locator("[data-state]")).to_have_attribute("data-state", "live")
    expect(row(board, ON_TIME)).to_contain_text("07:00:30")  # when it went live, to the second

    board.get_by_role("link", name="Tomorrow").click()
    expect(board).to_have_url(re.compile(r"view=tomorrow"))
    tab.look("tomorrow")
    expect(row(board, TOMORROW)).to_have_count(1)
    expect(row(board, LATE)).to_have_count(0)

    tab.open(s.url("/?view=week"), "week")
    for release_id in (ON_TIME, LATE, TOMORROW):
        expect(row(board, release_id)).to_have_count(1)


def wait_for_minutes_late(page: Page, release_id: str, wanted: int, within_s: float) -> int:
    """Wait, without touching the page, until it shows `wanted` minutes late (or time's up);
    returns the last value seen."""
    deadline = time.monotonic() + within_s
    seen = -1
    while time.monotonic() < deadline:
        # Between two loads (a meta refresh navigates) there is nothing to read: read again.
        with contextlib.suppress(PlaywrightError, AssertionError):
            seen = minutes_late(page, release_id)
        if seen == wanted:
            break
        page.wait_for_timeout(250)
    return seen


@pytest.mark.slow
def test_the_refresh_keeps_the_scroll_position(
    live: Callable[..., LiveScenario], open_tab: Callable[..., Browsing]
) -> None:
    # GIVEN the board on a phone, scrolled down to the late release
    s = morning(live)
    tab = open_tab(width=320, height=400)
    board = tab.open(s.url("/"), "board")
    row(board, LATE).scroll_into_view_if_needed()
    board.mouse.wheel(0, 10_000)  # as far down as it goes
    board.wait_for_timeout(200)
    scrolled = board.evaluate("window.scrollY")
    assert scrolled > 0, "the page is too short to scroll: the test proves nothing"

    # WHEN time passes and the page refreshes itself
    s.advance(timedelta(minutes=2))
    assert wait_for_minutes_late(board, LATE, 14, REFRESH_WAIT_S) == 14

    # THEN it stays where it was
    assert board.evaluate("window.scrollY") == scrolled
    tab.look("board-refreshed")


@pytest.mark.slow
def test_without_javascript_the_board_still_refreshes(
    live: Callable[..., LiveScenario], open_tab: Callable[..., Browsing]
) -> None:
    s = live()
    s.run_until(at(9, 42))
    tab = open_tab(javascript=False)
    board = tab.open(s.url("/"), "board-no-js")
    assert minutes_late(board, ID) == 12
    s.advance(timedelta(minutes=1))
    assert wait_for_minutes_late(board, ID, 13, REFRESH_WAIT_S) == 13
    tab.look("board-no-js-refreshed")


def test_a_signed_dashboard_link_opens_the_styled_board_and_its_releases(
    live: Callable[..., LiveScenario], tab: Browsing
) -> None:
    # As on AWS, where only a signed link opens the board: the links inside it, the
    # stylesheet and the refresh script must all work under /d/<token>/.
    s = live()
    s.run_until(at(9, 42))
    token = issue_dashboard(s.codec, s.clock.now(), timedelta(days=1))
    board = tab.open(dashboard_url(s.base_url, token), "signed-board")
    assert_styled(board)
    row(board, ID).get_by_role("link").first.click()
    expect(board).to_have_url(re.compile(rf"/d/{re.escape(token)}/r/{ID}$"))
    tab.look("signed-release")
    assert_styled(board)
    expect(board.locator("#next-step")).to_contain_text("10:00:00")


def assert_styled(page: Page) -> None:
    """The design system's stylesheet loaded (a refused or missing one leaves serif text)."""
    font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert "arial" in font.lower(), font
    tag = page.locator("[data-state]").first
    background = tag.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), "the state tag is unstyled"


def test_readiness_confirmed_on_its_page_shows_on_tomorrows_board(
    live: Callable[..., LiveScenario], tab: Browsing
) -> None:
    s = morning(live)
    # the day before, at 09:42: no reminder has gone yet (it goes at 14:00), and it says so
    board = tab.open(s.url("/?view=tomorrow"), "tomorrow-before")
    readiness = row(board, TOMORROW).locator("td[data-label='Readiness']")
    expect(readiness).to_contain_text("Not confirmed")
    expect(readiness).to_contain_text("Nobody asked yet")
    page = tab.open(confirm_link(s), "confirm")
    page.get_by_role("button", name="Confirm it is ready").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmed")
    board = tab.open(s.url("/?view=tomorrow"), "tomorrow")
    tag = row(board, TOMORROW).locator("[data-state]")
    expect(tag).to_have_text("Readiness confirmed by Labour market statistics team")
    expect(row(board, TOMORROW).locator("td[data-label='Readiness']")).to_have_text(
        re.compile(r"^\s*Confirmed by Labour market statistics team at Thu 17 Jul 09:42\s*$")
    )


def test_a_contact_no_channel_reached_is_shown_first(
    live: Callable[..., LiveScenario], tab: Browsing
) -> None:
    # GIVEN both the SMS and the email to the web publisher are refused for good at 09:40
    def refuse_publisher(message: Message) -> SendError | None:
        if message.contact_id == "web_publisher":
            return SendError("mailbox unavailable", permanent=True)
        return None

    s = live(sms_fail=refuse_publisher, email_fail=refuse_publisher)
    s.run_until(at(9, 41))
    board = tab.open(s.url("/"), "board")
    unreachable = board.locator('#problems li[data-problem="unreachable"]')
    expect(unreachable).to_have_count(1)
    expect(unreachable).to_contain_text("Alice Publisher")
    # each channel failed, and then each fallback to the other channel (10 s later) failed
    expect(board.locator('#problems li[data-problem="failed-send"]')).to_have_count(4)
    assert_above(board.locator("#problems"), row(board, ID))
