"""The board's pages as HTML and JSON through WebApp (what the local server and the API
Lambda both answer): the DOM hooks the browser tests rely on, accessible structure, no
internal wording, the static files, the JSON API and the breach report downloads."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

from releasewatch.errors import SendError
from releasewatch.local.loophealth import TickHealth
from releasewatch.web import assets
from tests.unit.escalation_support import ID, Scenario, at

INTERNAL = ("live_late", "step 0", "permanent", "notification_sent", "ack_notice", "None")


class Outline(HTMLParser):
    """Headings in order, table headers and their scope, and the text people read."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[int] = []
        self.th_scopes: list[str | None] = []
        self.text: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        if tag == "th":
            self.th_scopes.append(dict(attrs).get("scope"))
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.text.append(data)


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


def late_at(hh: int, mm: int, **kw: object) -> Scenario:
    s = Scenario(live=lambda now: False, **kw)  # type: ignore[arg-type]
    s.run_until(at(hh, mm))
    return s


def test_the_board_carries_the_hooks_the_browser_tests_use() -> None:
    s = late_at(9, 42)
    page = s.open("/")
    assert page.status == 200
    html = page.body
    row = re.search(rf'<tr [^>]*data-release-id="{ID}"[^>]*>(.*?)</tr>', html, re.S)
    assert row is not None
    assert re.search(r'data-state="late">Late — <span data-minutes-late="12">12 min</span>', row[1])
    assert re.search(r'id="summary"><span class="rw-part">1 late</span></p>', html)
    assert re.search(r'id="last-refreshed">Updated 09:42:00<', html)
    for view in ("today", "tomorrow", "week"):
        assert f'href="?view={view}"' in html
    assert '<noscript><meta http-equiv="refresh" content="30"></noscript>' in html
    assert f'<script src="static/{assets.version()}/refresh.js" defer></script>' in html
    assert f'<link rel="stylesheet" href="static/{assets.version()}/board.css">' in html
    assert 'id="problems"' not in html  # nothing wrong: no banner


def test_the_views_switch_the_days_shown() -> None:
    s = late_at(9, 42)
    assert f'data-release-id="{ID}"' in s.open("/?view=week").body
    tomorrow = s.open("/?view=tomorrow").body
    assert f'data-release-id="{ID}"' not in tomorrow
    assert "No releases are due tomorrow." in tomorrow
    assert 'href="?view=tomorrow" aria-current="page"' in tomorrow


def test_the_release_page_shows_the_ladder_next_step_timeline_and_acks() -> None:
    s = late_at(9, 42)
    html = s.open(f"/r/{ID}").body
    ladder = re.search(
        r'<table class="govuk-table rw-stack" id="ladder"[^>]*>(.*?)</table>', html, re.S
    )
    assert ladder is not None
    rows = re.findall(
        r'<tr [^>]*data-step="(\d)" data-delivery="(\w+)">(.*?)</tr>', ladder[1], re.S
    )
    assert [(step, delivery) for step, delivery, _ in rows] == [
        ("1", "sent"), ("2", "sent"), ("2", "sent"), ("3", "pending"), ("4", "pending"),
    ]  # fmt: skip
    assert "SMS" in rows[1][2] and "Sent 09:40:00" in rows[1][2] and "Alice Publisher" in rows[1][2]
    assert re.search(
        r'id="next-step">Next: Bob Lead at <span class="rw-times">10:00:00</span>', html
    )
    assert 'id="timeline"' in html and "09:30:00</span> Due" in html
    assert re.search(
        r'id="acknowledgements">\s*<p class="govuk-body">Nobody has acknowledged', html
    )
    assert s.open(s.latest_link("web_publisher"), "POST").status == 200
    html = s.open(f"/r/{ID}").body
    acks = re.search(r'id="acknowledgements">(.*?)</div>', html, re.S)
    assert acks is not None and "Alice Publisher at 09:42:00" in acks[1]


def test_a_failed_send_is_a_problem_at_the_top_of_every_page() -> None:
    def refuse(message: object) -> SendError:
        return SendError("the number is not a mobile number", permanent=True)

    s = late_at(9, 42, sms_fail=refuse)
    for path in ("/", f"/r/{ID}"):
        html = s.open(path).body
        banner = re.search(r'id="problems">(.*?)</ul>', html, re.S)
        assert banner is not None, path
        assert html.index('id="problems"') < html.index('id="last-refreshed"')
        (item,) = re.findall(r'<li data-problem="failed-send">(.*?)</li>', banner[1], re.S)
        assert "SMS to Alice Publisher failed at 09:40:00: the number is not a mobile" in item
    ladder = s.open(f"/r/{ID}").body
    assert re.search(
        r'data-delivery="failed">.*?Failed at 09:40:00: the number is not', ladder, re.S
    )


def test_an_unhealthy_watchdog_is_a_problem_on_the_board() -> None:
    s = late_at(9, 42)
    health = TickHealth()
    health.failed(at(9, 41), "database or disk is full")
    health.synced({"ons-feed": "HTTP 503 from the feed"})
    s.web.health = health
    html = s.open("/").body
    problems = re.findall(r'<li data-problem="unhealthy">(.*?)</li>', html, re.S)
    assert len(problems) == 2
    assert "The watchdog is failing since" in problems[0] and "disk is full" in problems[0]
    assert "calendar source ons-feed is failing: HTTP 503" in problems[1]


