"""Hostile calendars fail alone, quickly, with a reason: endless or never-matching rules, dates
at the edge of the calendar, feeds that explode or lie about their size. The rest of the config
still applies."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime

import pytest

from releasewatch.calendar import fetch as fetch_module
from releasewatch.calendar import ics_source
from releasewatch.calendar import sync as sync_module
from releasewatch.calendar.announcement import MAX_SOURCE_ENTRIES, FeedError, Parsed
from releasewatch.calendar.csv_source import parse_csv
from releasewatch.calendar.fetch import FeedFetcher
from releasewatch.calendar.govuk import fetch_govuk, parse_page
from releasewatch.calendar.ics_source import parse_ics
from releasewatch.calendar.imports import Imports
from releasewatch.calendar.ons import parse_page as parse_ons_page
from releasewatch.calendar.spec import GovukSpec
from releasewatch.calendar.sync import plan_sync
from releasewatch.config.load import parse_config
from tests.calendar_support import ons_release, result
from tests.probe_support import Handler, loopback_server

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def ics(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + "".join(events) + "END:VCALENDAR\r\n").encode()


def series(uid: str, rule: str, start: str = "DTSTART;TZID=Europe/London:20260709T093000") -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:Series {uid} {{Month}} {{yyyy}}\r\n"
        f"URL:https://www.example.com/{uid}/{{yyyy}}-{{mm}}-{{dd}}\r\n{start}\r\n"
        f"RRULE:{rule}\r\nEND:VEVENT\r\n"
    )


def single(uid: str, start: str) -> str:
    return (
        f"BEGIN:VEVENT\r\nUID:{uid}\r\nSUMMARY:One {uid}\r\n"
        f"URL:https://www.example.com/{uid}\r\n{start}\r\nEND:VEVENT\r\n"
    )


def timed(fn, *args):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - started


# --- ICS recurrence -------------------------------------------------------------------------


def test_interval_zero_is_refused_with_its_reason_at_once_and_the_rest_imported():
    parsed, took = timed(
        parse_ics, ics(series("stuck", "FREQ=DAILY;INTERVAL=0"), series("ok", "FREQ=MONTHLY")), NOW
    )
    assert took < 2  # it used to grow by ~10 MB/s, forever
    reasons = {s.where: s.reason for s in parsed.skipped}
    assert reasons["event 1 (UID stuck)"] == "RRULE INTERVAL=0: expected 1 to 1000"
    assert {a.series for a in parsed.announcements} == {"ok"}


def test_a_rule_that_never_matches_is_stopped_by_periods_tried_not_left_to_walk_to_9999():
    parsed, took = timed(
        parse_ics, ics(series("april-31", "FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31")), NOW
    )
    assert took < 2  # 5-6 s of CPU before the bound
    [skip] = parsed.skipped
    assert skip.where == "event 1 (UID april-31)"
    assert skip.reason.startswith(f"its rule was tried over {ics_source.MAX_SERIES_PERIODS}")
    assert parsed.announcements == []


def test_a_file_whose_series_together_walk_too_far_fails_whole(monkeypatch):
    monkeypatch.setattr(ics_source, "MAX_SOURCE_PERIODS", 1000)
    many = ics(*(series(f"s{i}", "FREQ=DAILY") for i in range(5)))  # ~410 periods each
    with pytest.raises(FeedError, match="more than 1000 recurrence periods together"):
        parse_ics(many, NOW)


def test_many_daily_series_in_a_small_file_fail_the_source_naming_the_cap():
    data = ics(*(series(f"d{i}", "FREQ=DAILY") for i in range(20)))  # 20 x 407 releases
    assert len(data) < 4000
    with pytest.raises(FeedError) as caught:
        parse_ics(data, NOW)
    assert f"more than {MAX_SOURCE_ENTRIES} entries (the cap per calendar source)" in str(
        caught.value
    )


@pytest.mark.parametrize(
    ("start", "reason"),
    [
        ("DTSTART;VALUE=DATE;TZID=Asia/Tokyo:00010101", "DTSTART is in the year 1"),
        ("DTSTART;TZID=Asia/Tokyo:00010101T000000", "DTSTART is in the year 1"),
        ("DTSTART:99991231T235959Z", "DTSTART is in the year 9999"),
        ("DTSTART;TZID=America/New_York:99991231T230000", "DTSTART is in the year 9999"),
    ],
)
def test_an_ics_date_at_the_edge_of_the_calendar_is_skipped_never_an_overflow(start, reason):
    parsed = parse_ics(ics(single("edge", start), series("edge-series", "FREQ=YEARLY", start)), NOW)
    reasons = [s.reason for s in parsed.skipped]
    assert len(reasons) == 2
    assert all(r.startswith(reason) and "expected 2000 to 2100" in r for r in reasons)


# --- GOV.UK and ONS -------------------------------------------------------------------------


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00+23:59", "9999-12-31T23:59-23:59"])
def test_govuk_and_ons_dates_at_the_edge_are_skipped_with_the_field_named(stamp):
    out = Parsed()
    body = {"results": [result("edge", "Edge", stamp)], "total": 1}
    parse_page(json.dumps(body).encode(), "https://www.gov.uk", into=out)
    [skip] = out.skipped
    assert skip.reason.startswith("release_timestamp is in the year")
    ons = {"releases": [ons_release("edge", "Edge", stamp)], "breakdown": {"total": 1}}
    out = Parsed()
    parse_ons_page(json.dumps(ons).encode(), "https://www.ons.gov.uk", into=out)
    [skip] = out.skipped
    assert skip.reason.startswith("release_date is in the year")


def fetch(route, **spec: object) -> tuple[Parsed | FeedError, FeedFetcher]:  # type: ignore[no-untyped-def]
    fetcher = FeedFetcher(local_mode=True)

    async def go() -> Parsed | FeedError:
        with loopback_server(route) as server:
            full = {"organisations": ["ipo"], "base_url": server.url("").rstrip("/"), **spec}
            try:
                return await fetch_govuk(GovukSpec.model_validate(full), fetcher, NOW)
            except FeedError as exc:
                return exc
            finally:
                await fetcher.aclose()

    return asyncio.run(go()), fetcher


def lying(total: int, *, same_page: bool):  # type: ignore[no-untyped-def]
    def route(h: Handler) -> None:
        start = int(h.query.get("start", ["0"])[0])
        first = 0 if same_page else start
        page = [result(f"r{first + i}", f"R {first + i}", "2026-07-17T09:30:00Z") for i in (0, 1)]
        h.reply(200, json.dumps({"results": page, "total": total}).encode())

    return route


def test_a_govuk_total_that_cannot_be_true_is_refused_after_one_request():
    out, fetcher = fetch(lying(10**9, same_page=True), page_size=2)
    assert isinstance(out, FeedError) and "not believed" in str(out)
    assert fetcher.requests == 1


def test_a_govuk_page_answered_twice_fails_the_source_after_two_requests():
    out, fetcher = fetch(lying(90, same_page=True), page_size=2)
    assert isinstance(out, FeedError)
    assert "start=2 answered the same page as before" in str(out)
    assert fetcher.requests == 2


def test_govuk_pages_together_past_the_byte_cap_fail_the_source(monkeypatch):
    monkeypatch.setattr(fetch_module, "SOURCE_MAX_BYTES", 3000)
    out, fetcher = fetch(lying(90, same_page=False), page_size=2)  # ~1.2 KB a page
    assert isinstance(out, FeedError)
    assert "larger than 3000 bytes (the cap per calendar source)" in str(out)
    assert fetcher.requests == 3


# --- caps across sources --------------------------------------------------------------------

CONFIG = """\
local_mode: true
defaults: {chain: default}
contacts:
  team: {name: Stats team, email: team@example.com}
