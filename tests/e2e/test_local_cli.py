"""The `releasewatch` command as a user runs it: real processes, a page and an SMTP server on
127.0.0.1, the SQLite file on disk."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.request import ProxyHandler, build_opener

import pytest
from aiosmtpd.controller import Controller
from docx import Document

from releasewatch.store.sqlite import SQLiteStore
from releasewatch.timefmt import LONDON

BIN = Path(sys.executable).parent / "releasewatch"


@pytest.fixture
def page() -> Iterator[str]:
    class Missing(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Missing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/government/statistics/x"
    server.shutdown()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    with socket.socket() as probe:  # aiosmtpd's readiness check cannot use port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


def write_config(tmp_path: Path, url: str, due: datetime) -> Path:
    local = due.astimezone(LONDON)
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
  - id: late-release
    title: A release that is late
    url: "{url}"
    due: "{local:%Y-%m-%dT%H:%M:%S%z}"
"""
    path = tmp_path / "releasewatch.yaml"
    path.write_text(text)
    return path


def releasewatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(BIN), *args], capture_output=True, text=True, timeout=60, env=full_env, check=False
    )


def test_validate_lists_every_problem_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("contacts:\n  a: {name: A}\nchains: {}\nreleases: [{id: x}]\n")
    result = releasewatch("validate", str(bad))
    assert result.returncode == 2
    assert (
        f"{bad}:2: contacts.a: a contact needs an email, a phone, or a teams or slack webhook"
        in result.stderr
    )
    assert f"{bad}:3: chains: expected a non-empty mapping of chains" in result.stderr
    assert "releases[0].title: required field is missing" in result.stderr


def test_validate_accepts_the_shipped_example() -> None:
    example = Path(__file__).parents[2] / "infra" / "releasewatch.example.yaml"
    result = releasewatch("validate", str(example))
    assert result.returncode == 0, result.stderr
    assert "OK, 2 release(s)" in result.stdout


