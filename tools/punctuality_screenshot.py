"""Writes the README's punctuality screenshot (docs/img/punctuality.png): the seeded year of
tests/punctuality_support.py (six producers; late, early, cancelled, moved and unknown
releases) on the real local web server, in Debian's Chromium, 1000 px wide.

    .venv/bin/python tools/punctuality_screenshot.py      # after `make browser`
"""

from __future__ import annotations

import sys
import tempfile
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from releasewatch.clock import FixedClock  # noqa: E402
from releasewatch.links.tokens import TokenCodec  # noqa: E402
from releasewatch.store.sqlite import SQLiteStore  # noqa: E402
from releasewatch.web.app import WebApp  # noqa: E402
from releasewatch.web.local_server import LocalWebServer  # noqa: E402
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.punctuality_support import NOW, seed_year  # noqa: E402

OUT = ROOT / "docs" / "img" / "punctuality.png"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        # Checks kept for the whole year: the store expires them after 30 days by default, and
        # with them the evidence for on-time verdicts (docs/punctuality.md).
        store = SQLiteStore(Path(folder) / "state.db", check_ttl=timedelta(days=800))
        seed_year(store)
        app = WebApp(store, TokenCodec(b"screenshot-only-secret-0123456789"), FixedClock(NOW))
        server = LocalWebServer(app, port=0).start()
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1000, "height": 1400})
                page.goto(server.base_url + "/punctuality?sort=late&order=desc")
                # The table and the first producers' charts: what a reader sees first.
                page.screenshot(path=str(OUT), full_page=False)
                browser.close()
        finally:
            server.stop()
            store.close()
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
