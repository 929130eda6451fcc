"""Recurring ICS releases: one release per occurrence in the sync horizon, EXDATE and
RECURRENCE-ID honoured, stable ids (a re-sync changes nothing; a moved occurrence is a move),
and a hostile rule skipped with its reason, never expanded at length."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from releasewatch.calendar.announcement import AnnState
from releasewatch.calendar.ics_source import HORIZON, parse_ics
from releasewatch.commands.sync import sync_and_report
from releasewatch.config.load import load_config
from releasewatch.store.sqlite import SQLiteStore

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)

# Outlook's export: a Windows zone name, the second Thursday of each month at 09:30.
HEAD = """BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN\r
BEGIN:VTIMEZONE\r
TZID:GMT Standard Time\r
BEGIN:STANDARD\r
DTSTART:16010101T020000\r
TZOFFSETFROM:+0100\r
TZOFFSETTO:+0000\r
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r
END:STANDARD\r
BEGIN:DAYLIGHT\r
DTSTART:16010101T010000\r
TZOFFSETFROM:+0000\r
TZOFFSETTO:+0100\r
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r
END:DAYLIGHT\r
END:VTIMEZONE\r
"""
MONTHLY = """BEGIN:VEVENT\r
UID:monthly-prices@example.com\r
SUMMARY:Monthly prices: {Month-1} {yyyy-1}\r
URL:https://www.example.com/monthly-prices-{month}-{yyyy}\r
DTSTART;TZID=GMT Standard Time:20260709T093000\r
RRULE:FREQ=MONTHLY;BYDAY=2TH\r
EXDATE;TZID=GMT Standard Time:20260813T093000\r
END:VEVENT\r
"""
MOVED = """BEGIN:VEVENT\r
UID:monthly-prices@example.com\r
RECURRENCE-ID;TZID=GMT Standard Time:20260910T093000\r
SUMMARY:Monthly prices: {Month-1} {yyyy-1}\r
URL:https://www.example.com/monthly-prices-{month}-{yyyy}\r
DTSTART;TZID=GMT Standard Time:20260917T093000\r
END:VEVENT\r
"""
CANCELLED = """BEGIN:VEVENT\r
UID:monthly-prices@example.com\r
RECURRENCE-ID;TZID=GMT Standard Time:20261008T093000\r
SUMMARY:Monthly prices: {Month-1} {yyyy-1}\r
URL:https://www.example.com/monthly-prices-{month}-{yyyy}\r
STATUS:CANCELLED\r
DTSTART;TZID=GMT Standard Time:20261008T093000\r
END:VEVENT\r
"""
TAIL = "END:VCALENDAR\r\n"


def ics(*events: str) -> bytes:
    return (HEAD + "".join(events) + TAIL).encode()


def event(uid: str, rule: str, start: str = "20260709T093000", **extra: str) -> str:
    lines = "".join(f"{k.replace('_', '-')}:{v}\r\n" for k, v in extra.items())
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:Series {uid}\r\n"
        f"URL:https://www.example.com/{uid}/{{yyyy}}-{{mm}}-{{dd}}\r\n"
        f"DTSTART;TZID=Europe/London:{start}\r\nRRULE:{rule}\r\n{lines}END:VEVENT\r\n"
    )


def test_one_release_per_occurrence_with_exdate_and_overrides_honoured():
    parsed = parse_ics(ics(MONTHLY, MOVED, CANCELLED), NOW)
    assert parsed.skipped == []
    dues = [(a.due, a.state) for a in parsed.announcements]
    assert dues[:4] == [
        (datetime(2026, 7, 9, 8, 30, tzinfo=UTC), AnnState.CONFIRMED),  # 09:30 BST
        # 13 August: an EXDATE, no release
        (datetime(2026, 9, 17, 8, 30, tzinfo=UTC), AnnState.CONFIRMED),  # moved a week
        (datetime(2026, 10, 8, 8, 30, tzinfo=UTC), AnnState.CANCELLED),
        (datetime(2026, 11, 12, 9, 30, tzinfo=UTC), AnnState.CONFIRMED),  # 09:30 GMT
    ]
    # Each occurrence names its own page and period ({Month-1} {yyyy-1}: the month before).
    july, september = parsed.announcements[0], parsed.announcements[1]
    assert (july.title, july.url) == (
        "Monthly prices: June 2026",
        "https://www.example.com/monthly-prices-july-2026",
    )
    assert september.title == "Monthly prices: August 2026"  # its slot's, though moved
    january = next(a for a in parsed.announcements if a.due is not None and a.due.month == 1)
    assert january.title == "Monthly prices: December 2026"
    # Up to the horizon and no further; each id is the UID and the original start.
    assert all(a.due is not None and a.due < NOW + HORIZON for a in parsed.announcements)
    assert len(parsed.announcements) == 12  # Jul 2026 .. Jul 2027, less August
    assert len({a.id for a in parsed.announcements}) == 12


def test_occurrence_ids_are_stable_and_an_override_keeps_its_occurrences_id():
    plain_feed = parse_ics(ics(MONTHLY), NOW + timedelta(days=1)).announcements
    overridden = parse_ics(ics(MONTHLY, MOVED), NOW).announcements
    september = next(a for a in plain_feed if a.due is not None and a.due.month == 9)
    moved = next(a for a in overridden if a.due is not None and a.due.month == 9)
    assert moved.id == september.id  # the same release, moved: told as a move
    assert moved.due != september.due
    assert [a.id for a in parse_ics(ics(MONTHLY), NOW).announcements] == [a.id for a in plain_feed]


def test_hostile_rules_are_skipped_quickly_with_their_reason_and_the_rest_imported():
    started = time.perf_counter()
    parsed = parse_ics(
        ics(
            MONTHLY,
            event("every-minute", "FREQ=MINUTELY"),
            event("twice-daily", "FREQ=DAILY;BYHOUR=9,14"),
            event("ancient", "FREQ=DAILY", start="19000101T093000"),
            event("bad-rule", "FREQ=MONTHLY;BYDAY=XX"),
            event("bad-exdate", "FREQ=MONTHLY", EXDATE="notadate"),
            event(
                "many-dates",
                "FREQ=YEARLY",
                RDATE=",".join(f"{NOW + timedelta(days=d):%Y%m%dT083000Z}" for d in range(501)),
            ),
        ),
        NOW,
    )
    assert time.perf_counter() - started < 5  # generous: the real figure is milliseconds
    assert {a.title.split(":")[0] for a in parsed.announcements} == {"Monthly prices"}
    reasons = {s.where: s.reason for s in parsed.skipped}
    assert reasons["event 2 (UID every-minute)"] == (
        "RRULE FREQ=MINUTELY: a release repeats at most daily"
    )
    assert "BYHOUR has several values" in reasons["event 3 (UID twice-daily)"]
    assert "over 50 years ago" in reasons["event 4 (UID ancient)"]
    assert reasons["event 5 (UID bad-rule)"].startswith("recurrence cannot be read")
    assert reasons["event 6 (UID bad-exdate)"].startswith("recurrence cannot be expanded")
    assert reasons["event 7 (UID many-dates)"] == "501 RDATE values: at most 500"


def test_a_daily_series_fits_but_an_endless_one_is_skipped_whole():
    daily = parse_ics(ics(event("daily", "FREQ=DAILY", start="20260601T093000")), NOW)
    assert daily.skipped == [] and len(daily.announcements) == 7 + 400
    # An occurrence that cannot be a release is skipped alone, named by its original start.
    gap = parse_ics(
        ics(
            event("weekly", "FREQ=WEEKLY;COUNT=3", start="20260701T093000"),
            "BEGIN:VEVENT\r\nUID:weekly\r\nRECURRENCE-ID;TZID=Europe/London:20260708T093000\r\n"
            "SUMMARY:Series weekly\r\nDTSTART;TZID=Europe/London:20260708T093000\r\nEND:VEVENT\r\n",
        ),
        NOW,
    )
    assert len(gap.announcements) == 2
    assert [(s.where, s.reason) for s in gap.skipped] == [
        ("event 1 (UID weekly) on 20260708T0830Z", "no URL")
    ]


CONFIG = """\
local_mode: true
defaults: {chain: default}
contacts:
  team: {name: Stats team, email: team@example.com}
