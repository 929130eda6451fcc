"""The board at 09:31 on a busy morning (thirty releases, two late, one failed message), at
desktop and phone widths: the summary line first, the problems banner, then the releases that
need someone, then the rest in due order; each state on one line at a glance."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing
from tests.browser.harness import (
    BUSY_FAILED,
    BUSY_LATE,
    BUSY_ON_TIME,
    BUSY_SUMMARY,
    LiveScenario,
    busy_morning,
)

WIDTHS = {"desktop": (1280, 900), "phone": (320, 640)}


@pytest.fixture(scope="module")
def busy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveScenario]:
    folder = tmp_path_factory.mktemp("busy")
    made: list[LiveScenario] = []

    def make(**options: object) -> LiveScenario:
        made.append(LiveScenario(folder / "rw.db", **options))  # type: ignore[arg-type]
        return made[-1]

    yield busy_morning(make)
    for scenario in made:
        scenario.close()


def top(page: Page, selector: str) -> float:
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} is not shown"
    return box["y"]


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_summary_and_the_problems_come_first_then_who_needs_someone(
    width: str, busy: LiveScenario, open_tab: Callable[..., Browsing]
) -> None:
    w, h = WIDTHS[width]
    tab = open_tab(width=w, height=h)
    board = tab.open(busy.url("/"), f"busy-{width}")
    rows = board.locator("tr[data-release-id]")
    expect(rows).to_have_count(30)

    # the one line a person reads first, right under the heading
    expect(board.locator("#summary")).to_have_text(BUSY_SUMMARY)
    failed = board.locator('#problems li[data-problem="failed-send"]')
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("opted out")
    assert top(board, "h1") < top(board, "#summary") < top(board, "#problems")
    # then the two late releases, in due order, above everything else
    ids = rows.evaluate_all("rows => rows.map(r => r.dataset.releaseId)")
    assert ids[:2] == [BUSY_LATE, BUSY_FAILED]
    assert top(board, "#problems") < top(board, f'tr[data-release-id="{BUSY_LATE}"]')
    for rid in ids[2:]:
        assert top(board, f'tr[data-release-id="{BUSY_FAILED}"]') < top(
            board, f'tr[data-release-id="{rid}"]'
        )
    first = board.locator("#needs-someone tr[data-release-id]")
    expect(first).to_have_count(2)
    expect(first.nth(1)).to_contain_text("1 message failed")
    # the rest keep due order: the 09:30 releases before the 09:45 one
    due = board.locator("#the-rest tr[data-release-id] td[data-label='Due']").all_inner_texts()
    assert due == sorted(due), due
    assert "09:30:00" not in " ".join(due)  # one form of time: '09:30'
    if width == "phone":
        width_px, inner = tab.horizontal_overflow()
        assert width_px <= inner, f"the busy board scrolls sideways at 320 px: {width_px}"


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_state_reads_at_a_glance(
    width: str, busy: LiveScenario, open_tab: Callable[..., Browsing]
) -> None:
    w, h = WIDTHS[width]
    tab = open_tab(width=w, height=h)
    board = tab.open(busy.url("/"), f"busy-states-{width}")
    # Each state tag on one line: "Not due yet", never "Not / due / yet"
    lines = board.locator("[data-state]").evaluate_all(
        """tags => tags.map(t => [t.innerText,
            new Set(Array.from(t.getClientRects()).map(r => Math.round(r.top))).size === 1
            && Math.round(t.getBoundingClientRect().height) <= 2 * parseFloat(
                getComputedStyle(t).lineHeight)])"""
    )
    wrapped = [text for text, one_line in lines if not one_line]
    assert wrapped == [], f"state tags wrap at {w} px: {wrapped}"
    # ...and first in each row: above (phone) or left of (desktop) the due time and the title
    row = board.locator(f'tr[data-release-id="{BUSY_ON_TIME[0]}"]')
    tag = row.locator("[data-state]").bounding_box()
    due = row.locator("td[data-label='Due']").bounding_box()
    title = row.locator("th").bounding_box()
    assert tag and due and title
    if width == "phone":
        assert tag["y"] < due["y"] < title["y"]
    else:
        assert tag["x"] < due["x"] < title["x"]
    expect(row.locator("[data-state]")).to_have_text("Live, on time")
