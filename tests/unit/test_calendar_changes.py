"""Changes are told (Code T3.2 / standard 3.2): a sync that moves, cancels or loses a watched
release records it, and the next tick tells the statistics team and the head of profession
once, with GOV.UK's change note from the announcement's Content API item (a loopback fake)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from releasewatch.commands.sync import sync_and_report
from releasewatch.config.load import load_config
from releasewatch.errors import SendError
from releasewatch.model import DeliveryStatus, NotificationKind
from releasewatch.notify.base import Message
from releasewatch.service import Watchdog
from releasewatch.store.sqlite import SQLiteStore
from tests.calendar_support import FakeSearch, result
from tests.fakes import FixedClock, RecordingNotifier, ScriptedProber
from tests.probe_support import Handler, LoopbackHTTPServer, loopback_server

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
MONTHLY = "monthly-ipo-statistics-july-2026"
CONFIG = """\
local_mode: true
defaults: {{chain: default}}
contacts:
  team: {{name: Stats team, email: team@example.com}}
  hop: {{name: Head of profession, role: head_of_profession, email: hop@example.com}}
  lead: {{name: Lead official, email: lead@example.com}}
chains:
  default:
    - {{after: 5m, notify: [team]}}
    - {{after: 30m, notify: [lead], kind: breach}}
calendars:
  - govuk: {{organisations: [intellectual-property-office], base_url: "{base}"}}
