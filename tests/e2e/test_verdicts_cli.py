"""Verdicts on the web as it is, through `releasewatch run --once` on loopback (issue 17):
GOV.UK's pages and Content API items as they are served, an SMTP server, the SQLite file."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import Message
from pathlib import Path

import pytest

from releasewatch.store.sqlite import SQLiteStore
from releasewatch.timefmt import LONDON
from tests.e2e.test_local_cli import Inbox, releasewatch, smtp  # noqa: F401  (a fixture)
from tests.probe_support import (
    Handler,
    LoopbackHTTPServer,
    announcement_item,
    loopback_server,
    publication_item,
    redirect_item,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "govuk"
PAGE_CANCELLED = "/government/statistics/announcements/imaging-page"
ITEM_CANCELLED = "/government/statistics/announcements/imaging-item"
GONE = "/government/statistics/announcements/imaging-gone"
TITLE = "Diagnostic imaging dataset for September 2015"
SMTP_ENV = {"RELEASEWATCH_SMTP_STARTTLS": "0", "RELEASEWATCH_SMTP_SENDER": "rw@example.com"}


def govuk(h: Handler) -> None:
    if h.route_path == PAGE_CANCELLED:
        body = (FIXTURES / "pages" / "announcement_cancelled.html").read_bytes()
        h.reply(200, body, {"Content-Type": "text/html; charset=utf-8"})
    elif h.route_path == "/api/content" + ITEM_CANCELLED:
        item = json.loads((FIXTURES / "announcement_cancelled.json").read_text())
        item["base_path"] = ITEM_CANCELLED
        h.reply(200, json.dumps(item).encode(), {"Content-Type": "application/json"})
    else:  # GONE too: an announcement taken down without a publication
        h.reply(404, b"<h1>Page not found</h1>", {"Content-Type": "text/html"})


def key(email: Message) -> str:
    """The notification key a message carries (a long header is folded over lines)."""
    return "".join(str(email["X-Releasewatch-Key"]).split())


@pytest.fixture
def site() -> Iterator[LoopbackHTTPServer]:
    with loopback_server(govuk) as server:
        yield server


def write_config(tmp_path: Path, site: LoopbackHTTPServer, due: datetime) -> Path:
    when = f"{due.astimezone(LONDON):%Y-%m-%dT%H:%M:%S%z}"
    text = f"""\
local_mode: true
contacts:
  team: {{name: Stats team, role: stats_team, email: team@example.com}}
  pub: {{name: Web publisher, role: web_publisher, email: pub@example.com, phone: "+447700900123"}}
chains:
  default:
    - {{after: 5m, notify: [team], channels: [email], repeat: 30m}}
    - {{after: 10m, notify: [pub], channels: [sms, email], repeat: 15m}}
releases:
  - {{id: page-mode, title: "{TITLE}", url: "{site.url(PAGE_CANCELLED)}", due: "{when}"}}
  - id: govuk-mode
    title: "{TITLE}"
    url: "{site.url(ITEM_CANCELLED)}"
    live: {{govuk: true}}
    due: "{when}"
  - {{id: gone, title: "{TITLE}", url: "{site.url(GONE)}", due: "{when}"}}
