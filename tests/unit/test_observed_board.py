"""Observed releases on the board, the release page, the JSON and `status`: shown honestly,
quietly, and never among those that need someone."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

from releasewatch.commands.status import release_rows
from releasewatch.web.views.load import load_board
from releasewatch.web.views.problems import Health
from tests.factories import make_release
from tests.unit.escalation_support import Scenario, at
from tests.unit.test_board_busy_morning import schema_registry, validate

ALERTED = "lms-2025-07"  # due 09:30, never live: late, someone is alerted
OBSERVED_LATE = "poultry-2025-07"  # due 09:15, never live, no chain
OBSERVED_ON_TIME = "trade-2025-07"  # due 09:00, live 20 s after, no chain
MARKER = "Observed — no one is alerted"


def morning() -> Scenario:
    live: dict[str, Any] = {
        ALERTED: lambda now: False,
        OBSERVED_LATE: lambda now: False,
        OBSERVED_ON_TIME: lambda now: now >= at(9, 0, 20),
    }
    s = Scenario(live=lambda now: False, start=at(8, 55))
    s.prober.live = live
    observed = [
        make_release(OBSERVED_LATE, due=at(9, 15), title="Poultry", chain=None, contacts={}),
        make_release(OBSERVED_ON_TIME, due=at(9, 0), title="Trade", chain=None, contacts={}),
    ]
    s.store.apply_releases([s.release, *observed], s.clock.now())
    s.step = timedelta(seconds=30)
    s.run_until(at(9, 42))
    return s


def test_observed_releases_are_marked_and_never_need_someone() -> None:
    s = morning()
    assert {sent.message.key.split("|")[0] for sent in s.log} == {ALERTED}  # its chain alone
    board = load_board(s.store, s.clock.now(), "today", Health())
    rows = {row.release_id: row for row in board.rows}
    assert board.rows[0].release_id == ALERTED  # alone on top
    assert rows[ALERTED].needs_someone == ("Late",) and not rows[ALERTED].observed
    late = rows[OBSERVED_LATE]
    assert late.observed and late.needs_someone == ()
    assert late.tag.text == "Late — 27 min" and late.minutes_late == 27  # the fact, recorded
    assert rows[OBSERVED_ON_TIME].observed and rows[OBSERVED_ON_TIME].tag.text == "Live, on time"
    assert board.summary.text == "1 late · 2 observed, no one alerted"
    assert board.summary.counts == {"late": 1, "observed": 2}

    html = s.open("/").body
    assert "Needs someone now (1)" in html
    first, rest = html.index('id="needs-someone"'), html.index('id="the-rest"')
    assert rest < html.index(f'data-release-id="{OBSERVED_LATE}"')
    row = html[html.index(f'data-release-id="{OBSERVED_LATE}"') :].split("</tr>")[0]
    assert MARKER in row and "No one alerted" in row and "data-needs-someone" not in row
    assert first < html.index(f'data-release-id="{ALERTED}"') < rest
    assert html.count(MARKER) == 2


def test_the_release_page_and_the_json_say_observed() -> None:
    s = morning()
    page = s.open(f"/r/{OBSERVED_LATE}").body
    assert MARKER in page
    assert "No steps: the release is observed, so no one is alerted." in page
    assert MARKER not in s.open(f"/r/{ALERTED}").body

    board_schema, release_schema, registry = schema_registry()
    board = json.loads(s.open("/api/releases").body)
    validate(board, board_schema, registry)
    observed = {row["release_id"]: row["observed"] for row in board["rows"]}
    assert observed == {ALERTED: False, OBSERVED_LATE: True, OBSERVED_ON_TIME: True}
    assert board["summary"]["counts"]["observed"] == 2
    for rid, flag in observed.items():
        document = json.loads(s.open(f"/api/releases/{rid}").body)
        validate(document, release_schema, registry)
        assert document["observed"] is flag
    # additive to version 1: an older answer without the field is still valid
    older = {
        **board,
        "rows": [{k: v for k, v in r.items() if k != "observed"} for r in board["rows"]],
    }
    validate(older, board_schema, registry)
    assert board["schema_version"] == "1.0"


def test_status_says_which_releases_are_observed() -> None:
    s = morning()
    rows = release_rows(s.store, s.store.all_releases(), s.clock.now())
    states = {row[0]: row[2] for row in rows[1:]}
    assert re.search(r"; observed, no one alerted$", states[OBSERVED_LATE])
    assert "observed" not in states[ALERTED]