@pytest.mark.slow
def test_two_processes_on_one_database_send_each_alert_once(
    tmp_path: Path, page: str, smtp: tuple[int, Inbox]
) -> None:
    port, inbox = smtp
    due = datetime.now(UTC) - timedelta(minutes=11)  # both chain steps are due at once
    config = write_config(tmp_path, page, due)
    db = tmp_path / "state" / "rw.db"
    args = (
        "run",
        "--config",
        str(config),
        "--db",
        str(db),
        "--once",
        "--smtp",
        f"127.0.0.1:{port}",
    )
    env = {"RELEASEWATCH_SMTP_STARTTLS": "0", "RELEASEWATCH_SMTP_SENDER": "rw@example.com"}
    procs = [
        subprocess.Popen([str(BIN), *args], env={**os.environ, **env}, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]  # fmt: skip
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    # then a restart: the same tick again sends nothing new
    again = releasewatch(*args, env=env)
    assert again.returncode == 0, again.stderr

    emails = [message_from_bytes(m) for m in inbox.messages]
    keys = sorted(str(e["X-Releasewatch-Key"]) for e in emails)
    assert keys == [
        "late-release|alert|0|0|team|email",
        "late-release|alert|1|0|pub|email",
    ]
    assert {str(e["To"]) for e in emails} == {"team@example.com", "pub@example.com"}
    assert all("is not live" in e.get_payload() for e in emails)  # type: ignore[operator]
    sms = [
        json.loads(line) for line in (db.parent / "outbox" / "sms.jsonl").read_text().splitlines()
    ]
    assert [m["key"] for m in sms] == ["late-release|alert|1|0|pub|sms"]
    assert len(sms[0]["text"]) <= 160
    with SQLiteStore(db) as store:
        record = store.get_release("late-release")
        assert record is not None and record.state.value == "late"
        assert record.last_check is not None and record.last_check.status == 404


def test_run_never_prints_addresses(tmp_path: Path, page: str) -> None:
    due = datetime.now(UTC) - timedelta(minutes=11)
    config = write_config(tmp_path, page, due)
    result = releasewatch("run", "--config", str(config), "--db", str(tmp_path / "rw.db"), "--once")
    assert result.returncode == 0, result.stderr
    out = result.stdout + result.stderr
    assert "SMS to Web publisher" in out and "EMAIL to Stats team" in out
    assert "@example.com" not in out and "+4477" not in out


def test_run_refuses_an_invalid_config_and_changes_nothing(tmp_path: Path, page: str) -> None:
    config = write_config(tmp_path, page, datetime.now(UTC))
    db = tmp_path / "rw.db"
    assert releasewatch("run", "--config", str(config), "--db", str(db), "--once").returncode == 0
    config.write_text(config.read_text().replace("    title: A release that is late\n", ""))
    result = releasewatch("run", "--config", str(config), "--db", str(db), "--once")
    assert result.returncode == 2
    assert "releases[0].title: required field is missing" in result.stderr
    with SQLiteStore(db) as store:
        assert [r.id for r in store.active_releases()] == ["late-release"]


@pytest.mark.slow
def test_the_demo_replays_the_incident_and_ends_with_the_breach_report(tmp_path: Path) -> None:
    result = releasewatch("demo", "--speed", "1500", "--state-dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.index("EMAIL to Labour market statistics team") < out.index(
        "SMS to On-call web publisher"
    )
    assert "BREACH" in out
    assert "RESOLVED" in out and "2 h 3" in out  # live at 12:00, 2.5 hours late
    assert "Breach report" in out
    assert "@example.com" not in out and "+4477" not in out
    # The acknowledgement as the person sees it: page headings, not 'GET 200 ' lines.
    assert "the on-call web publisher opens the link in their SMS: a page asks " in out
    assert "'Acknowledge this alert?'" in out and "the page says 'Acknowledged'" in out
    assert "GET 200" not in out and "POST 200" not in out and "''" not in out
    # The board goes with the demo; the end says how to keep it up.
    assert "To look at it after the demo, run it with --keep-serving (make run KEEP=1)" in out
    # The files it announces "with contact details" both have them, for the same people.
    assert "The same draft as Markdown and Word (with contact details)" in out
    md = (tmp_path / "breach-report-lms-2025-07.md").read_text()
    docx = Document(str(tmp_path / "breach-report-lms-2025-07.docx"))
    cells = [c.text for t in docx.tables for row in t.rows for c in row.cells]
    for contact in ("Lead official\nlead@example.com", "Head of profession\nhop@example.com"):
        assert any(contact in c for c in cells), cells
        assert contact.replace("\n", "  \n") in md


@pytest.mark.slow
def test_the_demo_keeps_its_board_up_until_ctrl_c_and_leaves_no_temp_folder(
    tmp_path: Path,
) -> None:
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp)}
    demo = subprocess.Popen(
        [str(BIN), "demo", "--speed", "1500", "--keep-serving"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert demo.stdout is not None
        seen = []
        for line in demo.stdout:  # the demo runs, then says where its board stays up
            seen.append(line)
            if line.startswith("The board stays up at "):
                break
        board = line.split()[5]
        assert board.startswith("http://127.0.0.1:"), seen[-3:]
        assert len(list(temp.glob("rw-demo-*"))) == 1  # its state, while it serves
        with build_opener(ProxyHandler({})).open(board, timeout=10) as response:
            page = response.read().decode()
        assert "Labour market overview, UK: July 2025" in page
        assert "Live, 2 h 3" in page  # live at 12:00, 2.5 hours late, as the demo ended
        demo.send_signal(signal.SIGINT)
        out, err = demo.communicate(timeout=30)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()
    assert demo.returncode == 0, err
    assert "Stopped." in out and "Traceback" not in err
    assert list(temp.glob("rw-demo-*")) == []  # nothing left in the temp directory


def test_links_in_messages_use_the_public_url_when_given(tmp_path: Path, page: str) -> None:
    due = datetime.now(UTC) - timedelta(minutes=11)
    config = write_config(tmp_path, page, due)
    db = tmp_path / "rw.db"
    result = releasewatch(
        "run", "--config", str(config), "--db", str(db), "--once",
        "--web-port", "0", "--public-url", "https://rw.example.com/",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    sms = [
        json.loads(line) for line in (tmp_path / "outbox" / "sms.jsonl").read_text().splitlines()
    ]
    assert len(sms) == 1 and "https://rw.example.com/a/" in sms[0]["text"]
    assert len(sms[0]["text"]) <= 160


def test_with_smtp_sent_emails_are_still_shown_on_the_console(
    tmp_path: Path, page: str, smtp: tuple[int, Inbox]
) -> None:
    port, inbox = smtp
    config = write_config(tmp_path, page, datetime.now(UTC) - timedelta(minutes=11))
    result = releasewatch(
        "run", "--config", str(config), "--db", str(tmp_path / "rw.db"), "--once",
        "--web-port", "0", "--smtp", f"127.0.0.1:{port}",
        env={"RELEASEWATCH_SMTP_STARTTLS": "0", "RELEASEWATCH_SMTP_SENDER": "rw@example.com"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(inbox.messages) == 2
    out = result.stdout
    assert "EMAIL to Stats team: NOT LIVE: A release that is late" in out
    assert "EMAIL to Web publisher: NOT LIVE" in out and "SMS to Web publisher" in out
    assert "@example.com" not in out + result.stderr and "+4477" not in out


def test_a_public_url_too_long_for_an_sms_link_is_refused_at_start(
    tmp_path: Path, page: str
) -> None:
    config = write_config(tmp_path, page, datetime.now(UTC) - timedelta(minutes=11))
    db = tmp_path / "state" / "rw.db"
    long_url = "https://releasewatch-dashboard.statistics-division.example.com/proxy/"
    result = releasewatch(
        "run", "--config", str(config), "--db", str(db), "--once", "--web-port", "0",
        "--public-url", long_url,
    )  # fmt: skip
    assert result.returncode == 2
    assert "--public-url" in result.stderr and "too long for text messages" in result.stderr
    assert "at most 53 characters" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db.exists()  # refused before anything started
    by_env = releasewatch(
        "run", "--config", str(config), "--db", str(db), "--once", "--web-port", "0",
        env={"RELEASEWATCH_PUBLIC_URL": long_url},
    )  # fmt: skip
    assert by_env.returncode == 2 and "RELEASEWATCH_PUBLIC_URL" in by_env.stderr