"""
    path = tmp_path / "releasewatch.yaml"
    path.write_text(text)
    return path


def test_a_cancellation_seen_on_the_page_wins_in_both_modes_and_a_404_does_not(
    tmp_path: Path,
    site: LoopbackHTTPServer,
    smtp: tuple[int, Inbox],  # noqa: F811
) -> None:
    port, inbox = smtp
    # Eleven minutes past due: both chain steps have fired for a release not yet live.
    config = write_config(tmp_path, site, datetime.now(UTC) - timedelta(minutes=11))
    db = tmp_path / "rw.db"
    args = ("run", "--config", str(config), "--db", str(db), "--once")
    result = releasewatch(*args, "--smtp", f"127.0.0.1:{port}", env=SMTP_ENV)
    assert result.returncode == 0, result.stderr
    emails = [message_from_bytes(m) for m in inbox.messages]
    keys = sorted(key(e) for e in emails)
    cancelled = [k for k in keys if "|cancel_notice|" in k]
    assert sorted(k.split("|")[0] for k in cancelled) == ["govuk-mode", "page-mode"]
    assert all(k.endswith("|team|email") for k in cancelled)  # the team, once each
    # The cancelled releases get no alert; the one whose announcement 404s does (both steps).
    alerts = sorted(k for k in keys if "|alert|" in k)
    assert alerts == ["gone|alert|0|0|team|email", "gone|alert|1|0|pub|email"]
    for e in emails:
        if "|cancel_notice|" in key(e):
            text = str(e.get_payload())
            assert "Official Statistics" in text  # GOV.UK's reason, from the page and the item
            assert "not live" not in text.lower()
    outbox = tmp_path / "outbox" / "sms.jsonl"
    sms = [json.loads(line) for line in outbox.read_text().splitlines()] if outbox.exists() else []
    assert [m["key"].split("|")[0] for m in sms] == ["gone"]  # no SMS for a cancelled release
    with SQLiteStore(db) as store:
        states = {r.id: r.state.value for r in store.all_releases()}
    assert states == {"page-mode": "cancelled", "govuk-mode": "cancelled", "gone": "late"}
    # A restart applies the same config again: nothing new is sent for the cancelled ones.
    before = len(inbox.messages)
    again = releasewatch(*args, "--smtp", f"127.0.0.1:{port}", env=SMTP_ENV)
    assert again.returncode == 0, again.stderr
    new = [key(message_from_bytes(m)) for m in inbox.messages[before:]]
    assert not [k for k in new if not k.startswith("gone|")]


def iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat(timespec="milliseconds")


def publication(title: str, first: datetime, updated: datetime | None = None) -> bytes:
    text = (FIXTURES / "pages" / "publication.html").read_text()
    return text.format(
        title=title,
        first_published_at=iso(first),
        public_updated_at=iso(updated or first),
        withdrawn_meta="",
        withdrawn_notice="",
    ).encode()


def test_editions_and_retitled_publications_get_their_true_verdict_with_no_false_notice(
    tmp_path: Path,
    smtp: tuple[int, Inbox],  # noqa: F811
) -> None:
    port, inbox = smtp
    now = datetime.now(UTC)
    due = now - timedelta(minutes=11)  # both chain steps have fired for a page not live
    old_due = now - timedelta(days=2)  # corrected yesterday, first checked today
    html = {"Content-Type": "text/html; charset=utf-8"}
    announced, published = "Monthly statistics: Patents", "Patents statistics"
    pages: dict[str, tuple[int, bytes, dict[str, str]]] = {
        # page mode: the announcement redirects to a publication titled otherwise, on time
        "/government/statistics/announcements/patents": (
            301,
            b"",
            {"Location": "/government/statistics/patents-statistics"},
        ),
        "/government/statistics/patents-statistics": (
            200,
            publication(published, due + timedelta(seconds=4)),
            html,
        ),
        # page mode: last year's edition at the URL named: not live (not an early breach)
        "/government/statistics/fostering": (
            200,
            publication("Fostering in England", due - timedelta(days=365)),
            html,
        ),
        # page mode: published on time two days ago, corrected yesterday: live, on time
        "/government/statistics/corrected": (
            200,
            publication("Corrected statistics", old_due, now - timedelta(days=1)),
            html,
        ),
    }

    # The same three in GOV.UK mode, from Content API items.
    as_json = {"Content-Type": "application/json"}

    def item(path: str, value: object) -> None:
        pages["/api/content" + path] = (200, json.dumps(value).encode(), as_json)

    def publication_item_at(path: str, title: str, first: datetime, updated: datetime) -> None:
        found = publication_item(first_published_at=iso(first))
        found.update(base_path=path, title=title, public_updated_at=iso(updated))
        item(path, found)

    patents = announcement_item()  # in place: found by search, under another title
    patents.update(base_path="/government/statistics/announcements/patents-item", title=announced)
    item(patents["base_path"], patents)
    found_at = "/government/statistics/patents-statistics-item"
    first = due + timedelta(seconds=4)
    publication_item_at(found_at, published, first, first)
    rows = [{"title": published, "link": found_at}]
    pages["/api/search.json"] = (200, json.dumps({"results": rows, "total": 1}).encode(), as_json)
    fostering = announcement_item()
    fostering.update(base_path="/government/statistics/announcements/fostering-item")
    item(fostering["base_path"], fostering)
    last_year = due - timedelta(days=365)
    publication_item_at("/government/statistics/fostering-item", "Fostering", last_year, last_year)
    corrected = "/government/statistics/announcements/corrected-item"
    item(
        corrected,
        {**redirect_item("/government/statistics/corrected-item"), "base_path": corrected},
    )
    publication_item_at(
        "/government/statistics/corrected-item", "Corrected", old_due, now - timedelta(days=1)
    )

    def route(h: Handler) -> None:
        status, body, headers = pages.get(h.route_path, (404, b"Not found", {}))
        h.reply(status, body, headers)

    with loopback_server(route) as server:
        when = f"{due.astimezone(LONDON):%Y-%m-%dT%H:%M:%S%z}"
        then = f"{old_due.astimezone(LONDON):%Y-%m-%dT%H:%M:%S%z}"
        url = server.url
        config = tmp_path / "releasewatch.yaml"
        config.write_text(f"""\
