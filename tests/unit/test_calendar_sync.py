"""`releasewatch sync`: GOV.UK (a loopback search API) and a CSV file into the local store."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from releasewatch.calendar.imports import imports_path
from releasewatch.cli import main
from releasewatch.commands.sync import sync_and_report
from releasewatch.config.load import load_config
from releasewatch.errors import ConfigError
from releasewatch.store.sqlite import SQLiteStore
from tests.calendar_support import FakeSearch, result
from tests.probe_support import LoopbackHTTPServer, loopback_server

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
JULY = "2026-07-16T09:30:00.000+01:00"
CONFIG = """\
local_mode: true
defaults: {{chain: default}}
contacts:
  team: {{name: Stats team, email: team@example.com}}
  hop: {{name: Head of profession, email: hop@example.com}}
chains:
  default:
    - {{after: 5m, notify: [team]}}
  ipo-monthly:
    - {{after: 2m, notify: [team, hop]}}
calendars:
  - govuk: {{organisations: [intellectual-property-office], base_url: "{base}", page_size: 2}}
  - csv: releases.csv
series:
  - match: "^Monthly IPO statistics"
    chain: ipo-monthly
releases:
{releases}
"""


@pytest.fixture
def search() -> FakeSearch:
    return FakeSearch(
        [
            result("monthly-ipo-statistics-july-2026", "Monthly IPO statistics: July 2026", JULY),
            result("patents-2026", "Patents annual", "2026-07-20T09:30:00.000+01:00"),
            result(
                "designs-2026",
                "Designs: August to September 2026",
                "2026-08-01T00:00:00.000+01:00",
                "provisional",
                "August to September 2026",
            ),
            result("old-one", "Withdrawn before", "2026-07-22T09:30:00.000+01:00", "cancelled"),
        ]
    )


@pytest.fixture
def server(search: FakeSearch) -> Iterator[LoopbackHTTPServer]:
    with loopback_server(search) as s:
        yield s


def write_config(
    tmp_path: Path, server: LoopbackHTTPServer, releases: str = "  []", csv: str = ""
) -> Path:
    (tmp_path / "releases.csv").write_text("id,title,url,due\n" + csv)
    path = tmp_path / "rw.yaml"
    base = server.url("").rstrip("/")
    path.write_text(CONFIG.format(base=base, releases=releases))
    return path


def sync(
    tmp_path: Path, config: Path, capsys: pytest.CaptureFixture[str], now: datetime = NOW
) -> tuple[int, str, str]:
    db = tmp_path / "rw.db"
    store = SQLiteStore(db)
    try:
        code = sync_and_report(load_config(config), store, db, now)
    finally:
        store.close()
    out = capsys.readouterr()
    return code, out.out, out.err


def stored(tmp_path: Path) -> dict[str, object]:
    store = SQLiteStore(tmp_path / "rw.db")
    try:
        return {r.id: r for r in store.active_releases()}
    finally:
        store.close()


def row(out: str, title: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(title))


def test_first_sync_adds_confirmed_announcements_as_watched_releases(tmp_path, server, capsys):
    code, out, _ = sync(tmp_path, write_config(tmp_path, server), capsys)
    assert code == 0
    records = stored(tmp_path)
    assert sorted(records) == ["govuk-monthly-ipo-statistics-july-2026", "govuk-patents-2026"]
    monthly = records["govuk-monthly-ipo-statistics-july-2026"].release  # type: ignore[attr-defined]
    assert monthly.due == datetime(2026, 7, 16, 8, 30, tzinfo=UTC)
    assert monthly.chain.id == "ipo-monthly"  # from the matching series
    assert records["govuk-patents-2026"].release.chain.id == "default"  # type: ignore[attr-defined]
    assert monthly.rule.govuk
    assert monthly.producer == "Intellectual Property Office"
    assert monthly.publication_url.endswith(
        "/government/statistics/monthly-ipo-statistics-july-2026"
    )
    line = row(out, "Monthly IPO statistics: July 2026")
    assert "Thu 16 Jul 2026 09:30 BST" in line and line.rstrip().endswith("add")
    designs = row(out, "Designs: August to September 2026")
    assert "not watched: provisional" in designs
    # GOV.UK's own wording, not its provisional timestamp's made-up midnight
    assert re.split(r"\s{2,}", designs)[1:3] == ["August to September 2026", "provisional"]
    assert "skipped: cancelled, never watched" in row(out, "Withdrawn before")
    assert "synced: 2 add, 1 not watched, 1 skipped" in out


def test_a_second_sync_changes_nothing(tmp_path, server, capsys):
    config = write_config(tmp_path, server)
    sync(tmp_path, config, capsys)
    before = {rid: r.version for rid, r in stored(tmp_path).items()}  # type: ignore[attr-defined]
    code, out, _ = sync(tmp_path, config, capsys)
    assert code == 0
    assert {rid: r.version for rid, r in stored(tmp_path).items()} == before  # type: ignore[attr-defined]
    assert row(out, "Monthly IPO statistics").rstrip().endswith("unchanged")
    assert "(the store already matched)" in out


def test_a_moved_date_and_a_cancellation_are_applied_and_shown(tmp_path, server, search, capsys):
    config = write_config(tmp_path, server)
    sync(tmp_path, config, capsys)
    search.results[0] = result(
        "monthly-ipo-statistics-july-2026",
        "Monthly IPO statistics: July 2026",
        "2026-07-23T09:30:00.000+01:00",
    )
    search.results[1] = result(
        "patents-2026", "Patents annual", "2026-07-20T09:30:00.000+01:00", "cancelled"
    )
    code, out, _ = sync(tmp_path, config, capsys)
    assert code == 0
    assert "move (was Thu 16 Jul 2026 09:30 BST)" in row(out, "Monthly IPO statistics")
    assert row(out, "Patents annual").rstrip().endswith("cancel")
    records = stored(tmp_path)
    assert records["govuk-monthly-ipo-statistics-july-2026"].release.due == datetime(  # type: ignore[attr-defined]
        2026, 7, 23, 8, 30, tzinfo=UTC
    )
    assert records["govuk-patents-2026"].release.cancelled  # type: ignore[attr-defined]


def test_a_failing_source_keeps_its_last_good_import(tmp_path, server, search, capsys):
    config = write_config(tmp_path, server)
    sync(tmp_path, config, capsys)
    before = stored(tmp_path)
    search.fail_with = 503
    code, out, err = sync(tmp_path, config, capsys)
    assert code == 1
    assert stored(tmp_path) == before  # nothing deleted, nothing changed
    assert (
        "failed" in err and "503" in err and "last good import (4 announcement(s)) is kept" in err
    )
    assert row(out, "Monthly IPO statistics").rstrip().endswith("unchanged")


def test_an_announcement_gone_from_a_working_source_is_kept_and_flagged(
    tmp_path, server, search, capsys
):
    config = write_config(tmp_path, server)
    sync(tmp_path, config, capsys)
    del search.results[1]  # Patents annual no longer in search
    code, out, _ = sync(tmp_path, config, capsys)
    assert code == 0
    assert "govuk-patents-2026" in stored(tmp_path)
    assert "gone from the source: kept, check it" in row(out, "Patents annual")


def test_two_sources_announcing_one_publication_are_merged_by_url(tmp_path, server, capsys):
    base = server.url("").rstrip("/")
    csv = f"patents,Patents (our list),{base}/government/statistics/patents-2026,2026-07-20 09:30\n"
    code, out, _ = sync(tmp_path, write_config(tmp_path, server, csv=csv), capsys)
    assert code == 0
    assert "patents" not in stored(tmp_path)
    assert "govuk-patents-2026" in stored(tmp_path)
    assert (
        "skipped: same publication as govuk:intellectual-property-office govuk-patents-2026"
        in row(out, "Patents (our list)")
    )


def test_a_hand_written_release_wins_over_an_imported_one(tmp_path, server, capsys):
    base = server.url("").rstrip("/")
    releases = (
        "  - id: patents-by-hand\n"
        "    title: Patents annual (ours)\n"
        f"    url: {base}/government/statistics/announcements/patents-2026\n"
        "    due: 2026-07-20 09:30\n"
    )
    code, out, _ = sync(tmp_path, write_config(tmp_path, server, releases=releases), capsys)
    assert code == 0
    records = stored(tmp_path)
    assert "patents-by-hand" in records and "govuk-patents-2026" not in records
    assert "skipped: the config's release patents-by-hand wins" in row(out, "Patents annual")


def test_dry_run_writes_nothing(tmp_path, server, capsys):
    config = write_config(tmp_path, server)
    db = tmp_path / "rw.db"
    # The real clock: announcements in 2026 may be past; only "nothing written" matters here.
    code = main(["sync", "--config", str(config), "--db", str(db), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0
    assert "nothing written" in out
    assert not imports_path(db).exists()
    assert stored(tmp_path) == {}


def test_calendar_config_mistakes_are_located(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "contacts:\n  team: {name: T, email: t@example.com}\n"
        "chains:\n  default:\n    - {after: 5m, notify: [team]}\n"
        "calendars:\n"
        "  - govuk: {organisations: [Not A Slug]}\n"
        "  - {csv: a.csv, ics: b.ics}\n"
        "  - govuk: {organisations: [ipo], page_size: 2000}\n"
        "  - ics: http://example.com/x.ics\n"
        "series:\n"
        "  - {match: '(', chain: default}\n"
        "  - {match: x, chain: nope}\n"
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = [str(p) for p in caught.value.problems]
    assert any(
        "bad.yaml:7: calendars[0].govuk.organisations" in t and "not an organisation slug" in t
        for t in text
    )
    assert any("bad.yaml:8: calendars[1]" in t and "exactly one source" in t for t in text)
    assert any("bad.yaml:9: calendars[2].govuk.page_size" in t for t in text)
    assert any("bad.yaml:10: calendars[3].ics" in t and "https" in t for t in text)
    assert any("bad.yaml:12: series[0].match" in t and "regular expression" in t for t in text)
    assert any("bad.yaml:13: series[1].chain" in t and "unknown chain 'nope'" in t for t in text)


def test_a_published_release_gone_from_search_is_said_to_be_published(
    tmp_path, server, search, capsys
):
    from releasewatch.model import ReleaseState

    config = write_config(tmp_path, server)
    sync(tmp_path, config, capsys)
    with SQLiteStore(tmp_path / "rw.db") as store:
        rec = store.get_release("govuk-patents-2026")
        assert rec is not None
        store.update_release(rec.model_copy(update={"state": ReleaseState.LIVE}))
    del search.results[1]  # search drops an announcement once its publication is out
    code, out, _ = sync(tmp_path, config, capsys)
    assert code == 0
    assert "(gone from the source: published)" in row(out, "Patents annual")


def test_an_id_two_sources_both_use_is_imported_once(tmp_path, server, capsys):
    csv = "govuk-patents-2026,Our own patents,https://www.example.com/other,2026-07-21 09:30\n"
    code, out, _ = sync(tmp_path, write_config(tmp_path, server, csv=csv), capsys)
    assert code == 0
    assert stored(tmp_path)["govuk-patents-2026"].release.title == "Patents annual"  # type: ignore[attr-defined]
    assert "skipped: id govuk-patents-2026 also in govuk:" in row(out, "Our own patents")


def test_status_lists_provisional_announcements_as_not_watched(tmp_path, server, capsys):
    sync(tmp_path, write_config(tmp_path, server), capsys)
    assert main(["status", "--db", str(tmp_path / "rw.db")]) == 0
    out = capsys.readouterr().out
    watched, _, provisional = out.partition("Not watched until they have an exact time")
    assert "govuk-monthly-ipo-statistics-july-2026" in watched
    assert "Designs" not in watched
    line = row(provisional.split("\n", 2)[2], "Designs: August to September 2026")
    assert re.split(r"\s{2,}", line)[1:3] == ["August to September 2026", "provisional"]


def test_a_first_sync_with_every_source_failing_says_nothing_could_be_read(
    tmp_path, server, search, capsys
):
    search.fail_with = 503
    config = load_config(write_config(tmp_path, server))
    (tmp_path / "releases.csv").unlink()  # the other source fails too
    db = tmp_path / "rw.db"
    with SQLiteStore(db) as store:
        code = sync_and_report(config, store, db, NOW, dry_run=True)
    out, err = capsys.readouterr()
    assert code == 1
    assert "TITLE" not in out  # no empty table
    assert "0 announcement(s)" not in err  # a first sync keeps nothing: it says so
    lines = err.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("source govuk:intellectual-property-office failed: ")
    assert "503" in lines[0]
    assert lines[0].endswith("it has never been read, so none of its releases are watched yet")
    assert lines[1].startswith("source csv:releases.csv failed: ")
    assert lines[2] == (
        "releasewatch sync: nothing could be read: all 2 calendar source(s) failed (the reasons "
        "are above); check the addresses in calendars: and the network, then sync again"
    )
