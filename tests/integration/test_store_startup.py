"""`run`, `demo` and `status` check the SQLite file before anything else: a read-only file or
folder, a corrupt file, a file that is not a database, a folder where the file should be. Each
is one clear message on stderr naming the path and what to do, and exit 2, never a traceback."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releasewatch.cli import main
from releasewatch.store.health import StoreUnusable, check_sqlite
from releasewatch.store.sqlite import SQLiteStore
from releasewatch.timefmt import LONDON
from tests.factories import DUE, make_release

CONFIG = """\
local_mode: true
contacts:
  team: {name: Stats team, role: stats_team, email: team@example.com}
chains:
  default:
    - {after: 5m, notify: [team], channels: [email]}
releases:
  - id: r1
    title: A release
    url: "https://www.gov.uk/government/statistics/a-release"
    due: "2099-07-17T09:30:00+01:00"
    chain: default
"""


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make `path` (a file or a folder) unwritable, for root too (chattr +i), then restore."""
    if os.geteuid() == 0:
        subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)


def good_db(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "rw.db"
    with SQLiteStore(db) as store:
        store.apply_releases([make_release(id=f"r{i}") for i in range(40)], DUE)
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file
    conn.close()
    return db


def corrupt(db: Path) -> None:
    data = bytearray(db.read_bytes())
    data[8192:16384] = b"\x5a" * 8192  # b-tree pages overwritten; the header is intact
    db.write_bytes(bytes(data))


def not_a_database(db: Path) -> None:
    db.write_text("these are my notes, not a database\n" * 200)


def run_cmd(db: Path, tmp_path: Path) -> list[str]:
    config = tmp_path / "c.yaml"
    config.write_text(CONFIG)
    return ["run", "--config", str(config), "--db", str(db), "--once", "--web-port", "0"]


def status_cmd(db: Path, tmp_path: Path) -> list[str]:
    return ["status", "--db", str(db)]


def demo_cmd(db: Path, tmp_path: Path) -> list[str]:
    assert db.name == "demo.db"
    return ["demo", "--state-dir", str(db.parent)]


Command = Callable[[Path, Path], list[str]]


def assert_refused(capsys: pytest.CaptureFixture[str], argv: list[str], *words: str) -> str:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    for word in words:
        assert word in err, err
    return err


@pytest.mark.parametrize("command", [run_cmd, demo_cmd, status_cmd])
def test_a_corrupt_database_is_named_with_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: Command
) -> None:
    db = good_db(tmp_path / "state") if command is not demo_cmd else tmp_path / "state/demo.db"
    if command is demo_cmd:
        good_db(tmp_path / "state").rename(db)
    corrupt(db)
    assert_refused(capsys, command(db, tmp_path), str(db), "corrupt", "backup")


@pytest.mark.parametrize("command", [run_cmd, demo_cmd, status_cmd])
def test_a_file_that_is_not_a_database_is_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: Command
) -> None:
    db = tmp_path / "state" / ("demo.db" if command is demo_cmd else "rw.db")
    db.parent.mkdir()
    not_a_database(db)
    before = db.read_bytes()
    assert_refused(capsys, command(db, tmp_path), str(db), "not a database", "--db")
    assert db.read_bytes() == before  # the check changed nothing


@pytest.mark.parametrize("command", [run_cmd, demo_cmd])
def test_a_read_only_database_file_is_refused_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: Command
) -> None:
    db = good_db(tmp_path / "state")
    if command is demo_cmd:
        db = db.rename(db.with_name("demo.db"))
    with read_only(db):
        assert_refused(capsys, command(db, tmp_path), str(db), "not writable", "permissions")


@pytest.mark.parametrize("command", [run_cmd, demo_cmd])
def test_a_read_only_folder_is_refused_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: Command
) -> None:
    # A new database in a folder nobody may write to: the file cannot even be created.
    folder = tmp_path / "state"
    folder.mkdir()
    db = folder / ("demo.db" if command is demo_cmd else "rw.db")
    with read_only(folder):
        assert_refused(capsys, command(db, tmp_path), str(db))
    assert not db.exists()


def test_a_read_only_folder_holding_a_database_is_refused_by_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The file is writable but its journal (-wal, -shm) cannot be created beside it.
    db = good_db(tmp_path / "state")
    for extra in db.parent.glob("rw.db-*"):
        extra.unlink()
    with read_only(db.parent):
        assert_refused(capsys, run_cmd(db, tmp_path), str(db))


def test_a_folder_where_the_file_should_be(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "rw.db"
    db.mkdir()
    assert_refused(capsys, run_cmd(db, tmp_path), str(db), "folder")


def test_a_good_database_passes_and_the_write_probe_leaves_no_trace(tmp_path: Path) -> None:
    db = good_db(tmp_path / "state")
    check_sqlite(db)
    with SQLiteStore(db) as store:
        assert len(store.all_releases()) == 40
    tables = sqlite3.connect(db).execute("SELECT name FROM sqlite_master").fetchall()
    assert not [t for (t,) in tables if "probe" in t]
    fresh = tmp_path / "new" / "rw.db"
    check_sqlite(fresh)  # a new database where the store would create it is fine
    with pytest.raises(StoreUnusable, match="corrupt"):
        corrupt(db)
        check_sqlite(db, write=False)


def test_run_once_whose_tick_fails_says_why_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a database that passes the startup check, then fills up before the tick writes
    def full(self: SQLiteStore, checks: object) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SQLiteStore, "record_checks", full)
    config = tmp_path / "c.yaml"
    due = (datetime.now(UTC) - timedelta(minutes=10)).astimezone(LONDON)
    config.write_text(
        CONFIG.replace("2099-07-17T09:30:00+01:00", f"{due:%Y-%m-%dT%H:%M:%S%z}").replace(
            "https://www.gov.uk/government/statistics/a-release", "http://127.0.0.1:9/a-release"
        )
    )
    argv = ["run", "--config", str(config), "--db", str(tmp_path / "rw.db"), "--once"]
    # WHEN one tick runs (the release is past due: it probes, then cannot record)
    code = main([*argv, "--web-port", "0"])
    # THEN exit 1 with the reason and what to do, no traceback
    out, err = capsys.readouterr()
    assert code == 1
    assert "database or disk is full" in err and "free some space" in err
    assert "Traceback" not in out + err