"""


@dataclass
class FakeGovuk:
    """The search API (FakeSearch) plus Content API items by announcement path."""

    search: FakeSearch
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    content_reads: list[str] = field(default_factory=list)

    def __call__(self, h: Handler) -> None:
        path = h.route_path
        if path.startswith("/api/content/"):
            self.content_reads.append(path)
            item = self.items.get(path.removeprefix("/api/content"))
            if item is None:
                h.reply(404, b'{"error":"not found"}')
                return
            h.reply(200, json.dumps(item).encode(), {"Content-Type": "application/json"})
            return
        self.search(h)


def item(display: str, state: str = "confirmed", **details: str) -> dict[str, Any]:
    return {
        "schema_name": "statistics_announcement",
        "document_type": "official_statistics_announcement",
        "details": {"display_date": display, "state": state, **details},
    }


@pytest.fixture
def govuk() -> FakeGovuk:
    return FakeGovuk(
        FakeSearch(
            [
                result(MONTHLY, "Monthly IPO statistics: July 2026", "2026-07-16T09:30:00+01:00"),
                result("patents-2026", "Patents annual", "2026-07-20T09:30:00.000+01:00"),
            ]
        )
    )


@pytest.fixture
def server(govuk: FakeGovuk) -> Iterator[LoopbackHTTPServer]:
    with loopback_server(govuk) as s:
        yield s


class World:
    def __init__(self, tmp_path: Path, server: LoopbackHTTPServer, capsys: Any) -> None:
        self.config = tmp_path / "rw.yaml"
        self.config.write_text(CONFIG.format(base=server.url("").rstrip("/")))
        self.db = tmp_path / "rw.db"
        self.store = SQLiteStore(self.db)
        self.clock = FixedClock(NOW)
        self.email = RecordingNotifier()
        prober = ScriptedProber(self.clock, lambda _t: False)
        self.dog = Watchdog(self.store, prober, {"email": self.email}, self.clock)
        self.capsys = capsys

    def sync(self) -> str:
        code = sync_and_report(load_config(self.config), self.store, self.db, self.clock.now())
        assert code == 0
        return str(self.capsys.readouterr().out)

    def tick(self) -> list[Message]:
        before = len(self.email.sent)
        asyncio.run(self.dog.tick())
        return self.email.sent[before:]


@pytest.fixture
def world(tmp_path: Path, server: LoopbackHTTPServer, capsys: Any) -> Iterator[World]:
    w = World(tmp_path, server, capsys)
    try:
        yield w
    finally:
        w.store.close()


def told(messages: list[Message]) -> list[tuple[str, str]]:
    return sorted((m.contact_id, m.key.split("|")[1]) for m in messages)


def test_a_moved_date_tells_the_team_and_the_head_of_profession_once_with_the_note(world, govuk):
    world.sync()
    assert world.tick() == []
    govuk.search.results[0] = result(
        MONTHLY, "Monthly IPO statistics: July 2026", "2026-07-23T09:30:00+01:00"
    )
    govuk.items[f"/government/statistics/announcements/{MONTHLY}"] = item(
        "23 July 2026 9:30am",
        previous_display_date="16 July 2026 9:30am",
        latest_change_note="To include the revised June figures",
    )
    world.sync()
    sent = world.tick()
    # The team (the chain's first step) and the head of profession, not the lead official.
    assert told(sent) == [("hop", "date_changed"), ("team", "date_changed")]
    m = sent[0]
    assert m.subject == (
        "Date changed: Monthly IPO statistics: July 2026 is now due Thu 23 Jul 2026 09:30 BST"
    )
    assert "was due: Thu 16 Jul 2026 09:30 BST" in m.text
    assert "now due: Thu 23 Jul 2026 09:30 BST" in m.text
    assert "Change note: To include the revised June figures" in m.text
    # Only the changed announcement's item was read, once.
    assert govuk.content_reads == [f"/api/content/government/statistics/announcements/{MONTHLY}"]

    world.sync()  # the same calendar again: nothing new to tell, nothing read again
    assert world.tick() == []
    assert len(govuk.content_reads) == 1

    # A second move is a new change: told again, with no note this time (none in the item).
    govuk.search.results[0] = result(
        MONTHLY, "Monthly IPO statistics: July 2026", "2026-07-30T09:30:00+01:00"
    )
    govuk.items[f"/government/statistics/announcements/{MONTHLY}"] = item("30 July 2026 9:30am")
    world.sync()
    again = world.tick()
    assert told(again) == [("hop", "date_changed"), ("team", "date_changed")]
    assert "was due: Thu 23 Jul 2026 09:30 BST" in again[0].text
    assert "The calendar gives no change note." in again[0].text


def test_a_cancellation_cancels_pending_alerts_and_is_told_once_with_the_reason(world, govuk):
    world.sync()
    due = datetime(2026, 7, 20, 8, 30, tzinfo=UTC)
    # The first alert fails for now (a retry is pending) when the calendar cancels the release.
    world.email.fail = lambda m: SendError("try later") if "|alert|" in m.key else None
    world.clock.set(due + timedelta(minutes=6))
    world.tick()
    pending = [
        d
        for d in world.store.deliveries("govuk-patents-2026")
        if d.notification.kind == NotificationKind.ALERT
    ]
    assert [d.status for d in pending] == [DeliveryStatus.RETRY]
    world.email.fail = None

    govuk.search.results[1] = result(
        "patents-2026", "Patents annual", "2026-07-20T09:30:00.000+01:00", "cancelled"
    )
    govuk.items["/government/statistics/announcements/patents-2026"] = item(
        "20 July 2026 9:30am", "cancelled", cancellation_reason="The data supplier is late"
    )
    world.sync()
    world.clock.advance(timedelta(minutes=5))
    sent = [m for m in world.tick() if m.key.startswith("govuk-patents-2026|")]
    assert told(sent) == [("hop", "cancel_notice"), ("team", "cancel_notice")]
    assert "Reason given: The data supplier is late" in sent[0].text
    assert sent[0].subject == "Cancelled: Patents annual (was due Mon 20 Jul 2026 09:30 BST)"
    statuses = {d.notification.kind: d.status for d in world.store.deliveries("govuk-patents-2026")}
    assert statuses[NotificationKind.ALERT] == DeliveryStatus.CANCELLED
    # Nothing more for it: no alert, no breach step, no second notice.
    world.sync()
    for _ in range(4):
        world.clock.advance(timedelta(minutes=15))
        assert [m for m in world.tick() if "patents" in m.key] == []


def test_an_announcement_gone_from_the_calendar_is_told_once(world, govuk):
    world.sync()
    del govuk.search.results[1]  # patents: neither cancelled nor published, just gone
    world.sync()
    sent = world.tick()
    assert told(sent) == [("hop", "gone_notice"), ("team", "gone_notice")]
    assert (
        sent[0].subject == "Gone from the calendar: Patents annual (due Mon 20 Jul 2026 09:30 BST)"
    )
    assert "has not seen it published" in sent[0].text
    assert govuk.content_reads == []  # nothing to read for a vanished one
    world.sync()
    assert world.tick() == []


def run_for(
    world: World,
    resync: Any,
    hours: float,
    seen: list[Any] | None = None,
    *,
    sync_at_start: bool = False,
) -> None:
    """run_loop on the fixed clock (ticks at least every 10 minutes) until `hours` have
    passed; `seen` gets (hours since the start, syncs so far) after every tick. A sync runs
    beside the ticks, in real time, while this clock races ahead: each sleep waits for it
    first, as if it took no time on this clock (test_calendar_trickle.py shows the ticks going
    on while it does)."""
    from releasewatch.local.runner import run_loop

    start = world.clock.now()
    end = start + timedelta(hours=hours)

    def on_tick(_report: Any) -> bool:
        if seen is not None:
            seen.append(((world.clock.now() - start) / timedelta(hours=1), resync.runs))
        return world.clock.now() < end

    clock_sleep = world.clock.sleep

    async def sleep(seconds: float) -> None:
        while resync.running:
            await asyncio.sleep(0.01)
        await clock_sleep(seconds)

    async def go() -> None:
        world.clock.sleep = sleep  # type: ignore[method-assign]
        await run_loop(
            world.dog,
            stop=asyncio.Event(),
            ceiling=timedelta(minutes=10),
            on_tick=on_tick,
            resync=resync,
            sync_every=load_config(world.config).sync_every,
            gate=resync.gate,
            sync_at_start=sync_at_start,
        )

    asyncio.run(go())


def resync_of(world: World, console: list[str]) -> Any:
    from releasewatch.calendar.imports import imports_path
    from releasewatch.calendar.resync import Resync

    return Resync(
        load_config(world.config), world.store, imports_path(world.db), console=console.append
    )


def test_run_resyncs_every_sync_every_and_tells_a_move_it_finds(world, govuk):
    world.config.write_text(world.config.read_text() + "sync_every: 4h\n")
    resync = resync_of(world, [])
    asyncio.run(resync(world.clock.now()))  # the sync on start
    govuk.search.results[0] = result(
        MONTHLY, "Monthly IPO statistics: July 2026", "2026-07-23T09:30:00+01:00"
    )
    seen: list[tuple[float, int]] = []
    run_for(world, resync, 12.5, seen)
    # Synced again at 4h, 8h and 12h of the injected clock, not before.
    assert max(h for h, runs in seen if runs == 1) < 4 <= min(h for h, runs in seen if runs == 2)
    assert max(h for h, runs in seen if runs == 2) < 8 <= min(h for h, runs in seen if runs == 3)
    assert resync.runs == 4
    assert told(world.email.sent) == [("hop", "date_changed"), ("team", "date_changed")]
    record = world.store.get_release(f"govuk-{MONTHLY}")
    assert record is not None and record.release.due == datetime(2026, 7, 23, 8, 30, tzinfo=UTC)


def test_run_syncing_at_start_then_waits_sync_every_before_the_next(world, govuk):
    # `run` starts its first sync beside the first tick; the next must still wait sync_every,
    # not start as soon as the first ends (once a sync after every tick: GOV.UK hammered).
    world.config.write_text(world.config.read_text() + "sync_every: 4h\n")
    resync = resync_of(world, [])
    seen: list[tuple[float, int]] = []
    run_for(world, resync, 9, seen, sync_at_start=True)
    assert seen[0] == (0.0, 1)  # the start-up sync began with the first tick
    assert max(h for h, runs in seen if runs == 1) < 4 <= min(h for h, runs in seen if runs == 2)
    assert max(h for h, runs in seen if runs == 2) < 8 <= min(h for h, runs in seen if runs == 3)
    assert resync.runs == 3
    assert govuk.search.requests == 3


def test_a_failing_source_is_reported_once_per_streak_and_keeps_its_import(world, govuk, caplog):
    console: list[str] = []
    resync = resync_of(world, console)
    asyncio.run(resync(world.clock.now()))
    govuk.search.fail_with = 503
    with caplog.at_level("WARNING", logger="releasewatch.calendar"):
        run_for(world, resync, 24.1)  # four failed syncs (6h, 12h, 18h, 24h)
    assert resync.runs == 5
    failed = [r for r in caplog.records if "failed" in r.getMessage()]
    assert len(failed) == 1 and "status 503" in failed[0].getMessage()
    assert len(console) == 1 and "its last good import is kept" in console[0]
    assert {r.id for r in world.store.active_releases()} == {
        f"govuk-{MONTHLY}",
        "govuk-patents-2026",
    }
    assert world.email.sent == []  # no "gone" notices for a source that failed
    govuk.search.fail_with = None
    caplog.clear()
    with caplog.at_level("WARNING", logger="releasewatch.calendar"):
        run_for(world, resync, 6.1)
    assert [r.getMessage() for r in caplog.records] == [
        "calendar source govuk:intellectual-property-office works again"
    ]
    assert len(console) == 2


def test_sync_every_defaults_to_6h_and_a_bad_one_is_located(tmp_path):
    from releasewatch.config.load import parse_config
    from releasewatch.errors import ConfigError

    base = (
        "contacts: {team: {name: T, email: t@example.com}}\n"
        "chains: {c: [{after: 5m, notify: [team]}]}\nreleases: []\n"
    )
    assert parse_config(base).sync_every == timedelta(hours=6)
    assert parse_config(base + "sync_every: 90m\n").sync_every == timedelta(minutes=90)
    with pytest.raises(ConfigError) as caught:
        parse_config(base + "sync_every: 1m\n", "rw.yaml")
    assert "rw.yaml:4" in str(caught.value) and "sync_every" in str(caught.value)
    assert "at least 10m" in str(caught.value)


def test_an_announcement_gone_after_its_due_time_is_left_to_the_chain(world, govuk):
    world.sync()
    # Search drops an announcement once it is published: after due, that is the likely reason,
    # and the chain's alerts (not a "gone" notice) speak for a page that is not live.
    world.clock.set(datetime(2026, 7, 20, 8, 32, tzinfo=UTC))
    del govuk.search.results[1]
    world.sync()
    assert [m for m in world.tick() if "gone_notice" in m.key] == []


def test_a_failing_source_is_shown_on_the_board_until_it_works_again(world, govuk):
    from releasewatch.calendar.imports import imports_path
    from releasewatch.calendar.resync import Resync
    from releasewatch.links.tokens import TokenCodec
    from releasewatch.local.loophealth import TickHealth
    from releasewatch.web.app import WebApp

    health = TickHealth()
    resync = Resync(
        load_config(world.config), world.store, imports_path(world.db), console=[].append,
        health=health,
    )  # fmt: skip
    board = WebApp(world.store, TokenCodec(b"b" * 32), world.clock, health)
    asyncio.run(resync(world.clock.now()))
    assert health.sync_failing() == {}
    govuk.search.fail_with = 503
    asyncio.run(resync(world.clock.now()))
    (source,) = health.sync_failing()
    html = board.handle("GET", "/").body
    (problem,) = re.findall(r'<li data-problem="unhealthy">(.*?)</li>', html)
    assert f"The calendar source {source} is failing" in problem and "503" in problem
    govuk.search.fail_with = None
    asyncio.run(resync(world.clock.now()))
    assert health.sync_failing() == {}
    assert 'data-problem="unhealthy"' not in board.handle("GET", "/").body


def provisional_again(govuk: FakeGovuk, note: str = "") -> None:
    """Patents loses its exact time: GOV.UK shows a month range again."""
    govuk.search.results[1] = result(
        "patents-2026",
        "Patents annual",
        "2026-08-01T00:00:00.000+01:00",
        "provisional",
        "August to September 2026",
    )
    details = {"latest_change_note": note} if note else {}
    govuk.items["/government/statistics/announcements/patents-2026"] = item(
        "August to September 2026", "provisional", **details
    )


def test_a_date_taken_back_stops_the_watch_and_is_told_once_not_dropped_silently(world, govuk):
    world.sync()
    provisional_again(govuk, note="Delayed to include revised data")
    out = world.sync()
    line = next(x for x in out.splitlines() if x.startswith("Patents annual"))
    assert "stop watching: date no longer confirmed (was Mon 20 Jul 2026 09:30 BST)" in line
    record = world.store.get_release("govuk-patents-2026")
    assert record is not None and record.active
    assert record.release.unconfirmed == "August to September 2026"

    sent = [m for m in world.tick() if m.key.startswith("govuk-patents-2026|")]
    assert told(sent) == [("hop", "unconfirmed_notice"), ("team", "unconfirmed_notice")]
    assert sent[0].subject == (
        "Date no longer confirmed: Patents annual (was due Mon 20 Jul 2026 09:30 BST)"
    )
    assert "it now says August to September 2026" in sent[0].text
    assert "Change note: Delayed to include revised data" in sent[0].text
    assert "stopped watching it" in sent[0].text

    # Nothing more: no second notice on the next sync, no alert at the old due time.
    world.sync()
    assert world.tick() == []
    world.clock.set(datetime(2026, 7, 20, 8, 30, tzinfo=UTC))
    for _ in range(6):
        world.clock.advance(timedelta(minutes=10))
        assert [m for m in world.tick() if "patents" in m.key] == []


def test_a_date_taken_back_is_shown_for_what_it_is(world, govuk):
    from releasewatch.web.views.board import state_tag

    world.sync()
    provisional_again(govuk)
    world.sync()
    record = world.store.get_release("govuk-patents-2026")
    assert record is not None
    tag = state_tag(record, world.store.events(record.id), world.clock.now())
    assert tag.text == "Not watched — date not confirmed (August to September 2026)"
    (notice,) = [m for m in world.tick() if m.contact_id == "team"]
    assert "The calendar gives no change note." in notice.text


def test_a_date_taken_back_after_the_due_time_leaves_the_late_release_to_its_chain(world, govuk):
    world.sync()
    world.clock.set(datetime(2026, 7, 20, 8, 36, tzinfo=UTC))
    alerts = [m for m in world.tick() if "|alert|" in m.key and "patents" in m.key]
    assert [m.contact_id for m in alerts] == ["team"]
    provisional_again(govuk)
    out = world.sync()
    assert "kept: the calendar has no exact time now" in out
    world.clock.advance(timedelta(minutes=30))
    sent = [m for m in world.tick() if "patents" in m.key]
    # the breach step still fires: a late release is late whatever the calendar says now
    assert [(m.contact_id, m.key.split("|")[1]) for m in sent] == [("lead", "breach")]


def test_the_text_of_a_date_taken_back_fits_one_sms_whatever_the_calendar_says() -> None:
    from releasewatch.calendar.changes import UNCONFIRMED, Change
    from releasewatch.notify.context import MessageContext
    from releasewatch.notify.messages import render
    from tests.factories import CONTACTS, DUE, make_notification, make_release

    for wording in ("August to September 2026", "x" * 200):
        release = make_release(unconfirmed=wording)
        n = make_notification(
            kind=NotificationKind.UNCONFIRMED_NOTICE,
            channel="sms",
            step=None,
            contact_id="web_publisher",
        )
        change = Change(release.id, UNCONFIRMED, DUE, DUE).event(NOW, "t").detail
        sms = render(
            MessageContext(
                release=release,
                notification=n,
                contact=CONTACTS["web_publisher"],
                now=NOW,
                change=change,
            )
        ).text
        assert len(sms) <= 160, sms
        assert sms.startswith("RW DATE NOT CONFIRMED: Labour market over")
        assert sms.endswith("; not watched until it has a time.")
        assert wording[:20] in sms


def test_a_stored_record_names_unconfirmed_only_when_set_so_older_versions_still_read_it():
    # Records forbid unknown fields: were `"unconfirmed": null` in every record, rolling back
    # to the version before it would make the whole store unreadable and silence every alert.
    from releasewatch.model import ReleaseRecord
    from tests.factories import make_release

    plain = ReleaseRecord(release=make_release(), version=1, updated_at=NOW, active=True)
    assert "unconfirmed" not in plain.model_dump_json()
    assert ReleaseRecord.model_validate_json(plain.model_dump_json()) == plain
    taken_back = plain.model_copy(
        update={"release": make_release(unconfirmed="August to September 2026")}
    )
    again = ReleaseRecord.model_validate_json(taken_back.model_dump_json())
    assert again.release.unconfirmed == "August to September 2026" and again.release.stopped


def move_monthly(govuk: FakeGovuk, when: str) -> None:
    govuk.search.results[0] = result(MONTHLY, "Monthly IPO statistics: July 2026", when)


def crash_once(world: World, monkeypatch: pytest.MonkeyPatch, write: str) -> None:
    """The store's next `write` (recording the change, or writing the releases) fails as a
    crash at that point of the sync would."""
    real = getattr(world.store, write)

    def crash(*_a: Any, **_k: Any) -> Any:
        monkeypatch.setattr(world.store, write, real)
        raise RuntimeError(f"killed in {write}")

    monkeypatch.setattr(world.store, write, crash)


@pytest.mark.parametrize("write", ["add_event", "apply_releases"])
def test_a_crash_while_applying_a_move_loses_no_notice_and_tells_nothing_untrue(
    world, govuk, monkeypatch, write
):
    # (before, the releases were written first: a crash before the change was recorded lost
    # its notice for good, since the next sync found nothing left to change)
    world.sync()
    move_monthly(govuk, "2026-07-23T09:30:00+01:00")
    crash_once(world, monkeypatch, write)
    with pytest.raises(RuntimeError):
        world.sync()
    # Not applied yet: saying "now due 23 July" would be untrue, so nothing is told...
    assert world.store.get_release(f"govuk-{MONTHLY}").release.due.day == 16  # type: ignore[union-attr]
    assert world.tick() == []
    # ...until the next sync applies it; then it is told once, not lost.
    world.sync()
    sent = world.tick()
    assert told(sent) == [("hop", "date_changed"), ("team", "date_changed")]
    assert "now due: Thu 23 Jul 2026 09:30 BST" in sent[0].text
    world.sync()
    assert world.tick() == []


def test_a_move_that_crashed_and_was_then_undone_by_the_calendar_is_never_told(
    world, govuk, monkeypatch
):
    world.sync()
    move_monthly(govuk, "2026-07-23T09:30:00+01:00")
    crash_once(world, monkeypatch, "apply_releases")
    with pytest.raises(RuntimeError):
        world.sync()
    move_monthly(govuk, "2026-07-16T09:30:00+01:00")  # back before the next sync ran
    world.sync()
    assert world.tick() == []
