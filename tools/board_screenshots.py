"""Writes the README's screenshots (docs/board.png, docs/release.png): the browser tests'
release morning at 09:42 (GDP live on time at 07:00, the labour market release 12 minutes late
with its SMS delivered), in Debian's Chromium, 1000 px wide.

    .venv/bin/python tools/board_screenshots.py      # after `make browser`
"""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.browser.harness import (  # noqa: E402
    LATE,
    ON_TIME,
    TOMORROW,
    LiveScenario,
    at,
    morning_releases,
    never,
)


def main() -> None:
    releases = [
        r.model_copy(update={"producer": "Office for Example Statistics"})
        for r in morning_releases()
    ]
    with tempfile.TemporaryDirectory() as folder:
        s = LiveScenario(
            Path(folder) / "state.db",
            releases=releases,
            live={LATE: never, ON_TIME: lambda now: now >= at(7, 0, 20), TOMORROW: never},
            start=at(6, 50),
        )
        try:
            s.run_until(at(9, 42), step=timedelta(seconds=30))
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1000, "height": 700})
                for path, name in (("/", "board"), (f"/r/{LATE}", "release")):
                    page.goto(s.url(path))
                    out = ROOT / "docs" / f"{name}.png"
                    page.screenshot(path=str(out), full_page=True)
                    print(f"wrote {out.relative_to(ROOT)} ({out.stat().st_size // 1024} KB)")
                browser.close()
        finally:
            s.close()


if __name__ == "__main__":
    main()
