"""The board at 09:42 on a busy morning, as view models, HTML and JSON: a one-line summary, the
releases that need someone first, one form of time per view, late wording in days beyond 48
hours, readiness the day before from what was recorded, and every JSON answer valid against
the published schema."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from importlib.resources import files
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from releasewatch.errors import SendError
from releasewatch.model import (
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
    Notification,
    NotificationKind,
    Readiness,
    Release,
    ReleaseRecord,
)
from releasewatch.notify.base import Message
from releasewatch.web.views.load import load_board
from releasewatch.web.views.problems import Health
from releasewatch.web.views.readiness import readiness_lines
from tests.factories import DUE, make_release
from tests.unit.escalation_support import Scenario, at

NO_HEALTH = Health()
LATE_FAILED = "lms-2025-07"  # due 09:30, never live, its SMS to the web publisher refused
LATE = "wages-2025-07"  # due 09:15, never live
ON_TIME = ("gdp-q2", "trade-jun")  # due 09:00 and 09:05, live 20 s after
LIVE_LATE = "prices-jun"  # due 09:10, live at 09:14
LATER = ("energy-jul", "housing-jul")  # due 10:30 and 11:00
TOMORROW = "cpi-2025-07"  # due 07:00 tomorrow, readiness asked at 14:00 today


def busy() -> list[Release]:
    def rel(rid: str, hh: int, mm: int, **kw: Any) -> Release:
        return make_release(rid, due=at(hh, mm), title=f"Release {rid}", **kw)

    return [
        rel(LATE_FAILED, 9, 30),
        rel(LATE, 9, 15),
        rel(ON_TIME[0], 9, 0),
        rel(ON_TIME[1], 9, 5),
        rel(LIVE_LATE, 9, 10),
        rel(LATER[0], 10, 30),
        rel(LATER[1], 11, 0),
        make_release(
            TOMORROW,
            due=at(7, 0) + timedelta(days=1),
            title="Consumer price inflation",
            readiness=Readiness(notify=("stats_team",), escalate_to=("lead_official",)),
        ),
    ]


def refuse_one_sms(message: Message) -> SendError | None:
    if message.key.startswith(LATE_FAILED + "|"):
        return SendError("recipient refused by the gateway", permanent=True)
    return None


def live_after(due: datetime) -> Any:
    return lambda now: now >= due


@pytest.fixture(scope="module")
def morning() -> Scenario:
    releases = busy()
    live: dict[str, Any] = {r.id: (lambda now: False) for r in releases}
    live[ON_TIME[0]] = live_after(at(9, 0, 20))
    live[ON_TIME[1]] = live_after(at(9, 5, 20))
    live[LIVE_LATE] = live_after(at(9, 14))
    s = Scenario(
        live=lambda now: False, release=releases[0], start=at(8, 55), sms_fail=refuse_one_sms
    )
    s.prober.live = live
    s.store.apply_releases(releases, s.clock.now())
    s.step = timedelta(seconds=30)
    s.run_until(at(9, 42))
    return s


def test_the_summary_says_what_needs_someone_first_then_the_rest(morning: Scenario) -> None:
    board = load_board(morning.store, morning.clock.now(), "today", NO_HEALTH)
    assert board.summary.text == (
        "2 late · 1 message failed · 1 live late · 2 live on time · 2 not due yet"
    )
    assert board.summary.counts == {
        "late": 2,
        "failed_messages": 1,
        "live_late": 1,
        "live_on_time": 2,
        "not_due_yet": 2,
    }
    html = morning.open("/").body
    summary = re.search(r'id="summary">(.*?)</p>', html)
    assert summary is not None
    assert re.sub(r"<[^>]+>", "", summary[1]) == board.summary.text


def test_the_releases_that_need_someone_come_first_then_due_order(morning: Scenario) -> None:
    board = load_board(morning.store, morning.clock.now(), "today", NO_HEALTH)
    ids = [row.release_id for row in board.rows]
    # late and with a failed message first (in due order among themselves), then the rest
    assert ids == [LATE, LATE_FAILED, ON_TIME[0], ON_TIME[1], LIVE_LATE, *LATER]
    why = {row.release_id: row.needs_someone for row in board.rows}
    assert why[LATE] == ("Late",)
    assert why[LATE_FAILED] == ("Late", "1 message failed")
    assert why[ON_TIME[0]] == ()
    html = morning.open("/").body
    first, rest = html.index('id="needs-someone"'), html.index('id="the-rest"')
    assert first < html.index(f'data-release-id="{LATE_FAILED}"') < rest
    assert 'scope="colgroup" colspan="6"' in html and "Needs someone now (2)" in html
    assert "1 message failed</span>" in html  # said on its row, under the state


def test_one_form_of_due_time_per_view(morning: Scenario) -> None:
    now = morning.clock.now()

    def due_texts(view: str) -> dict[str, str]:
        board = load_board(morning.store, now, view, NO_HEALTH)  # type: ignore[arg-type]
        return {row.release_id: row.due_text for row in board.rows}

    assert due_texts("today")[LATE_FAILED] == "09:30"
    assert set(due_texts("today").values()) <= {
        f"{h:02d}:{m:02d}" for h in range(24) for m in range(60)
    }
    assert due_texts("tomorrow") == {TOMORROW: "07:00"}
    assert due_texts("week")[LATE_FAILED] == "Thu 17 Jul 09:30"
    assert due_texts("week")[TOMORROW] == "Fri 18 Jul 07:00"
    html = morning.open("/?view=tomorrow").body
    assert "Release-day board, Friday 18 July" in html


def test_minutes_late_stays_once_live_late_and_is_null_when_on_time(morning: Scenario) -> None:
    board = load_board(morning.store, morning.clock.now(), "today", NO_HEALTH)
    late = {row.release_id: row.minutes_late for row in board.rows}
    assert late[LIVE_LATE] == 4 and late[LATE] == 27 and late[LATE_FAILED] == 12
    assert late[ON_TIME[0]] is None and late[LATER[0]] is None


def test_a_release_late_for_months_says_days_not_minutes() -> None:
    s = Scenario(live=lambda now: False)
    s.run_until(at(9, 42))
    months = s.clock.now() + timedelta(days=400, hours=3)
    board = load_board(s.store, months, "today", NO_HEALTH)
    (row,) = board.rows
    assert row.tag.text == "Late — 400 days 3 h"
    assert row.minutes_late == (400 * 24 + 3) * 60 + 12
    s.clock.set(months)
    html = s.open("/").body
    minutes = row.minutes_late
    assert f'Late — <span data-minutes-late="{minutes}">400 days 3 h</span>' in html
    assert f"{minutes} min" not in html


def test_tomorrows_readiness_is_only_what_was_recorded(morning: Scenario) -> None:
    # Before 14:00 nobody has been asked: the board does not read the schedule ahead
    tomorrow = load_board(morning.store, morning.clock.now(), "tomorrow", NO_HEALTH)
    (row,) = tomorrow.rows
    assert row.readiness.asked == () and row.readiness.confirmed is None
    assert row.readiness.text == "Not confirmed. Nobody asked yet"
    html = morning.open("/?view=tomorrow").body
    assert "Nobody asked yet" in html
    assert "Live at" not in html and "Nobody yet" not in html  # today's columns, not tomorrow's
    # ...at 14:00 the reminder goes to the stats team, and the board says who and when
    morning.run_until(at(14, 1))
    (row,) = load_board(morning.store, morning.clock.now(), "tomorrow", NO_HEALTH).rows
    assert row.readiness.asked == (
        "Asked Labour market statistics team by email at Thu 17 Jul 14:00",
    )
    assert (
        "Asked Labour market statistics team by email at Thu 17 Jul 14:00"
        in morning.open("/?view=tomorrow").body
    )


def test_who_was_on_call_and_who_confirmed_come_from_the_recorded_messages() -> None:
    release = make_release(readiness=Readiness(notify=("web_publisher",)))
    sent = Delivery(
        notification=Notification(
            key="k",
            release_id=release.id,
            kind=NotificationKind.READY_REMIND,
            contact_id="web_publisher",
            channel="email",
            due_at=DUE - timedelta(hours=19),
            on_call_for="stats_team",
        ),
        status=DeliveryStatus.SENT,
        sent_at=DUE - timedelta(hours=19),
    )
    record = ReleaseRecord(release=release)
    lines = readiness_lines(record, [], [sent])
    assert lines.asked == ("Asked Alice Publisher by email at Wed 16 Jul 14:30",)
    assert lines.on_call == ("Alice Publisher, on call for Labour market statistics team",)
    confirmed = Event(
        release_id=release.id,
        at=DUE - timedelta(hours=18),
        kind=EventKind.READY_CONFIRMED,
        contact_id="web_publisher",
        detail={"due": DUE.isoformat()},
    )
    lines = readiness_lines(record, [confirmed], [sent])
    assert lines.text == lines.confirmed == "Confirmed by Alice Publisher at Wed 16 Jul 15:30"


# -- the JSON and its schema --------------------------------------------------------------------
def schema_registry() -> tuple[dict[str, Any], dict[str, Any], Registry]:
    folder = files("releasewatch.web").joinpath("schema")
    board = json.loads(folder.joinpath("board.v1.json").read_text(encoding="utf-8"))
    release = json.loads(folder.joinpath("release.v1.json").read_text(encoding="utf-8"))
    registry = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in (board, release)
    )
    return board, release, registry


def validate(document: Any, schema: dict[str, Any], registry: Registry) -> None:
    Draft202012Validator.check_schema(schema)
    errors = sorted(
        Draft202012Validator(schema, registry=registry).iter_errors(document),
        key=lambda e: list(e.path),
    )
    assert errors == [], "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])


def test_every_answer_of_the_api_is_valid_against_the_published_schema(morning: Scenario) -> None:
    board_schema, release_schema, registry = schema_registry()
    for view in ("today", "tomorrow", "week"):
        answer = morning.open(f"/api/releases?view={view}")
        document = json.loads(answer.body)
        assert document["schema_version"] == "1.0"
        validate(document, board_schema, registry)
    for release in busy():
        document = json.loads(morning.open(f"/api/releases/{release.id}").body)
        validate(document, release_schema, registry)
    today = json.loads(morning.open("/api/releases").body)
    assert today["views"][0] == {"view": "today", "label": "Today", "current": True}
    assert today["store_readable"] is True
    # the schemas are served where the pages and the answers say
    for name, schema in (("board", board_schema), ("release", release_schema)):
        served = morning.open(f"/api/schema/v1/{name}.json")
        assert served.status == 200 and served.headers["Content-Type"] == "application/schema+json"
        assert json.loads(served.body) == schema
    assert morning.open("/api/schema/v1/nope.json").status == 404


def test_the_schema_catches_what_it_promises(morning: Scenario) -> None:
    # The guard is only as good as its strictness: a drifting field must fail it.
    board_schema, _, registry = schema_registry()
    document = json.loads(morning.open("/api/releases").body)
    validator = Draft202012Validator(board_schema, registry=registry)
    for broken in (
        {**document, "views": [["today", "Today"]]},  # pairs again
        {**document, "readable": True},  # an unexplained field
        {**document, "rows": [{**document["rows"][0], "minutes_late": "12"}]},
    ):
        assert not validator.is_valid(broken)


def test_a_store_that_cannot_be_read_answers_valid_json() -> None:
    import sqlite3

    s = Scenario(live=lambda now: False)
    s.run_until(at(9, 31))

    def broken() -> list[object]:
        raise sqlite3.OperationalError("database is locked")

    s.store.all_releases = broken  # type: ignore[method-assign]
    board_schema, _, registry = schema_registry()
    answer = s.open("/api/releases")
    assert answer.status == 503
    document = json.loads(answer.body)
    validate(document, board_schema, registry)
    assert document["store_readable"] is False and document["rows"] == []
    assert document["summary"] == {"text": "", "counts": {}}


def test_a_release_out_early_needs_someone_and_is_counted() -> None:
    s = Scenario(live=lambda now: now >= at(9, 20))  # out ten minutes early: a breach
    s.store.apply_releases(
        [s.release, make_release("later", due=at(11, 0), title="Later")], s.clock.now()
    )
    s.run_until(at(9, 25))
    board = load_board(s.store, s.clock.now(), "today", NO_HEALTH)
    assert [row.release_id for row in board.rows] == [s.release.id, "later"]
    assert board.rows[0].needs_someone == ("Released early",)
    assert board.rows[0].tag.text == "Early — breach" and board.rows[0].minutes_late is None
    assert board.summary.text == "1 early · 1 not due yet"
    # the tag says it; the row does not say it twice
    assert "Released early" not in s.open("/").body
