"""Readiness for imported releases: the defaults apply, and a series can switch it off or
change its times and people (`series: - match: ... readiness: {...}`)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time
from pathlib import Path

import pytest

from releasewatch.commands.sync import sync_and_report
from releasewatch.config.load import load_config
from releasewatch.errors import ConfigError
from releasewatch.model import NotificationKind
from releasewatch.readiness.policy import schedule
from releasewatch.service import Watchdog
from releasewatch.store.sqlite import SQLiteStore
from tests.fakes import FixedClock, RecordingNotifier, ScriptedProber

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
CONFIG = """\
local_mode: true
defaults: {chain: default}
contacts:
  team: {name: Stats team, email: team@example.com}
  web: {name: Web publisher, email: web@example.com}
  lead: {name: Lead official, role: lead_official, email: lead@example.com}
chains:
  default:
    - {after: 5m, notify: [team]}
calendars:
  - csv: releases.csv
series:
SERIES
"""
CSV = (
    "id,title,url,due\n"
    "prices,Monthly prices: July 2026,https://www.example.com/prices,2026-07-16 09:30\n"
    "weekly,Weekly deaths,https://www.example.com/deaths,2026-07-14 09:30\n"
    "annual,Annual survey,https://www.example.com/survey,2026-07-20 07:00\n"
)
SERIES = """\
  - match: "^Weekly"
    readiness: {enabled: false}
  - match: "^Annual"
    readiness: {remind_at: "10:00", escalate_at: "12:00", notify: [web], nation: scotland}
"""


def synced(tmp_path: Path, series: str = SERIES) -> dict[str, object]:
    (tmp_path / "rw.yaml").write_text(CONFIG.replace("SERIES", series))
    (tmp_path / "releases.csv").write_text(CSV)
    db = tmp_path / "rw.db"
    store = SQLiteStore(db)
    try:
        assert sync_and_report(load_config(tmp_path / "rw.yaml"), store, db, NOW) == 0
        return {r.id: r.release for r in store.active_releases()}
    finally:
        store.close()


def test_imported_releases_get_the_default_readiness_and_a_series_overrides_it(tmp_path, capsys):
    releases = synced(tmp_path)
    prices = releases["prices"].readiness  # type: ignore[attr-defined]
    assert prices is not None  # the defaults: asked the day before, like a hand-written release
    assert (prices.remind_at, prices.notify, prices.escalate_to) == (time(14), ("team",), ("lead",))
    assert releases["weekly"].readiness is None  # type: ignore[attr-defined]
    annual = releases["annual"]
    assert annual.readiness.notify == ("web",)  # type: ignore[attr-defined]
    assert annual.readiness.remind_at == time(10)  # type: ignore[attr-defined]
    assert annual.readiness.nation == "scotland"  # type: ignore[attr-defined]
    assert "web" in annual.contacts  # type: ignore[attr-defined] # not on the chain, still reached
    plan = schedule(annual)  # type: ignore[arg-type]
    assert plan is not None and plan.remind == datetime(2026, 7, 17, 9, 0, tzinfo=UTC)  # Fri


def test_an_imported_release_is_asked_the_working_day_before(tmp_path, capsys):
    synced(tmp_path)
    store = SQLiteStore(tmp_path / "rw.db")
    try:
        clock = FixedClock(datetime(2026, 7, 15, 13, 0, tzinfo=UTC))  # 14:00 BST, day before
        email = RecordingNotifier()
        dog = Watchdog(store, ScriptedProber(clock, lambda _t: False), {"email": email}, clock)
        asyncio.run(dog.tick())
        asked = [
            (m.key.split("|")[0], m.contact_id)
            for m in email.sent
            if m.key.split("|")[1] == NotificationKind.READY_REMIND.value
        ]
        assert asked == [("prices", "team")]  # weekly: switched off for its series
    finally:
        store.close()


def test_a_series_readiness_naming_an_unknown_contact_is_located(tmp_path):
    (tmp_path / "rw.yaml").write_text(
        CONFIG.replace("SERIES", '  - match: "^A"\n    readiness: {notify: [nobody]}\n')
    )
    (tmp_path / "releases.csv").write_text(CSV)
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "rw.yaml")
    assert "series[0].readiness.notify[0]" in str(err.value)
    assert "unknown contact 'nobody'" in str(err.value)