chains:
  default:
    - {after: 5m, notify: [team]}
calendars:
  - ics: releases.ics
"""


def sync(tmp_path: Path, capsys) -> str:  # type: ignore[no-untyped-def]
    db = tmp_path / "rw.db"
    store = SQLiteStore(db)
    try:
        assert sync_and_report(load_config(tmp_path / "rw.yaml"), store, db, NOW) == 0
    finally:
        store.close()
    return str(capsys.readouterr().out)


def test_sync_of_a_recurring_calendar_is_idempotent_and_an_override_is_a_move(tmp_path, capsys):
    (tmp_path / "rw.yaml").write_text(CONFIG)
    (tmp_path / "releases.ics").write_bytes(ics(MONTHLY))
    first = sync(tmp_path, capsys)
    assert "synced: 12 add" in first
    again = sync(tmp_path, capsys)
    assert "12 unchanged" in again and "(the store already matched)" in again
    (tmp_path / "releases.ics").write_bytes(ics(MONTHLY, MOVED))
    moved = sync(tmp_path, capsys)
    assert moved.count("move (was Thu 10 Sep 2026 09:30 BST)") == 1
    assert "1 move, 11 unchanged" in moved


def test_a_series_whose_releases_share_one_page_and_title_is_skipped_with_how_to_fix_it():
    same = MONTHLY.replace("Monthly prices: {Month-1} {yyyy-1}", "Monthly prices").replace(
        "monthly-prices-{month}-{yyyy}", "monthly-prices"
    )
    parsed = parse_ics(ics(same), NOW)
    assert parsed.announcements == []
    (skip,) = parsed.skipped
    assert skip.where == "event 1 (UID monthly-prices@example.com)"
    assert skip.reason.startswith("its releases share one URL and title")
    assert "put {Month} {yyyy}" in skip.reason
    # One fixed "latest release" page is fine when the title tells the releases apart.
    titled = same.replace("SUMMARY:Monthly prices", "SUMMARY:Monthly prices: {Month} {yyyy}")
    assert len(parse_ics(ics(titled), NOW).announcements) == 12
