"""Issue 18's attacks replayed against `releasewatch run` as a user runs it, all at once, on
loopback: hostile calendars (an endless rule, a never-matching rule, dates at the edge of the
calendar, a GOV.UK search whose total lies, an ONS feed with edge dates, 3 KB of daily series,
a 16 MB calendar) and a page rebinding its name to 127.0.0.1. The release already due is alerted
within seconds, memory stays bounded, the good calendar's release is watched, and each failing
source's reason is on /health and the board."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releasewatch.store.sqlite import SQLiteStore
from releasewatch.timefmt import LONDON
from tests.calendar_support import ons_release, result
from tests.e2e.run_support import running
from tests.probe_support import Handler, LoopbackHTTPServer, loopback_server

RSS_LIMIT_MB = 400  # the watchdog alone is ~100 MB; the attacks once took it to gigabytes


def ics(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + "".join(events) + "END:VCALENDAR\r\n").encode()


def series(uid: str, rule: str, start: str = "DTSTART;TZID=Europe/London:20260709T093000") -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:Series {uid} {{Month}} {{yyyy}}\r\n"
        f"URL:https://www.example.com/{uid}/{{yyyy}}-{{mm}}-{{dd}}\r\n{start}\r\n"
        f"RRULE:{rule}\r\nEND:VEVENT\r\n"
    )


HOSTILE_ICS = ics(
    series("stuck", "FREQ=DAILY;INTERVAL=0"),  # once grew ~10 MB/s, forever
    series("april-31", "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31"),  # once 5-6 s of CPU each
    series("edge", "FREQ=YEARLY", "DTSTART;TZID=Asia/Tokyo:00010101T000000"),  # OverflowError
)
# 3 KB of daily series: once 8,141 releases and 26 s ticks
MANY_SERIES_ICS = ics(*(series(f"daily-{i}", "FREQ=DAILY") for i in range(20)))


class Attacker:
    def __init__(self) -> None:
        self.requests: dict[str, int] = {}

    def __call__(self, h: Handler) -> None:
        path = h.route_path
        self.requests[path] = self.requests.get(path, 0) + 1
        if path == "/release":
            h.reply(404, b"<html><title>Page not found - GOV.UK</title></html>")
        elif path == "/hostile.ics":
            h.reply(200, HOSTILE_ICS, {"Content-Type": "text/calendar"})
        elif path == "/many.ics":
            h.reply(200, MANY_SERIES_ICS, {"Content-Type": "text/calendar"})
        elif path == "/huge.ics":
            h.stream_forever(limit=16 * 1024 * 1024)
        elif path == "/govuk/api/search.json":  # the same page, with a total that cannot be true
            page = [result(f"r{i}", f"R {i}", "2026-07-17T09:30:00Z") for i in (0, 1)]
            h.reply(200, json.dumps({"results": page, "total": 10**9}).encode())
        elif path == "/ons/v1/search/releases":
            releases = [
                ons_release("edge", "Edge", "0001-01-01T00:00+23:59"),
                ons_release("far", "Far", "9999-12-31T23:59-23:59"),
            ]
            body = {"releases": releases, "breakdown": {"total": 2}}
            h.reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
        else:
            h.reply(404, b"not found")


@pytest.fixture
def attacker() -> Iterator[tuple[Attacker, LoopbackHTTPServer]]:
    route = Attacker()
    with loopback_server(route) as server:
        yield route, server


def write_config(tmp_path: Path, server: LoopbackHTTPServer) -> Path:
    due = (datetime.now(UTC) - timedelta(minutes=11)).astimezone(LONDON)
    later = (datetime.now(UTC) + timedelta(days=3)).astimezone(LONDON)
    row = f"ours-1,Our statistics,https://www.example.com/o,{later:%Y-%m-%d} 09:30"
    (tmp_path / "ours.csv").write_text(f"id,title,url,due\n{row}\n")
    base = server.url("").rstrip("/")
    config = tmp_path / "rw.yaml"
    config.write_text(
        "local_mode: true\n"
        "contacts:\n  team: {name: Stats team, email: team@example.com}\n"
        "chains:\n  default:\n    - {after: 5m, notify: [team]}\n"
        "releases:\n"
        "  - id: late-one\n    title: A release already late\n"
        f"    url: {base}/release\n    due: {due:%Y-%m-%d %H:%M}\n"
        "calendars:\n"
        f'  - ics: "{base}/hostile.ics"\n'
        f'  - ics: "{base}/many.ics"\n'
        f'  - ics: "{base}/huge.ics"\n'
        f"  - govuk: {{organisations: [intellectual-property-office], base_url: {base}/govuk}}\n"
        f"  - ons: {{base_url: {base}/ons, site_url: {base}/ons-site}}\n"
        "  - csv: ours.csv\n"
    )
    return config


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def get(url: str, host: str | None = None, body: bytes | None = None) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, headers={"Host": host} if host else {})
    try:
        with urllib.request.urlopen(req, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_every_calendar_attack_at_once_leaves_the_alert_on_time_and_the_reasons_shown(
    tmp_path: Path, attacker: tuple[Attacker, LoopbackHTTPServer]
) -> None:
    route, server = attacker
    config = write_config(tmp_path, server)
    db = tmp_path / "rw.db"
    with running(config, db) as run:
        assert run.until("dashboard at ", 60), run.output
        board = run.output.split("dashboard at ", 1)[1].split()[0].rstrip("/;")
        assert run.until("EMAIL to Stats team", 60), run.output
        assert run.until("calendars synced", 60), run.output
        rss = peak_rss_mb(run.proc.pid)
        status, health = get(f"{board}/health")
        _, page = get(f"{board}/")
        # A page on another site that rebinds its name to 127.0.0.1 reads nothing.
        rebound, _ = get(f"{board}/", host="attacker.example.com")
    out = run.output
    assert rss < RSS_LIMIT_MB, f"peak RSS {rss:.0f} MB"
    # Each hostile source failed alone, once, with its reason; the good one was applied.
    failing = json.loads(health)["calendar_sources_failing"]
    assert status == 200  # the checks and alerts work: calendars failing do not fail the watch
    reasons = "\n".join(f"{k}: {v}" for k, v in failing.items())
    assert any("many.ics" in k for k in failing), reasons
    assert any("huge.ics" in k for k in failing), reasons
    assert any("not believed" in v for v in failing.values()), reasons
    assert route.requests["/govuk/api/search.json"] == 1  # refused after one request
    for source in failing:
        assert source.split()[0] in page or source in page  # the board names each one
    assert "is failing" in page
    # The entries that could not be read are skipped within their source, never a crash.
    assert "Traceback" not in out and "OverflowError" not in out
    assert rebound == 421
    with SQLiteStore(db) as store:
        active = sorted(r.id for r in store.active_releases())
        record = store.get_release("late-one")
    assert active == ["late-one", "ours-1"]
    assert record is not None and record.state.value == "late"
