"""What only the SQLite store does: a file that outlives the process, shared between processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from releasewatch.errors import AlreadyClaimed, StoreError
from releasewatch.model import (
    DeliveryStatus,
    Event,
    EventKind,
    Notification,
    ReleaseRecord,
    ReleaseState,
)
from releasewatch.store.sqlite import SCHEMA_VERSION, SQLiteStore
from tests.factories import make_check, make_notification, make_release

T0 = datetime(2025, 7, 17, 8, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)
KEYS = 50

# spawn, not fork: a child starts clean instead of inheriting the parent's open connections.
_MP = multiprocessing.get_context("spawn")


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "releasewatch.db"


@pytest.fixture
def store(path: Path) -> Any:
    with SQLiteStore(path) as s:
        yield s


def _abort_when(path: Path, table: str, condition: str) -> None:
    """Make the database itself refuse a row part-way through a transaction (a disk-full
    stand-in that needs no mocking)."""
    with sqlite3.connect(path) as raw:
        raw.execute(
            f"CREATE TRIGGER refuse BEFORE INSERT ON {table} WHEN {condition}"
            " BEGIN SELECT RAISE(ABORT, 'refused by test'); END"
        )
    raw.close()


# -- the file ---------------------------------------------------------------------------------


def test_it_creates_the_parent_directory_and_the_schema(path: Path) -> None:
    assert not path.parent.exists()

    SQLiteStore(path).close()

    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    raw.close()
    assert {"releases", "checks", "events", "deliveries"} <= tables


def test_it_uses_the_write_ahead_log(store: SQLiteStore, path: Path) -> None:
    # WAL lets readers (the dashboard) read while a tick writes.
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_it_refuses_a_file_from_a_newer_schema(path: Path) -> None:
    SQLiteStore(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    raw.close()

    with pytest.raises(StoreError, match="schema version"):
        SQLiteStore(path)


def _insert_sent(raw: sqlite3.Connection, n: Notification) -> None:
    """A delivery sent at T0 through Notify, as any schema since version 1 holds it."""
    raw.execute(
        "INSERT INTO deliveries (key, release_id, status, attempts, owner, sent_at,"
        " provider_id, updated_at, notification) VALUES (?, ?, 'sent', 1, 'w1', ?, ?, ?, ?)",
        (n.key, n.release_id, "2025-07-17T08:00:00.000000Z", "notify:x",
         "2025-07-17T08:00:00.000000Z", n.model_dump_json()),
    )  # fmt: skip


def _before_awaiting(schema: str) -> str:
    """The schema as versions 1 to 4 had it: no index of the sends awaiting a receipt."""
    out = "\n".join(line for line in schema.splitlines() if "deliveries_awaiting" not in line)
    assert "deliveries_awaiting" not in out
    return out


def _before_wake_times(schema: str) -> str:
    """The schema as versions 1 to 3 had it: no wake_at column, no index on it."""
    out = _before_awaiting(schema).replace(",\n    wake_at     TEXT\n", "\n")
    out = "\n".join(line for line in out.splitlines() if "releases_wake" not in line)
    assert "wake_at" not in out
    return out


def test_a_version_1_file_is_upgraded_in_place_and_keeps_its_deliveries(path: Path) -> None:
    # GIVEN a file written by the previous release (schema 1: no next_attempt_at column), with
    # a delivery left in RETRY
    from releasewatch.store import sqlite as module

    v1 = _before_wake_times(module._SCHEMA).replace(
        ",\n    next_attempt_at TEXT,\n    receipt       TEXT,\n    delivered_at  TEXT", ""
    )
    assert "next_attempt_at" not in v1
    path.parent.mkdir(parents=True)
    n = make_notification()
    with sqlite3.connect(path) as raw:
        raw.executescript(v1)
        raw.execute(
            "INSERT INTO deliveries (key, release_id, status, attempts, owner, updated_at,"
            " notification) VALUES (?, ?, 'retry', 1, 'w1', ?, ?)",
            (n.key, n.release_id, "2025-07-17T08:00:00.000000Z", n.model_dump_json()),
        )
        raw.execute("PRAGMA user_version = 1")
    raw.close()

    # WHEN this version opens it
    with SQLiteStore(path) as store:
        # THEN it is upgraded, and the old retry is still there and claimable at once
        [d] = store.deliveries(n.release_id)
        assert (d.status, d.attempts, d.next_attempt_at) == (DeliveryStatus.RETRY, 1, None)
        assert store.claim(n, "w2", T0, LEASE).attempts == 2
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
    raw.close()


def test_a_version_2_file_gains_delivery_receipts_keeping_its_sent_deliveries(path: Path) -> None:
    # GIVEN a file from before delivery receipts, with a message sent
    from releasewatch.store import sqlite as module

    v2 = _before_wake_times(module._SCHEMA).replace(
        ",\n    receipt       TEXT,\n    delivered_at  TEXT", ""
    )
    assert "receipt" not in v2
    path.parent.mkdir(parents=True)
    n = make_notification()
    with sqlite3.connect(path) as raw:
        raw.executescript(v2)
        _insert_sent(raw, n)
        raw.execute("PRAGMA user_version = 2")
    raw.close()

    # WHEN this version opens it, and a receipt comes for that message
    with SQLiteStore(path) as store:
        [d] = store.deliveries(n.release_id)
        assert (d.status, d.receipt, d.delivered_at) == (DeliveryStatus.SENT, None, None)
        assert store.record_receipt(n.key, "notify:x", "delivered", T0)
        # THEN it is recorded on the old delivery
        [d] = store.deliveries(n.release_id)
        assert (d.receipt, d.delivered_at) == ("delivered", T0)


def test_a_version_3_file_wakes_its_active_releases_at_once(path: Path) -> None:
    # GIVEN a file from before wake times: one active release, one no longer watched
    from releasewatch.store import sqlite as module

    path.parent.mkdir(parents=True)
    with sqlite3.connect(path) as raw:
        raw.executescript(_before_wake_times(module._SCHEMA))
        for release_id, active in (("a", 1), ("gone", 0)):
            record = ReleaseRecord(release=make_release(release_id), version=1, active=bool(active))
            raw.execute(
                "INSERT INTO releases (id, active, version, state, record) VALUES (?, ?, 1, ?, ?)",
                (release_id, active, record.state.value, record.model_dump_json()),
            )
        raw.execute("PRAGMA user_version = 3")
    raw.close()

    # WHEN this version opens it
    with SQLiteStore(path) as store:
        # THEN the active release is due at once (the first tick gives it its own wake time),
        # and the other is never read by a tick
        assert [r.id for r in store.due_releases(T0)] == ["a"]


def test_a_version_4_file_finds_its_sends_awaiting_a_receipt_by_an_index(path: Path) -> None:
    # GIVEN a file from before the index of sends awaiting a receipt, with a text in flight
    from releasewatch.store import sqlite as module

    path.parent.mkdir(parents=True)
    n = make_notification(channel="notify_sms")
    with sqlite3.connect(path) as raw:
        raw.executescript(_before_awaiting(module._SCHEMA))
        _insert_sent(raw, n)
        raw.execute("PRAGMA user_version = 4")
    raw.close()

    # WHEN this version opens it
    with SQLiteStore(path) as store:
        # THEN the text is found among the sends awaiting a receipt...
        assert [d.key for d in store.awaiting_receipt(T0, T0 + timedelta(hours=1))] == [n.key]
    # ...through the new partial index, not a read of every delivery
    with sqlite3.connect(path) as raw:
        plan = raw.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM deliveries WHERE status = 'sent'"
            " AND provider_id IS NOT NULL AND delivered_at IS NULL AND sent_at >= ?"
            " AND sent_at <= ? ORDER BY sent_at, key",
            ("a", "b"),
        ).fetchall()
    raw.close()
    assert any("USING INDEX deliveries_awaiting" in str(step) for step in plan), plan


def test_everything_is_still_there_after_a_restart(path: Path) -> None:
    # GIVEN a store with one of everything
    first = SQLiteStore(path)
    first.apply_releases([make_release("a"), make_release("b")], T0)
    record = first.get_release("a")
    assert record is not None
    first.update_release(record.model_copy(update={"state": ReleaseState.WATCHING}))
    first.record_checks([make_check("a", T0), make_check("a", T0 + timedelta(seconds=10))])
    first.add_event(Event(release_id="a", at=T0, kind=EventKind.STATE_CHANGED))
    n = make_notification("a")
    first.claim(n, "w1", T0, LEASE)
    first.mark_sent(n.key, "w1", T0, "msg-1")
    before = (
        first.all_releases(),
        first.active_releases(),
        first.checks("a"),
        first.events("a"),
        first.deliveries("a"),
    )
    first.close()

    # WHEN the process restarts and opens the file again
    with SQLiteStore(path) as second:
        after = (
            second.all_releases(),
            second.active_releases(),
            second.checks("a"),
            second.events("a"),
            second.deliveries("a"),
        )

        # THEN nothing is lost, and a sent notification stays sent
        assert after == before
        with pytest.raises(AlreadyClaimed):
            second.claim(n, "w2", T0 + timedelta(days=1), LEASE)


def test_a_closed_store_says_so(path: Path) -> None:
    s = SQLiteStore(path)
    s.close()
    with pytest.raises(StoreError, match="closed"):
        s.get_release("a")


# -- checks -----------------------------------------------------------------------------------


def test_checks_older_than_the_ttl_are_purged_when_new_ones_are_written(path: Path) -> None:
    with SQLiteStore(path, check_ttl=timedelta(days=1)) as s:
        old, recent = make_check("a", T0), make_check("b", T0 + timedelta(hours=20))
        s.record_checks([old, recent])

        s.record_checks([make_check("c", T0 + timedelta(days=1, hours=1))])

        assert s.checks("a") == []  # older than a day when "c" was recorded
        assert s.checks("b") == [recent]


def test_a_thousand_checks_are_recorded_in_one_transaction(store: SQLiteStore, path: Path) -> None:
    batch = [make_check("a", T0 + timedelta(seconds=i)) for i in range(1000)]

    started = time.perf_counter()
    store.record_checks(batch)
    elapsed = time.perf_counter() - started

    assert store.checks("a") == batch
    assert elapsed < 5  # one commit, not a thousand


def test_a_batch_of_checks_is_all_or_nothing(store: SQLiteStore, path: Path) -> None:
    # GIVEN the database refuses the last of 1,000 rows
    _abort_when(path, "checks", "NEW.body LIKE '%poisoned%'")
    batch = [make_check("a", T0 + timedelta(seconds=i)) for i in range(999)]
    batch.append(make_check("a", T0 + timedelta(hours=1), reason="poisoned"))

    with pytest.raises(sqlite3.DatabaseError):
        store.record_checks(batch)

    # THEN the 999 rows inserted before it were rolled back with it
    assert store.checks("a") == []


# -- releases ---------------------------------------------------------------------------------


def test_apply_releases_rolls_back_when_the_database_fails_mid_way(
    store: SQLiteStore, path: Path
) -> None:
    # GIVEN two stored releases, and a database that will refuse the release "c"
    store.apply_releases([make_release("a"), make_release("b")], T0)
    before = store.all_releases()
    _abort_when(path, "releases", "NEW.id = 'c'")

    # WHEN a config update changes "a" and inserts "new" before it reaches "c"
    with pytest.raises(sqlite3.DatabaseError):
        store.apply_releases(
            [make_release("a", title="changed"), make_release("new"), make_release("c")],
            T0 + timedelta(minutes=1),
        )

    # THEN none of it took effect: "a" unchanged, no "new", "b" still active and not removed
    assert store.all_releases() == before
    assert store.events("b") == []


def test_active_releases_reads_only_the_active_index(store: SQLiteStore, path: Path) -> None:
    store.apply_releases([make_release(f"r{i}") for i in range(20)], T0)
    store.apply_releases([make_release("r3")], T0)

    with sqlite3.connect(path) as raw:
        plan = " ".join(
            str(row[-1])
            for row in raw.execute(
                "EXPLAIN QUERY PLAN SELECT record FROM releases WHERE active = 1 ORDER BY id"
            )
        )
    raw.close()

    assert "releases_active" in plan
    assert [r.id for r in store.active_releases()] == ["r3"]


# -- threads and processes --------------------------------------------------------------------


def test_threads_sharing_one_store_never_both_win_a_claim(store: SQLiteStore) -> None:
    notifications = [make_notification(step=1, occurrence=i) for i in range(KEYS)]
    start = threading.Barrier(8)
    wins: Counter[str] = Counter()
    errors: list[BaseException] = []
    guard = threading.Lock()

    def work(owner: str) -> None:
        start.wait()
        for n in notifications:
            try:
                store.claim(n, owner, T0, LEASE)
            except AlreadyClaimed:
                continue
            except BaseException as exc:
                with guard:
                    errors.append(exc)
                continue
            with guard:
                wins[n.key] += 1

    threads = [threading.Thread(target=work, args=(f"t{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert errors == []
    assert wins == Counter({n.key: 1 for n in notifications})


def _claim_all(path: str, owner: str, start: Any, results: Any) -> None:
    """A child process: open the file, wait for the others, race for every key."""
    try:
        store = SQLiteStore(path)
        won: list[str] = []
        start.wait(timeout=60)
        for i in range(KEYS):
            n = make_notification(step=1, occurrence=i)
            try:
                store.claim(n, owner, T0, LEASE)
            except AlreadyClaimed:
                continue
            won.append(n.key)
        store.close()
        results.put((owner, won, None))
    except BaseException as exc:
        results.put((owner, [], repr(exc)))


def test_processes_racing_on_one_file_have_exactly_one_winner_per_key(
    store: SQLiteStore, path: Path
) -> None:
    start = _MP.Barrier(4)
    results = _MP.Queue()
    procs = [
        _MP.Process(target=_claim_all, args=(str(path), f"proc-{i}", start, results))
        for i in range(4)
    ]
    for p in procs:
        p.start()
    reports = [results.get(timeout=90) for _ in procs]
    for p in procs:
        p.join(timeout=30)

    assert [error for _, _, error in reports if error] == []
    winners: dict[str, list[str]] = {}
    for owner, won, _ in reports:
        for key in won:
            winners.setdefault(key, []).append(owner)
    expected = {make_notification(step=1, occurrence=i).key for i in range(KEYS)}
    assert set(winners) == expected
    assert {k: v for k, v in winners.items() if len(v) != 1} == {}
    stored = {d.key: d for d in store.deliveries("lms-2025-07")}
    assert {k: (d.owner, d.attempts) for k, d in stored.items()} == {
        k: (v[0], 1) for k, v in winners.items()
    }


def _read_then_claim(path: str, results: Any) -> None:
    try:
        with SQLiteStore(path) as s:
            record = s.get_release("a")
            s.claim(make_notification("a"), "child", T0, LEASE)
        results.put(None if record is None else record.release.title)
    except BaseException as exc:
        results.put(repr(exc))


def test_a_second_process_sees_the_first_ones_writes_and_vice_versa(
    store: SQLiteStore, path: Path
) -> None:
    store.apply_releases([make_release("a", title="Written by the parent")], T0)
    results = _MP.Queue()
    child = _MP.Process(target=_read_then_claim, args=(str(path), results))
    child.start()
    seen = results.get(timeout=60)
    child.join(timeout=30)

    assert seen == "Written by the parent"
    [d] = store.deliveries("a")
    assert (d.owner, d.status) == ("child", DeliveryStatus.CLAIMED)
