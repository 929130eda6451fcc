"""CSV and ICS calendars: good entries imported, each malformed one skipped with where and why."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from releasewatch.calendar.announcement import AnnState, FeedError
from releasewatch.calendar.csv_source import parse_csv
from releasewatch.calendar.ics_source import parse_ics

CSV = b"""id,title,url,due,publication_url,producer,chain
lms-2026-07,Labour market: July 2026,https://www.example.com/lms,2026-07-17 09:30,,ONS,
gdp-2026-07,GDP first estimate,https://www.example.com/gdp,2026-07-17T07:00+01:00,https://www.example.com/gdp/pub,,
later,Provisional one,https://www.example.com/later,2026-09-01,,,
notime,No time,https://www.example.com/nt,,,,
baddate,Bad date,https://www.example.com/bd,2026-07-32 09:30,,,
gap,Clock change,https://www.example.com/gap,2026-03-29 01:30,,,
bad id!,Bad id,https://www.example.com/bi,2026-07-17 09:30,,,
short,Too few columns
"""


def test_csv_good_rows_imported_with_london_times_stored_utc():
    parsed = parse_csv(CSV)
    got = {a.id: a for a in parsed.announcements}
    assert list(got) == ["lms-2026-07", "gdp-2026-07", "later"]
    assert got["lms-2026-07"].due == datetime(2026, 7, 17, 8, 30, tzinfo=UTC)
    assert got["lms-2026-07"].producer == "ONS"
    assert got["gdp-2026-07"].due == datetime(2026, 7, 17, 6, 0, tzinfo=UTC)
    assert got["gdp-2026-07"].publication_url == "https://www.example.com/gdp/pub"
    assert got["later"].state is AnnState.PROVISIONAL and got["later"].due is None


def test_csv_malformed_rows_are_skipped_by_line_with_the_reason():
    skipped = {s.where: s.reason for s in parse_csv(CSV).skipped}
    assert skipped["line 5"] == "no due date and time"
    assert "line 6" in skipped and skipped["line 6"].startswith("due: '2026-07-32 09:30'")
    assert "does not exist in Europe/London" in skipped["line 7"]
    assert skipped["line 8"].startswith("id 'bad id!'")
    assert skipped["line 9"] == "wrong number of columns for the header"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file"),
        (b"id,title,url\n", "missing column(s) due"),
        (b"id,title,url,due,colour\n", "unknown column(s) colour"),
        (b"\xff\xfeid", "not UTF-8"),
    ],
)
def test_a_csv_without_the_documented_header_fails_the_source(data: bytes, message: str):
    with pytest.raises(FeedError) as caught:
        parse_csv(data)
    assert message in str(caught.value)


ICS = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//example//releases//EN\r
BEGIN:VEVENT\r
UID:/releases/lms-july-2026\r
SUMMARY:Labour market overview\\, UK: July 2026\r
DTSTART:20260717T083000Z\r
DTEND:20260717T083000Z\r
URL:https://www.example.com/releases/lms\r
STATUS:Confirmed\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:outlook-1\r
SUMMARY:Outlook export\r
DTSTART;TZID=GMT Standard Time:20261112T093000\r
DESCRIPTION:See https://www.example.com/outlook for details\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:cancelled-1\r
SUMMARY:Cancelled one\r
DTSTART:20260720T083000Z\r
URL:https://www.example.com/c\r
STATUS:Cancelled\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:provisional-1\r
SUMMARY:A day only\r
DTSTART;VALUE=DATE:20260901\r
URL:https://www.example.com/p\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:no-start\r
SUMMARY:No start\r
URL:https://www.example.com/ns\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:bad-start\r
SUMMARY:Bad start\r
DTSTART:2026-13-45T99\r
URL:https://www.example.com/bs\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:gap\r
SUMMARY:Clocks go forward\r
DTSTART;TZID=Europe/London:20260329T013000\r
URL:https://www.example.com/gap\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:monthly\r
SUMMARY:Every month\r
DTSTART;TZID=Europe/London:20260717T093000\r
RRULE:FREQ=MONTHLY\r
URL:https://www.example.com/m\r
END:VEVENT\r
END:VCALENDAR\r
"""


def test_ics_events_imported_with_their_state_and_utc_time():
    parsed = parse_ics(ICS)
    got = {a.title: a for a in parsed.announcements}
    assert list(got) == [
        "Labour market overview, UK: July 2026",
        "Outlook export",
        "Cancelled one",
        "A day only",
    ]
    lms = got["Labour market overview, UK: July 2026"]
    assert lms.id == "ics-releases-lms-july-2026-" + lms.id.rsplit("-", 1)[1]
    assert lms.due == datetime(2026, 7, 17, 8, 30, tzinfo=UTC)
    assert lms.state is AnnState.CONFIRMED
    # Outlook's Windows zone name is Europe/London; the URL comes from the description.
    assert got["Outlook export"].due == datetime(2026, 11, 12, 9, 30, tzinfo=UTC)
    assert got["Outlook export"].url == "https://www.example.com/outlook"
    assert got["Cancelled one"].state is AnnState.CANCELLED
    assert got["A day only"].state is AnnState.PROVISIONAL


def test_ics_malformed_events_are_skipped_with_where_and_why():
    skipped = {s.where: s.reason for s in parse_ics(ICS).skipped}
    assert skipped == {
        "event 5 (UID no-start)": "no DTSTART (no due date and time)",
        "event 6 (UID bad-start)": "DTSTART is not a valid date or time",
        "event 7 (UID gap)": (
            "DTSTART 2026-03-29 01:30 does not exist in Europe/London (the clocks go forward)"
        ),
        # Expanded only around a sync's time (test_calendar_recurring.py).
        "event 8 (UID monthly)": "a recurring event, read without a sync time",
    }


def test_a_file_that_is_not_icalendar_fails_the_source():
    with pytest.raises(FeedError, match="not an iCalendar file"):
        parse_ics(b"id,title\n1,2\n")


def test_an_ics_url_is_fetched_through_the_guarded_client(tmp_path):
    import asyncio

    from releasewatch.calendar.fetch import FeedFetcher
    from releasewatch.calendar.sources import read_source
    from releasewatch.calendar.spec import CalendarSpec
    from tests.probe_support import loopback_server

    with loopback_server(lambda h: h.reply(200, ICS, {"Content-Type": "text/calendar"})) as server:
        spec = CalendarSpec(ics=server.url("/releases.ics"))
        now = datetime(2026, 7, 1, tzinfo=UTC)

        async def go(local_mode: bool) -> object:
            fetcher = FeedFetcher(local_mode=local_mode)
            try:
                return await read_source(spec, fetcher, now, tmp_path)
            finally:
                await fetcher.aclose()

        parsed = asyncio.run(go(True))
        # 4 single events; the monthly one (one URL and title for every month) is skipped
        assert len(parsed.announcements) == 4  # type: ignore[attr-defined]
        assert "share one URL and title" in parsed.skipped[-1].reason  # type: ignore[attr-defined]
        assert server.seen[0].headers["user-agent"].startswith("releasewatch/")
        with pytest.raises(FeedError, match="refused"):
            asyncio.run(go(False))
        assert len(server.seen) == 1
