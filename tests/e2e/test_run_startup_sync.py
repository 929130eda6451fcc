"""`releasewatch run` starts watching before its calendars are read: the start-up sync runs beside
the first ticks, so a calendar that trickles (up to its 120 s deadline) cannot hold up an alert
that is already due. Run as a user runs it, against loopback servers."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releasewatch.store.sqlite import SQLiteStore
from releasewatch.timefmt import LONDON
from tests.e2e.run_support import BIN, running
from tests.probe_support import Handler, LoopbackHTTPServer, loopback_server

pytestmark = pytest.mark.slow  # run first: see tests/conftest.py


class Origin:
    """/release answers 404 (not live); /cal.ics sends a calendar's first line and then a byte
    every 100 ms, never finishing, until the test ends."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.trickled = 0
        self.calendar_reads = 0

    def __call__(self, h: Handler) -> None:
        if h.path.startswith("/release"):
            h.send_response(404)
            h.send_header("Content-Type", "text/html")
            h.end_headers()
            h.wfile.write(b"<html><title>Page not found - GOV.UK</title></html>")
            return
        self.calendar_reads += 1
        h.send_response(200)
        h.send_header("Content-Type", "text/calendar")
        h.send_header("Content-Length", str(10**6))
        h.end_headers()
        h.wfile.write(b"BEGIN:VCALENDAR\r\n")
        while not self.stop.wait(0.1):
            try:
                h.wfile.write(b" ")
                h.wfile.flush()
            except OSError:
                return
            self.trickled += 1


@pytest.fixture
def origin() -> Iterator[tuple[Origin, LoopbackHTTPServer]]:
    route = Origin()
    with loopback_server(route) as server:
        try:
            yield route, server
        finally:
            route.stop.set()


def write_config(
    tmp_path: Path, server: LoopbackHTTPServer, due: datetime, csv: str, *, ics: bool = True
) -> Path:
    (tmp_path / "ours.csv").write_text(csv)
    config = tmp_path / "rw.yaml"
    config.write_text(
        "local_mode: true\n"
        "contacts:\n  team: {name: Stats team, email: team@example.com}\n"
        "chains:\n  default:\n    - {after: 5m, notify: [team]}\n"
        "releases:\n"
        "  - id: late-one\n    title: A release already late\n"
        f"    url: {server.url('/release')}\n"
        f"    due: {due.astimezone(LONDON):%Y-%m-%d %H:%M}\n"
        "calendars:\n"
        + (f'  - ics: "{server.url("/cal.ics")}"\n' if ics else "")
        + "  - csv: ours.csv\n"
    )
    return config


def test_an_alert_already_due_leaves_while_a_calendar_trickles_at_start_up(
    tmp_path: Path, origin: tuple[Origin, LoopbackHTTPServer]
) -> None:
    route, server = origin
    due = datetime.now(UTC) - timedelta(minutes=11)  # its first step is due at once
    config = write_config(tmp_path, server, due, "id,title,url,due\n")
    db = tmp_path / "rw.db"
    with running(config, db) as run:
        # 60 s is half the calendar source's 120 s deadline: were the start-up sync still in
        # front of the first tick, nothing could be alerted before it gave up.
        alerted = run.until("EMAIL to Stats team", 60)
        out = run.output
        trickling = route.trickled
    assert alerted, run.output
    assert "reading them beside the first ticks" in out
    # The calendar was still being trickled when the alert went out: the sync had not ended.
    assert route.calendar_reads == 1 and trickling > 0
    assert "calendars synced" not in out
    with SQLiteStore(db) as store:
        record = store.get_release("late-one")
        assert record is not None and record.state.value == "late"


def test_a_restart_watches_the_last_good_import_before_the_calendars_answer(
    tmp_path: Path, origin: tuple[Origin, LoopbackHTTPServer]
) -> None:
    _, server = origin
    later = (datetime.now(UTC) + timedelta(days=3)).astimezone(LONDON)
    row = f"ours-1,Our statistics,https://www.example.com/o,{later:%Y-%m-%d} 09:30"
    csv = f"id,title,url,due\n{row}\n"
    due = datetime.now(UTC) + timedelta(days=2)
    db = tmp_path / "rw.db"
    # First a sync that reads the CSV (before the trickling calendar was added to the config).
    config = write_config(tmp_path, server, due, csv, ics=False)
    synced = subprocess.run(
        [str(BIN), "sync", "--config", str(config), "--db", str(db)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert synced.returncode == 0, synced.stderr
    config = write_config(tmp_path, server, due, csv)
    # Then the restart: the CSV import is watched from the first line, before any source answers.
    (tmp_path / "ours.csv").write_text("this is no longer a CSV the sync can read\x00")
    with running(config, db) as run:
        started = run.until("watching 2 release(s)", 60)
        out = run.output
    assert started, run.output
    assert "watching their last good import (1 announcement(s))" in out
    with SQLiteStore(db) as store:
        assert sorted(r.id for r in store.active_releases()) == ["late-one", "ours-1"]
