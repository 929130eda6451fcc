"""The ONS release calendar (a loopback ONS search API) and the live rule its releases get."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from releasewatch.calendar.announcement import AnnState, FeedError, Parsed
from releasewatch.calendar.fetch import FeedFetcher
from releasewatch.calendar.ons import MAX_PAGES, fetch_ons, ons_rule
from releasewatch.calendar.spec import CalendarSpec, OnsSpec
from releasewatch.commands.sync import sync_and_report
from releasewatch.config.load import load_config
from releasewatch.probe.base import Fetched, Outcome
from releasewatch.probe.page import judge
from releasewatch.service import Watchdog
from releasewatch.store.sqlite import SQLiteStore
from tests.calendar_support import FakeOns, ons_release
from tests.fakes import FixedClock, RecordingNotifier, ScriptedProber
from tests.probe_support import Handler, loopback_server

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parent.parent / "fixtures" / "ons"
TITLE = "Labour market overview, UK: July 2026"


def fetch(ons: FakeOns, **spec: object) -> tuple[Parsed | FeedError, FeedFetcher, list[object]]:
    with loopback_server(ons) as server:
        base = server.url("").rstrip("/")
        fetcher = FeedFetcher(local_mode=True)
        full = {"base_url": base, "site_url": "https://www.ons.gov.uk", **spec}

        async def go() -> Parsed | FeedError:
            try:
                return await fetch_ons(OnsSpec.model_validate(full), fetcher, NOW)
            except FeedError as exc:
                return exc
            finally:
                await fetcher.aclose()

        result = asyncio.run(go())
        return result, fetcher, list(server.seen)


def test_pages_upcoming_then_cancelled_releases_with_the_parameters_the_api_takes():
    ons = FakeOns(
        [
            ons_release(f"lms{m}2026", f"Labour market: {m} 2026", f"2026-0{n}-1{n}T06:00:00.000Z")
            for n, m in ((7, "July"), (8, "August"), (9, "September"))
        ]
        + [
            ons_release(
                "gdp2026", "GDP", "2026-07-20T06:00:00.000Z", cancelled=True, published=True
            )
        ]
    )
    parsed, fetcher, seen = fetch(ons, page_size=2)
    assert isinstance(parsed, Parsed)
    assert [a.title for a in parsed.announcements] == [
        "Labour market: July 2026",
        "Labour market: August 2026",
        "Labour market: September 2026",
        "GDP",
    ]
    assert fetcher.requests == 3  # upcoming offset 0 and 2, cancelled offset 0
    queries = [s.query for s in seen]  # type: ignore[attr-defined]
    assert [(q["release-type"], q["offset"]) for q in queries] == [
        (["type-upcoming"], ["0"]),
        (["type-upcoming"], ["2"]),
        (["type-cancelled"], ["0"]),
    ]
    assert all(q["fromDate"] == ["2026-07-01"] and q["limit"] == ["2"] for q in queries)
    assert all(q["highlight"] == ["false"] for q in queries)
    assert "rwcb" not in queries[0]  # no cache-buster
    july = parsed.announcements[0]
    assert july.id == "ons-lmsJuly2026"
    assert july.url == "https://www.ons.gov.uk/releases/lmsJuly2026"
    assert july.due == datetime(2026, 7, 17, 6, 0, tzinfo=UTC)  # UTC as given: 07:00 BST
    assert july.state is AnnState.CONFIRMED
    assert july.producer == "Office for National Statistics"
    assert parsed.announcements[3].state is AnnState.CANCELLED


def test_provisional_date_changed_and_malformed_releases():
    ons = FakeOns(
        [
            ons_release(
                "businessdemography2025",
                "Business demography, UK: 2025",
                "2026-11-19T09:30:00.000Z",
                date_changes=[
                    {"previous_date": "2026-10-01", "change_notice": "First move."},
                    {"previous_date": "2026-11-12T09:30:00.000Z", "change_notice": "Data late."},
                ],
            ),
            ons_release(
                "census2031plans",
                "Census 2031 plans",
                "2026-09-01T08:00:00.000Z",
                finalised=False,
                provisional_date="September to October 2026\n",
            ),
            ons_release("nodate", "No date", None),
            ons_release("baddate", "Bad date", "19th of November"),
            ons_release("naive", "Naive date", "2026-11-19T09:30:00"),
            {**ons_release("flag", "Odd flag", "2026-11-19T09:30:00.000Z")},
            "not an object",
            {"uri": "/peoplepopulationandcommunity", "description": {"title": "Not a release"}},
        ]
    )
    ons.releases[5]["description"]["finalised"] = "yes"
    parsed, _, _ = fetch(ons)
    assert isinstance(parsed, Parsed)
    moved, provisional = parsed.announcements
    assert moved.change_note == "Data late."  # the latest change
    assert moved.previous_date == "2026-11-12T09:30:00.000Z"
    assert provisional.state is AnnState.PROVISIONAL
    assert provisional.display_date == "September to October 2026"  # never parsed
    reasons = {s.title: (s.where, s.reason) for s in parsed.skipped}
    assert reasons["No date"] == ("type-upcoming releases[2]", "finalised, but no release_date")
    assert "is not an ISO 8601 time" in reasons["Bad date"][1]
    assert "has no offset" in reasons["Naive date"][1]
    assert reasons["Odd flag"][1] == "finalised 'yes' is not true or false"
    assert reasons[""] == ("type-upcoming releases[6]", "not an object")
    assert "is not a /releases/ path" in reasons["Not a release"][1]


def test_a_server_answering_the_same_page_forever_is_a_failed_source_not_a_loop():
    ons = FakeOns(
        [ons_release(f"r{i}", f"R {i}", "2026-07-17T06:00:00.000Z") for i in range(3)],
        same_page_forever=True,
        claimed_total=10**9,
    )
    result, fetcher, _ = fetch(ons, page_size=2)
    assert isinstance(result, FeedError)
    assert "not believed" in str(result)
    assert fetcher.requests == 1
    ons.claimed_total = 6  # plausible, but offset is ignored
    result, fetcher, _ = fetch(ons, page_size=2)
    assert isinstance(result, FeedError)
    assert "answered the same page as before" in str(result)
    assert fetcher.requests == 2


def test_a_total_past_the_page_bound_is_refused_before_paging():
    ons = FakeOns(
        [ons_release(f"r{i}", f"R {i}", "2026-07-17T06:00:00.000Z") for i in range(MAX_PAGES + 5)]
    )
    result, fetcher, _ = fetch(ons, page_size=1)
    assert isinstance(result, FeedError)
    assert "not believed" in str(result)  # 105 pages of 1 claimed: refused before paging
    assert fetcher.requests == 1


def test_a_failing_api_fails_the_source():
    result, _, _ = fetch(FakeOns(fail_with=503))
    assert isinstance(result, FeedError) and "503" in str(result)


def test_ons_with_no_options_uses_the_real_api():
    spec = CalendarSpec.model_validate({"ons": None})
    assert spec.kind == "ons" and spec.label == "ons"
    assert spec.ons is not None and spec.ons.base_url == "https://api.beta.ons.gov.uk"
    with pytest.raises(ValueError, match="less than or equal to 1000"):
        OnsSpec.model_validate({"page_size": 1001})


def verdict(name: str, title: str = TITLE) -> Outcome:
    fetched = Fetched(
        url="https://www.ons.gov.uk/releases/labourmarketoverviewukjuly2026",
        final_url="https://www.ons.gov.uk/releases/labourmarketoverviewukjuly2026",
        status=200,
        body=(FIXTURES / f"{name}.html").read_bytes(),
        content_type="text/html; charset=utf-8",
    )
    return asyncio.run(judge(Outcome(fetched, False, "", to_judge=ons_rule(title))))


def test_the_ons_rule_is_satisfied_by_the_published_release_page_only():
    assert verdict("release-published").live
    upcoming = verdict("release-upcoming")
    assert not upcoming.live
    assert "'This release is not yet published' still present" in upcoming.reason
    cancelled = verdict("release-cancelled")
    assert not cancelled.live and "This release has been cancelled" in cancelled.reason
    # A postponed page's banner is its change notice: no fixed sentence, but not published.
    postponed = verdict("release-postponed")
    assert not postponed.live
    assert postponed.reason == "page source has 'data-gtm-release-status=\"upcoming\"'"
    assert not verdict("release-published", "Labour market overview, UK: June 2026").live


def test_the_ons_rule_holds_on_the_new_cms_pages_old_ones_redirect_to():
    assert verdict("wagtail-published").live
    confirmed = verdict("wagtail-confirmed")
    assert not confirmed.live
    assert confirmed.reason == "text 'This release is not yet published' still present"
    cancelled = verdict("wagtail-cancelled")
    assert not cancelled.live
    assert cancelled.reason == "text 'Release date: Cancelled' still present"


ONS_CONFIG = """\
local_mode: true
defaults: {{chain: default}}
contacts:
  team: {{name: Stats team, email: team@example.com}}
  hop: {{name: Head of profession, role: head_of_profession, email: hop@example.com}}