local_mode: true
contacts:
  team: {{name: Stats team, role: stats_team, email: team@example.com}}
  hop: {{name: Head of profession, role: head_of_profession, email: hop@example.com}}
chains:
  default:
    - {{after: 5m, notify: [team], channels: [email], repeat: 30m}}
    - {{after: 60m, notify: [hop], channels: [email], kind: breach}}
releases:
  - {{id: retitled, title: "{announced}",
      url: "{url("/government/statistics/announcements/patents")}", due: "{when}"}}
  - {{id: last-year, title: "Fostering in England",
      url: "{url("/government/statistics/fostering")}", due: "{when}"}}
  - {{id: corrected, title: "Corrected statistics",
      url: "{url("/government/statistics/corrected")}", due: "{then}"}}
  - {{id: retitled-item, title: "{announced}", live: {{govuk: true}},
      url: "{url("/government/statistics/announcements/patents-item")}", due: "{when}"}}
  - {{id: last-year-item, title: "Fostering", live: {{govuk: true}},
      url: "{url("/government/statistics/announcements/fostering-item")}",
      publication_url: "{url("/government/statistics/fostering-item")}", due: "{when}"}}
  - {{id: corrected-item, title: "Corrected", live: {{govuk: true}},
      url: "{url(corrected)}", due: "{then}"}}
""")
        db = tmp_path / "rw.db"
        args = ("run", "--config", str(config), "--db", str(db), "--once")
        result = releasewatch(*args, "--smtp", f"127.0.0.1:{port}", env=SMTP_ENV)
    assert result.returncode == 0, result.stderr
    with SQLiteStore(db) as store:
        states = {r.id: r.state.value for r in store.all_releases()}
    assert states == {
        "retitled": "live",
        "last-year": "late",
        "corrected": "live",
        "retitled-item": "live",
        "last-year-item": "late",
        "corrected-item": "live",
    }
    keys = sorted(key(message_from_bytes(m)) for m in inbox.messages)
    # Only last year's edition is chased, as not live; no early breach, no report, nothing
    # for the publications that went out on time.
    assert keys == ["last-year-item|alert|0|0|team|email", "last-year|alert|0|0|team|email"]