def test_pages_are_accessible_in_structure_and_never_internal_in_wording() -> None:
    def refuse(message: object) -> SendError:
        return SendError("unknown subscriber", permanent=True)

    s = late_at(9, 42, sms_fail=refuse)
    s.open(s.latest_link("web_publisher", "email"), "POST")
    s.run_until(at(11, 5))  # past every step, then (below) live 2 h late
    s.prober.live = lambda now: True
    s.run_until(at(11, 6))
    for path in ("/", "/?view=week", f"/r/{ID}"):
        page = outline(s.open(path).body)
        assert page.headings[0] == 1 and page.headings.count(1) == 1, path
        # no heading level is skipped on the way down
        assert all(b <= a + 1 for a, b in zip(page.headings, page.headings[1:], strict=False))
        scopes = ("col", "row", "colgroup")  # colgroup: the groups' headings, across the table
        assert page.th_scopes and all(scope in scopes for scope in page.th_scopes)
        words = " ".join(page.text)
        for internal in INTERNAL:
            assert internal not in words, (path, internal)
    assert "Live, 1 h 35 min late" in s.open("/").body


def test_the_json_api_serves_the_same_view_models() -> None:
    s = late_at(9, 42)
    board = s.open("/api/releases")
    assert board.status == 200 and board.headers["Content-Type"].startswith("application/json")
    data = json.loads(board.body)
    (row,) = data["rows"]
    assert row["release_id"] == ID and row["minutes_late"] == 12
    assert row["tag"] == {"state": "late", "text": "Late — 12 min", "colour": "red"}
    assert row["due"] == "2025-07-17T08:30:00Z"
    assert json.loads(s.open("/api/releases?view=tomorrow").body)["rows"] == []
    release = json.loads(s.open(f"/api/releases/{ID}").body)
    assert [r["delivery"] for r in release["ladder"]][:3] == ["sent", "sent", "sent"]
    assert release["next_step"]["time"] == "10:00:00"
    missing = s.open("/api/releases/nope")
    assert missing.status == 404 and json.loads(missing.body) == {"error": "no such release"}
    assert "@" not in board.body + s.open(f"/api/releases/{ID}").body


def test_the_stylesheet_is_govuk_frontend_without_its_font_and_cached_under_its_version() -> None:
    s = late_at(9, 30)
    css = s.open(f"/static/{assets.version()}/board.css")
    assert css.status == 200 and css.headers["Content-Type"] == "text/css; charset=utf-8"
    assert css.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "GDS Transport" not in css.text and "@font-face" not in css.text
    assert '--govuk-frontend-version:"5.' in css.text  # the design system's own CSS
    assert "font-family: arial, sans-serif" in css.text
    js = s.open(f"/static/{assets.version()}/refresh.js")
    assert js.status == 200 and js.headers["Content-Type"].startswith("text/javascript")
    old = s.open("/static/0123456789ab/board.css")  # a page from before a deploy
    assert old.status == 200 and old.headers["Cache-Control"] == "no-cache"
    assert s.open(f"/static/{assets.version()}/secrets.txt").status == 404
    # no crown anywhere: neither in the header nor as an image
    assert "crown" not in s.open("/").body.lower()


def test_the_breach_report_downloads_as_markdown_and_word_without_contact_details() -> None:
    s = Scenario(live=lambda now: now >= at(9, 50))
    s.run_until(at(9, 51))
    html = s.open(f"/r/{ID}").body
    assert f'href="../r/{ID}/report.md" download' in html
    assert f'href="../r/{ID}/report.docx" download' in html
    md = s.open(f"/r/{ID}/report.md")
    assert md.status == 200 and md.headers["Content-Type"].startswith("text/markdown")
    assert "attachment;" in md.headers["Content-Disposition"]
    assert "Labour market overview" in md.text and "@" not in md.text
    docx = s.open(f"/r/{ID}/report.docx")
    assert docx.status == 200 and isinstance(docx.body, bytes) and docx.body[:2] == b"PK"
    assert s.open(f"/r/{ID}/report.pdf").status == 404
    assert s.open("/r/nope/report.md").status == 404


def test_the_asset_version_survives_the_privacy_scrub() -> None:
    from releasewatch.web.scrub import scrub

    # (a hex digest like 0123456789ab would be blanked as a phone number)
    assert re.fullmatch(r"[a-p]{12}", assets.version())
    assert scrub(assets.path("board.css")) == assets.path("board.css")


def test_every_table_stays_inside_its_own_scroll_box_and_stacks_on_narrow_screens() -> None:
    s = late_at(9, 42)
    css = s.open(f"/static/{assets.version()}/board.css").text
    assert ".rw-table-scroll { max-width: 100%; overflow-x: auto;" in css
    assert "@media (max-width: 40.0525em)" in css and ".rw-stack tr { border-bottom" in css
    for path in ("/", f"/r/{ID}"):
        html = s.open(path).body
        tables = re.findall(r'<div class="rw-table-scroll"[^>]*>\s*<table class="([^"]*)"', html)
        assert tables and len(tables) == html.count("<table"), path
        assert all("rw-stack" in classes for classes in tables)
        # stacked cells name their column
        assert 'data-label="State"' in html or 'data-label="What happened"' in html


def test_a_store_that_cannot_be_read_is_a_503_page_that_says_so() -> None:
    import sqlite3

    s = late_at(9, 42)

    def broken() -> list[object]:
        raise sqlite3.OperationalError("database is locked")

    s.store.all_releases = broken  # type: ignore[method-assign]
    page = s.open("/")
    assert page.status == 503
    (problem,) = re.findall(r'<li data-problem="unhealthy">(.*?)</li>', page.body)
    assert problem == "The store cannot be read: OperationalError: database is locked."
    api = s.open("/api/releases")
    assert api.status == 503 and json.loads(api.body)["store_readable"] is False
