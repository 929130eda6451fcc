"""Accessibility in a real browser, as UK public-sector services must (WCAG 2.2 AA).

axe-core runs on every page any browser test looks at (conftest.Browsing.look), at the width
it is open at; here on every page by name (harness.PAGES) at phone and desktop widths, on the
pages after pressing a button, on the 503 page, and on a page built to fail, so a scan that
stopped working would be seen. And the keyboard-only path: the skip link first, focus in the
order the page reads, every focused control visibly marked and not hidden."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing
from tests.browser.harness import LATE, PAGES, LiveScenario, confirm_link, morning

WIDTHS = {"phone": 320, "desktop": 1280}


@pytest.mark.slow
def test_the_scan_finds_violations_on_a_page_built_to_fail(tab: Browsing) -> None:
    tab.page.set_content(
        "<!doctype html><html><title>t</title><body>"
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        '<input type="text"><p style="color:#ccc;background:#fff">faint</p></body></html>'
    )
    found = {v["id"] for v in tab.axe_violations()}
    assert {"image-alt", "label", "color-contrast", "html-has-lang"} <= found
    with pytest.raises(AssertionError, match="axe-core"):
        tab.assert_accessible("built-to-fail")


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("name", list(PAGES))
def test_no_page_has_an_axe_violation(
    name: str, width: str, day: LiveScenario, open_tab: Callable[..., Browsing]
) -> None:
    tab = open_tab(width=WIDTHS[width], height=800)
    tab.open(PAGES[name](day), f"{name}-{width}-axe")  # look() runs axe-core
    assert tab.axe_violations() == []  # and once more, said here


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_pages_after_each_button_and_a_broken_store_have_no_violation(
    width: str, live: Callable[..., LiveScenario], open_tab: Callable[..., Browsing]
) -> None:
    s = morning(live)
    tab = open_tab(width=WIDTHS[width], height=800)
    page = tab.open(s.link_sent_to("web_publisher", "email"), "ack-form")
    page.get_by_role("button", name="Acknowledge").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Acknowledged")
    tab.look("acknowledged")
    page.go_back()  # the used link
    expect(page.get_by_role("heading", level=1)).to_have_text("Link not accepted")
    tab.look("used-link")
    page = tab.open(confirm_link(s), "confirm-form")
    page.get_by_role("button", name="Confirm it is ready").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirmed")
    tab.look("confirmed")
    tab.open(s.url("/?view=tomorrow"), "tomorrow-confirmed")
    # the watchdog failing, then the store unreadable: banners on every page
    s.health.failed(s.clock.now(), "the database is locked")
    tab.open(s.url("/"), "unhealthy")
    real = s.store.all_releases

    def broken() -> list[Any]:
        raise OSError("disk I/O error")

    s.store.all_releases = broken  # type: ignore[method-assign]
    try:
        tab.open(s.url("/"), "store-unreadable")
        expect(tab.page.locator('#problems li[data-problem="unhealthy"]').first).to_be_visible()
    finally:
        s.store.all_releases = real  # type: ignore[method-assign]


# -- keyboard only ------------------------------------------------------------------------------
FOCUSED_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const s = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) > 0
    && !/rgba\\(0, 0, 0, 0\\)|transparent/.test(s.outlineColor);
  const shadow = s.boxShadow !== "none";
  return {
    tag: el.tagName.toLowerCase(),
    text: (el.getAttribute("aria-label") || el.innerText || "").trim().slice(0, 60),
    id: el.id, inMain: !!el.closest("main"), top: r.top + window.scrollY, left: r.left,
    marked: outline || shadow, background: s.backgroundColor,
    visible: r.bottom > 0 && r.top < window.innerHeight && r.width > 0 && r.height > 0,
    skip: el.classList.contains("govuk-skip-link"),
    release: el.closest("tr")?.dataset.releaseId || null,
  };
}"""


def tab_through(page: Page, limit: int = 80) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED_JS)
        if focused is None or (seen and focused == seen[0]):
            break
        seen.append(focused)
    return seen


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_board_works_by_keyboard_alone(
    width: str, day: LiveScenario, open_tab: Callable[..., Browsing]
) -> None:
    tab = open_tab(width=WIDTHS[width], height=700)
    page = tab.open(day.url("/"), f"keyboard-{width}")
    # The first Tab shows the skip link, visibly
    page.keyboard.press("Tab")
    first = page.evaluate(FOCUSED_JS)
    assert first["skip"] and first["text"] == "Skip to main content"
    assert first["visible"] and first["marked"], first
    tab.look("skip-link")
    # Enter skips the header: the next Tab is inside <main>
    page.keyboard.press("Enter")
    expect(page).to_have_url(day.url("/#main-content"))
    stops = tab_through(page)
    assert stops and all(stop["inMain"] for stop in stops[:3]), stops[:3]
    # Every stop visibly marked and scrolled into view (WCAG 2.4.7, 2.4.11)
    main_stops = [stop for stop in stops if stop["inMain"]]
    hidden = [stop["text"] for stop in main_stops if not (stop["marked"] and stop["visible"])]
    assert hidden == [], hidden
    # Focus follows the reading order: down the page, problems, views, then releases in the
    # board's order, then the JSON link
    tops = [stop["top"] for stop in main_stops]
    assert tops == sorted(tops), [(s["text"], s["top"]) for s in main_stops]
    texts = [stop["text"] for stop in main_stops]
    assert texts.index("Open the release") < texts.index("Today") < texts.index("Tomorrow")
    rows = page.locator("tr[data-release-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.releaseId)"
    )
    focused_rows = list(dict.fromkeys(s["release"] for s in main_stops if s["release"]))
    assert focused_rows == rows
    assert texts[-2:] == ["This board as JSON", "JSON Schema"]
    # ...and, back from the end, Enter opens the JSON link
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Enter")
    expect(page).to_have_url(day.url("/api/releases?view=today"))


def test_a_release_page_and_its_back_link_by_keyboard(day: LiveScenario, tab: Browsing) -> None:
    page = tab.open(day.url(f"/r/{LATE}"), "release-keyboard")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED_JS)["skip"]
    stops = tab_through(page)
    texts = [stop["text"] for stop in stops]
    assert "All releases" in texts  # the back link, before main
    main_stops = [stop for stop in stops if stop["inMain"]]
    assert main_stops and all(stop["marked"] and stop["visible"] for stop in main_stops)
    tops = [stop["top"] for stop in main_stops]
    assert tops == sorted(tops)