chains:
  default:
    - {after: 5m, notify: [team]}
calendars:
  - csv: first.csv
  - csv: second.csv
"""


def test_sources_past_the_total_cap_fail_by_name_and_the_ones_before_still_apply(monkeypatch):
    monkeypatch.setattr(sync_module, "MAX_TOTAL_ANNOUNCEMENTS", 3)
    config = parse_config(CONFIG)
    row = "{0},Release {0},https://www.example.com/{0},2026-07-17 09:30\n"
    first = parse_csv(("id,title,url,due\n" + row.format("a") + row.format("b")).encode())
    second = parse_csv(("id,title,url,due\n" + row.format("c") + row.format("d")).encode())
    plan = plan_sync(
        config, {"csv:first.csv": first, "csv:second.csv": second}, Imports({}, {}), {}, NOW
    )
    assert [r.id for r in plan.releases] == ["a", "b"]
    assert plan.failures == {
        "csv:second.csv": "2 announcements would take the calendars together past 3 (the cap "
        "across all sources); this source is not applied, the sources before it in the config "
        "are"
    }


def test_a_csv_date_outside_the_sane_years_is_skipped_with_the_field_named():
    parsed = parse_csv(
        b"id,title,url,due\n"
        b"a,A,https://www.example.com/a,0001-01-01T00:00+23:59\n"
        b"b,B,https://www.example.com/b,9999-12-31\n"
    )
    assert [s.reason for s in parsed.skipped] == [
        "due is in the year 0001: expected 2000 to 2100",
        "due is in the year 9999: expected 2000 to 2100",
    ]


def test_a_content_api_item_past_its_cap_is_a_feed_error_not_kept_in_memory():
    from releasewatch.calendar.govuk import NOTE_MAX_BYTES, read_note

    def route(h: Handler) -> None:
        h.reply(200, b'{"details": {"latest_change_note": "' + b"x" * NOTE_MAX_BYTES + b'"}}')

    fetcher = FeedFetcher(local_mode=True)

    async def go() -> str:
        with loopback_server(route) as server:
            url = server.url("/government/statistics/announcements/x")
            try:
                await read_note(url, fetcher, "moved")
            except FeedError as exc:
                return str(exc)
            finally:
                await fetcher.aclose()
        return "read"

    assert asyncio.run(go()).endswith(f"body larger than {NOTE_MAX_BYTES} bytes")