chains:
  default:
    - {{after: 5m, notify: [team]}}
calendars:
  - ons: {{base_url: "{base}", site_url: "{base}"}}
"""
LMS = "labourmarketoverviewukjuly2026"


def test_sync_watches_finalised_ons_releases_by_their_page_and_tells_a_move_with_its_notice(
    tmp_path, capsys
):
    ons = FakeOns(
        [
            ons_release(LMS, TITLE, "2026-07-16T06:00:00.000Z"),
            ons_release(
                "census2031", "Census plans", None, finalised=False, provisional_date="Autumn 2026"
            ),
        ]
    )
    with loopback_server(ons) as server:
        base = server.url("").rstrip("/")
        config = tmp_path / "rw.yaml"
        config.write_text(ONS_CONFIG.format(base=base))
        db = tmp_path / "rw.db"
        store = SQLiteStore(db)
        clock = FixedClock(NOW)
        email = RecordingNotifier()
        dog = Watchdog(store, ScriptedProber(clock, lambda _t: False), {"email": email}, clock)
        try:
            assert sync_and_report(load_config(config), store, db, NOW) == 0
            out = capsys.readouterr().out
            assert "not watched: provisional" in next(
                line for line in out.splitlines() if line.startswith("Census plans")
            )
            (record,) = store.active_releases()
            release = record.release
            assert release.url == f"{base}/releases/{LMS}"
            assert release.due == datetime(2026, 7, 16, 6, 0, tzinfo=UTC)
            assert release.rule == ons_rule(TITLE)  # not status 200 alone
            assert release.producer == "Office for National Statistics"

            ons.releases[0] = ons_release(
                LMS,
                TITLE,
                "2026-07-23T06:00:00.000Z",
                date_changes=[
                    {"previous_date": "2026-07-16T06:00:00.000Z", "change_notice": "Late data."}
                ],
            )
            assert sync_and_report(load_config(config), store, db, NOW) == 0
            assert "move (was Thu 16 Jul 2026 07:00 BST)" in capsys.readouterr().out
            asyncio.run(dog.tick())
            sent = email.sent
            assert sorted(m.contact_id for m in sent) == ["hop", "team"]
            assert "now due: Thu 23 Jul 2026 07:00 BST" in sent[0].text
            assert "Change note: Late data." in sent[0].text

            before = len(email.sent)
            assert sync_and_report(load_config(config), store, db, NOW) == 0  # idempotent
            asyncio.run(dog.tick())
            assert len(email.sent) == before

            ons.releases[0] = ons_release(
                LMS, TITLE, "2026-07-23T06:00:00.000Z", cancelled=True, published=True
            )
            assert sync_and_report(load_config(config), store, db, NOW) == 0
            assert "cancel" in capsys.readouterr().out
            (record,) = store.active_releases()
            assert record.release.cancelled
        finally:
            store.close()


def test_releases_that_end_before_the_total_fail_the_source_not_a_partial_import():
    ons = FakeOns(
        [ons_release(f"r{i}", f"R {i}", "2026-07-17T06:00:00.000Z") for i in range(5)],
        claimed_total=9,
    )
    result, _, _ = fetch(ons, page_size=2)
    assert isinstance(result, FeedError)
    assert "breakdown.total says 9, but the releases end at 5 (offset 4)" in str(result)


def test_a_release_repeated_from_an_earlier_page_fails_the_source():
    releases = [ons_release(f"r{i}", f"R {i}", "2026-07-17T06:00:00.000Z") for i in range(4)]
    releases.insert(2, releases[1])  # the index shifted: page two starts with page one's last
    result, _, _ = fetch(FakeOns(releases), page_size=2)
    assert isinstance(result, FeedError)
    assert "offset 2 repeats '/releases/r1' from an earlier page" in str(result)


def test_a_total_that_changes_between_pages_fails_the_source():
    releases = [ons_release(f"r{i}", f"R {i}", "2026-07-17T06:00:00.000Z") for i in range(4)]

    class Growing(FakeOns):
        def __call__(self, h: Handler) -> None:
            self.claimed_total = 4 + int(h.query.get("offset", ["0"])[0])
            super().__call__(h)

    result, fetcher, _ = fetch(Growing(releases), page_size=2)
    assert isinstance(result, FeedError) and fetcher.requests == 2
    assert "breakdown.total changed from 4 to 6 at offset 2" in str(result)
