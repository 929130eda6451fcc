"""Real-browser fixtures: Debian's Chromium (/usr/bin/chromium) driven by Playwright's driver
from the `playwright` wheel. No browser is ever downloaded (`playwright install` is never run):
`make test` installs the Debian package when it is missing (as root), and without it every
browser test fails with the message below; none is skipped.

One Chromium for the whole package (starting it costs about a second); a fresh context (its own
cookies, cache and viewport) per test. Every page a test looks at is screenshotted to
tests/artifacts/<test>-<page>.png, scanned for email addresses and phone numbers, and checked
by axe-core against WCAG 2.2 A and AA: every page and state any browser test reaches, at the
width it is open at.

axe-core is the axe.min.js inside the axe-playwright-python wheel (MPL-2.0; a test tool in
pyproject's dev group, locked in uv.lock): injected into the page from that file, nothing
downloaded at test time.
"""

from __future__ import annotations

import importlib.util
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.harness import LiveScenario, morning, personal_data

# The axe-core that axe-playwright-python ships (its version is the file's first line).
AXE_JS = Path(importlib.util.find_spec("axe_playwright_python").origin).parent / "axe.min.js"  # type: ignore[arg-type,union-attr]
# WCAG 2.2 level A and AA, every version's rules (UK public sector: WCAG 2.2 AA).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]

CHROMIUM = Path(os.environ.get("RELEASEWATCH_CHROMIUM", "/usr/bin/chromium"))
# What the machine's closed network needs (no background fetches, no QUIC, no component or
# sync updates: each would be refused, many at a time). Playwright adds a fresh, empty
# --user-data-dir of its own for every launch.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WIDE = {"width": 1280, "height": 900}
TIMEOUT_MS = 10_000  # for actions and expect(): generous, the machine may be busy
expect.set_options(timeout=TIMEOUT_MS)

MISSING = (
    f"The browser tests need Debian's Chromium at {CHROMIUM}, and it is not there. "
    "Install it with `make browser` (as root: it runs apt-get), or "
    "`sudo apt-get install --no-install-recommends chromium fonts-liberation`. "
    "Do not run `playwright install`: the tests use the Debian build, never a download."
)


@pytest.fixture(scope="package")
def chromium() -> Iterator[Browser]:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(MISSING, pytrace=False)
    # Package scope, not session: while Playwright's sync API is running it marks this
    # thread's event loop as running, so the rest of the suite's asyncio could not start.
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def _axe_run(page: Page) -> list[dict[str, Any]]:
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags},"
        " resultTypes: ['violations']})",
        AXE_TAGS,
    )
    return list(result["violations"])


class Browsing:
    """One browser tab, as one person: opens pages and looks at them. `look` screenshots the
    page to tests/artifacts/ and fails on any email address, phone number or script error."""

    def __init__(self, page: Page, test_name: str, *, javascript: bool = True) -> None:
        self.page = page
        self.javascript = javascript
        self.test_name = re.sub(r"[^A-Za-z0-9_.-]+", "_", test_name).strip("_")
        self.errors: list[str] = []
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        # A CSP refusal is how a blocked refresh script or style shows itself.
        if message.type == "error" and "Refused to" in message.text:
            self.errors.append(message.text)

    def open(self, url: str, name: str) -> Page:
        response = self.page.goto(url, wait_until="load")
        assert response is not None, f"no response for {name}"
        return self.look(name)

    def look(self, name: str) -> Page:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / f"{self.test_name}-{name}.png"
        self.page.screenshot(path=str(shot), full_page=True)
        self.assert_no_personal_data(name)
        assert self.errors == [], f"{name}: script or CSP errors: {self.errors}"
        self.assert_accessible(name)
        return self.page

    def axe_violations(self) -> list[dict[str, Any]]:
        """axe-core's WCAG 2.2 A/AA violations on the page as it is now. axe-core is a script:
        a tab without JavaScript has its address scanned in a tab with it (same size; the
        pages differ only by the <noscript> refresh, and such tabs only look at GET pages)."""
        if self.javascript:
            return _axe_run(self.page)
        browser = self.page.context.browser
        assert browser is not None
        context = browser.new_context(viewport=self.page.viewport_size, service_workers="block")
        try:
            twin = context.new_page()
            twin.goto(self.page.url, wait_until="load")
            return _axe_run(twin)
        finally:
            context.close()

    def assert_accessible(self, name: str) -> None:
        violations = self.axe_violations()
        assert violations == [], f"{name} ({self.page.url}): axe-core: " + "; ".join(
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(" ".join(n["target"]) for n in v["nodes"][:3])
            for v in violations
        )

    def assert_no_personal_data(self, name: str) -> None:
        html = self.page.evaluate("document.documentElement.outerHTML")
        text = self.page.evaluate("document.body ? document.body.innerText : ''")
        title = self.page.title()
        leaks = personal_data(html) + personal_data(text) + personal_data(title)
        assert leaks == [], f"{name} ({self.page.url}) shows personal data: {sorted(set(leaks))}"

    def horizontal_overflow(self) -> tuple[int, int]:
        """(scrollWidth, innerWidth): the page scrolls sideways when the first is larger."""
        width, inner = self.page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth]"
        )
        return int(width), int(inner)


@pytest.fixture
def open_tab(
    chromium: Browser, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Browsing]]:
    """open_tab(width, height, javascript) -> a Browsing in a fresh context (its own cookies
    and cache) with that viewport, scripts on or off."""
    contexts = []

    def make(
        width: int = WIDE["width"], height: int = WIDE["height"], javascript: bool = True
    ) -> Browsing:
        context = chromium.new_context(
            viewport={"width": width, "height": height},
            service_workers="block",
            java_script_enabled=javascript,
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return Browsing(context.new_page(), request.node.name, javascript=javascript)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def tab(open_tab: Callable[..., Browsing]) -> Browsing:
    return open_tab()


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveScenario]:
    """One release morning (harness.morning) at 09:42, shared by a module's tests."""
    folder = tmp_path_factory.mktemp("morning")
    made: list[LiveScenario] = []

    def make(**options: Any) -> LiveScenario:
        made.append(LiveScenario(folder / "rw.db", **options))
        return made[-1]

    yield morning(make)
    for scenario in made:
        scenario.close()


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Callable[..., LiveScenario]]:
    """live(**LiveScenario options) -> a running scenario (server, store, watchdog, clock)."""
    made: list[LiveScenario] = []

    def make(**options: Any) -> LiveScenario:
        scenario = LiveScenario(tmp_path / f"rw{len(made)}.db", **options)
        made.append(scenario)
        return scenario

    yield make
    for scenario in made:
        scenario.close()


# Words (letters, digits, colons: '09:30:00' too) that the layout split over two lines, as
# `overflow-wrap: anywhere` in a squeezed table column does ("Ema" / "il"). Hyphens are fair
# places to break, and words longer than `longest` (URLs) may have to be.
BROKEN_WORDS_JS = """(longest) => {
  const broken = [];
  const root = document.querySelector("main") || document.body;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const words = /[A-Za-z0-9:]+/g;
    let m;
    while ((m = words.exec(node.data))) {
      if (m[0].length < 2 || m[0].length > longest) continue;
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const lines = new Set(
        Array.from(range.getClientRects()).filter((r) => r.width > 0).map((r) => Math.round(r.top))
      );
      if (lines.size > 1) broken.push(m[0]);
    }
  }
  return broken;
}"""


def broken_words(page: Page, longest: int = 15) -> list[str]:
    return list(page.evaluate(BROKEN_WORDS_JS, longest))
