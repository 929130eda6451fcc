"""Is the SQLite file usable? Checked once at startup (so a read-only, corrupt or foreign file
is a clear message and exit 2, not a traceback or a watchdog that fails every tick), and used
to put a failing tick's exception into words a person can act on."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import AlreadyClaimed, StoreError, VersionConflict

if TYPE_CHECKING:  # the Lambda imports this module (service.py) but never the SQLite store
    from .sqlite import SQLiteStore


class StoreUnusable(StoreError):
    """The database cannot be used; the message names the path, the problem and what to do."""


def check_sqlite(path: Path, *, write: bool = True) -> None:
    """Raise StoreUnusable unless `path` is an intact SQLite database (or can become one) that
    this process can write (`write=False`: read). Changes nothing: the write probe is rolled
    back, and a missing file is only created where the store would create it anyway."""
    if path.is_dir():
        raise StoreUnusable(f"{path} is a folder, not a database file; give a file path (--db)")
    if not path.exists() and not write:
        return  # nothing stored yet: the caller says so in its own words
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StoreUnusable(
            f"cannot create the folder {path.parent} for the database ({exc.strerror}); "
            "create it, or give another --db"
        ) from None
    existed = path.exists()
    try:
        uri = f"{path.resolve().as_uri()}?mode={'rwc' if write else 'ro'}"
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=5)
    except sqlite3.Error as exc:
        raise StoreUnusable(f"cannot open the database {path}: {explain(exc)}") from None
    try:
        if existed:
            _intact(conn, path)
        if write:
            _writable(conn, path)
    finally:
        conn.close()


def _intact(conn: sqlite3.Connection, path: Path) -> None:
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        raise StoreUnusable(f"the database {path} is unreadable: {explain(exc)}") from None
    problems = [str(r[0]) for r in rows if r[0] != "ok"]
    if problems:
        raise StoreUnusable(
            f"the database {path} is corrupt ({problems[0]}"
            + (f", and {len(problems) - 1} more problem(s)" if len(problems) > 1 else "")
            + f"); {_RESTORE}"
        )


def _writable(conn: sqlite3.Connection, path: Path) -> None:
    # The same journal mode and lock the store takes: WAL needs the -wal and -shm files beside
    # the database, so a read-only folder fails here, as it would on the first write.
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("CREATE TABLE releasewatch_write_probe (x INTEGER)")
            conn.execute("INSERT INTO releasewatch_write_probe VALUES (1)")
        finally:
            conn.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise StoreUnusable(f"cannot write the database {path}: {explain(exc)}") from None


_RESTORE = (
    "move it aside and start again (the config is re-applied; history is lost), or restore a backup"
)


def explain(exc: BaseException) -> str:
    """An exception from the store as a reason and what to do about it."""
    text = str(exc)
    low = text.lower()
    if "disk is full" in low or "no space" in low:
        hint = "the disk holding the database is full: free some space"
    elif "locked" in low or "busy" in low:
        hint = "another process holds the database lock: stop it, or use another --db"
    elif "readonly" in low or "read-only" in low or "permission" in low:
        hint = (
            "the database file or its folder is not writable by this user: fix the permissions, "
            "or give another --db"
        )
    elif "not a database" in low:
        hint = f"the file is not a SQLite database: give the right --db, or {_RESTORE}"
    elif "malformed" in low or "corrupt" in low:
        hint = f"the database is corrupt: {_RESTORE}"
    elif "unable to open" in low:
        hint = "check that the folder exists and is writable"
    else:
        return f"{type(exc).__name__}: {text}"
    return f"{text} ({hint})"


def open_checked(path: Path, *, write: bool = True) -> SQLiteStore:
    """check_sqlite, then the store itself: every way it can fail to open is StoreUnusable."""
    from .sqlite import SQLiteStore

    check_sqlite(path, write=write)
    try:
        return SQLiteStore(path)
    except StoreUnusable:
        raise
    except (sqlite3.Error, StoreError, OSError) as exc:
        raise StoreUnusable(f"cannot open the database {path}: {explain(exc)}") from None


def store_failed(exc: BaseException) -> bool:
    """Whether `exc` means the store itself failed (full, locked, read-only, corrupt, closed),
    as opposed to one release's data or the ordinary outcomes of a conditional write."""
    if isinstance(exc, AlreadyClaimed | VersionConflict | KeyError):
        return False
    return isinstance(exc, sqlite3.Error | StoreError)
