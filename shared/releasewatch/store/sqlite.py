"""The SQLite Store: the embedded default, safe for several threads and processes on one file.

The schema mirrors the DynamoDB single table: every row belongs to one release (its logical
partition), `releases.active` carries a partial index that plays the sparse "active" GSI, checks
expire after `check_ttl` like the table's TTL attribute, and every state change is a conditional
write.

Concurrency: WAL journal, a busy timeout, one connection per thread, and every write inside
`BEGIN IMMEDIATE`, so writers queue for the file lock instead of failing half-way. The claim does
not rely on that lock alone: it is one conditional upsert, so two processes racing for the same
key can never both see their row change.

Datetimes are stored as fixed-width ISO 8601 UTC strings (`2025-07-17T08:30:00.000000Z`), which
sort in time order; models are stored as their pydantic JSON.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from ..clock import require_aware
from ..errors import AlreadyClaimed, StoreError, VersionConflict
from ..model import (
    Check,
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
    Notification,
    Release,
    ReleaseRecord,
)
from .base import WAKING_EVENTS, wake_on_apply

SCHEMA_VERSION = 5
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS releases (
    id          TEXT PRIMARY KEY,
    active      INTEGER NOT NULL,
    version     INTEGER NOT NULL,
    state       TEXT NOT NULL,
    updated_at  TEXT,
    record      TEXT NOT NULL,
    wake_at     TEXT
);
-- Sparse, like the DynamoDB GSI: only active releases are in it.
CREATE INDEX IF NOT EXISTS releases_active ON releases (id) WHERE active = 1;
-- What a tick reads (due_releases): the active releases by wake time, like the wake-index.
CREATE INDEX IF NOT EXISTS releases_wake ON releases (wake_at) WHERE active = 1;

CREATE TABLE IF NOT EXISTS checks (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id  TEXT NOT NULL,
    at          TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS checks_by_release ON checks (release_id, at);
CREATE INDEX IF NOT EXISTS checks_by_expiry ON checks (expires_at);

CREATE TABLE IF NOT EXISTS events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    release_id  TEXT NOT NULL,
    at          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_by_release ON events (release_id, seq);

CREATE TABLE IF NOT EXISTS deliveries (
    key           TEXT PRIMARY KEY,
    release_id    TEXT NOT NULL,
    status        TEXT NOT NULL,
    attempts      INTEGER NOT NULL,
    owner         TEXT,
    lease_until   TEXT,
    sent_at       TEXT,
    provider_id   TEXT,
    error         TEXT,
    updated_at    TEXT,
    notification  TEXT NOT NULL,
    next_attempt_at TEXT,
    receipt       TEXT,
    delivered_at  TEXT
);
CREATE INDEX IF NOT EXISTS deliveries_by_release ON deliveries (release_id);
{awaiting};
"""

# Sparse, like the DynamoDB awaiting-index: the sends a receipt poller reads back, by send time.
_AWAITING_INDEX = (
    "CREATE INDEX IF NOT EXISTS deliveries_awaiting ON deliveries (sent_at)"
    " WHERE status = 'sent' AND provider_id IS NOT NULL AND delivered_at IS NULL"
)
_SCHEMA = _SCHEMA.replace("{awaiting}", _AWAITING_INDEX)

# Upgrades from each older schema version, applied in order (version 0 is a new file).
_MIGRATIONS: dict[int, tuple[str, ...]] = {
    # v2: the backoff between delivery attempts (a RETRY is claimable from next_attempt_at).
    1: ("ALTER TABLE deliveries ADD COLUMN next_attempt_at TEXT",),
    # v3: delivery receipts (GOV.UK Notify's callbacks, or its status read back).
    2: (
        "ALTER TABLE deliveries ADD COLUMN receipt TEXT",
        "ALTER TABLE deliveries ADD COLUMN delivered_at TEXT",
    ),
    # v4: wake times (a tick reads only the releases due). Releases stored before have none
    # yet: they are due at once, and the first tick gives each its own.
    3: (
        "ALTER TABLE releases ADD COLUMN wake_at TEXT",
        "CREATE INDEX IF NOT EXISTS releases_wake ON releases (wake_at) WHERE active = 1",
        "UPDATE releases SET wake_at = '0001-01-01T00:00:00.000000Z' WHERE active = 1",
    ),
    # v5: the sends awaiting a receipt, found without reading every watched release.
    4: (_AWAITING_INDEX,),
}

# The delivery contract's claim as one statement. The row is written when
#   1. no record exists for the key (the INSERT), or
#   2. the record is RETRY (a transient failure: anyone may take it) and its backoff is over
#      (next_attempt_at absent or <= now), or
#   3. the record is CLAIMED and its lease ran out (lease_until <= now: the holder crashed).
# Otherwise (live lease, SENT, FAILED, CANCELLED) the WHERE fails, nothing changes and
# RETURNING yields no row, which the caller turns into AlreadyClaimed.
#
#   claimed ──lease_until──┐
#   |<---- live lease ---->|<---- claimable ---->
_CLAIM = """
INSERT INTO deliveries (key, release_id, status, attempts, owner, lease_until, sent_at,
                        provider_id, error, updated_at, notification)
VALUES (:key, :release_id, 'claimed', 1, :owner, :lease_until, NULL, NULL, NULL, :now,
        :notification)
ON CONFLICT (key) DO UPDATE SET
    status = 'claimed',
    attempts = deliveries.attempts + 1,
    owner = excluded.owner,
    lease_until = excluded.lease_until,
    sent_at = NULL,
    provider_id = NULL,
    updated_at = excluded.updated_at,
    next_attempt_at = NULL
WHERE (deliveries.status = 'retry'
       AND (deliveries.next_attempt_at IS NULL OR deliveries.next_attempt_at <= :now))
   OR (deliveries.status = 'claimed' AND deliveries.lease_until IS NOT NULL
       AND deliveries.lease_until <= :now)
RETURNING *
"""


def _ts(when: datetime) -> str:
    """A datetime as a fixed-width UTC string that sorts in time order."""
    require_aware(when)
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _delivery(row: sqlite3.Row) -> Delivery:
    return Delivery(
        notification=Notification.model_validate_json(row["notification"]),
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        owner=row["owner"],
        lease_until=_dt(row["lease_until"]),
        sent_at=_dt(row["sent_at"]),
        provider_id=row["provider_id"],
        error=row["error"],
        updated_at=_dt(row["updated_at"]),
        next_attempt_at=_dt(row["next_attempt_at"]),
        receipt=row["receipt"],
        delivered_at=_dt(row["delivered_at"]),
    )


class SQLiteStore:
    """A Store in one SQLite file. Open one per process (or per thread); `close()` when done."""

    def __init__(
        self, path: str | os.PathLike[str], *, check_ttl: timedelta = timedelta(days=30)
    ) -> None:
        self.path = Path(path)
        self.check_ttl = check_ttl
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._migrate()

    # -- lifecycle ----------------------------------------------------------------------------
    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not self._closed:
            return conn
        with self._lock:
            if self._closed:
                raise StoreError(f"store {self.path} is closed")
            # isolation_level=None: no implicit transactions; _write() issues BEGIN IMMEDIATE.
            # check_same_thread=False only so close() may close every thread's connection.
            conn = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                isolation_level=None,
                check_same_thread=False,
            )
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._connections.append(conn)
            self._local.conn = conn
            return conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the file's write lock from the start."""
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _migrate(self) -> None:
        with self._write() as conn:
            found = conn.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} has schema version {found}; this releasewatch knows up to "
                    f"{SCHEMA_VERSION}"
                )
            if found == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
            else:
                for version in range(found, SCHEMA_VERSION):
                    for statement in _MIGRATIONS[version]:
                        conn.execute(statement)
            if found < SCHEMA_VERSION:
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    # -- releases -----------------------------------------------------------------------------
    def apply_releases(self, releases: Sequence[Release], now: datetime) -> list[str]:
        require_aware(now)
        with self._write() as conn:
            wanted: set[str] = set()
            for release in releases:
                wanted.add(release.id)
                row = conn.execute(
                    "SELECT record FROM releases WHERE id = ?", (release.id,)
                ).fetchone()
                if row is None:
                    record = ReleaseRecord(
                        release=release, version=1, updated_at=now, active=True, wake_at=now
                    )
                    self._insert_release(conn, record)
                else:
                    old = ReleaseRecord.model_validate_json(row["record"])
                    record = old.model_copy(
                        update={
                            "release": release,
                            "version": old.version + 1,
                            "updated_at": now,
                            "active": True,
                            "wake_at": wake_on_apply(old, release, now),
                        }
                    )
                    self._overwrite_release(conn, record)
            removed: list[str] = []
            active = conn.execute(
                "SELECT id, record FROM releases WHERE active = 1 ORDER BY rowid"
            ).fetchall()
            for row in active:
                if row["id"] in wanted:
                    continue
                old = ReleaseRecord.model_validate_json(row["record"])
                self._overwrite_release(
                    conn,
                    old.model_copy(
                        update={
                            "active": False,
                            "version": old.version + 1,
                            "updated_at": now,
                            "wake_at": None,
                        }
                    ),
                )
                self._insert_event(
                    conn, Event(release_id=row["id"], at=now, kind=EventKind.REMOVED)
                )
                removed.append(row["id"])
            return removed

    @staticmethod
    def _insert_release(conn: sqlite3.Connection, record: ReleaseRecord) -> None:
        conn.execute(
            "INSERT INTO releases (id, active, version, state, updated_at, record, wake_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                record.id,
                int(record.active),
                record.version,
                record.state.value,
                None if record.updated_at is None else _ts(record.updated_at),
                record.model_dump_json(),
                None if record.wake_at is None else _ts(record.wake_at),
            ),
        )

    @staticmethod
    def _overwrite_release(
        conn: sqlite3.Connection, record: ReleaseRecord, *, expected_version: int | None = None
    ) -> int:
        sql = (
            "UPDATE releases SET active = ?, version = ?, state = ?, updated_at = ?, record = ?,"
            " wake_at = ? WHERE id = ?"
        )
        params: tuple[object, ...] = (
            int(record.active),
            record.version,
            record.state.value,
            None if record.updated_at is None else _ts(record.updated_at),
            record.model_dump_json(),
            None if record.wake_at is None else _ts(record.wake_at),
            record.id,
        )
        if expected_version is not None:
            sql += " AND version = ?"
            params += (expected_version,)
        return conn.execute(sql, params).rowcount

    def get_release(self, release_id: str) -> ReleaseRecord | None:
        row = (
            self._conn()
            .execute("SELECT record FROM releases WHERE id = ?", (release_id,))
            .fetchone()
        )
        return None if row is None else ReleaseRecord.model_validate_json(row["record"])

    def active_releases(self) -> list[ReleaseRecord]:
        # The literal `active = 1` matches the partial index's WHERE, so only it is read.
        rows = self._conn().execute("SELECT record FROM releases WHERE active = 1 ORDER BY id")
        return [ReleaseRecord.model_validate_json(r["record"]) for r in rows]

    def due_releases(self, now: datetime) -> list[ReleaseRecord]:
        # `active = 1` matches the partial index releases_wake: only the due rows are read.
        rows = self._conn().execute(
            "SELECT record FROM releases WHERE active = 1 AND wake_at <= ? ORDER BY wake_at",
            (_ts(now),),
        )
        return [ReleaseRecord.model_validate_json(r["record"]) for r in rows]

    @classmethod
    def _wake(cls, conn: sqlite3.Connection, release_id: str, at: datetime) -> None:
        """Wake an active release at `at` (or earlier) and bump its version (store/base.py)."""
        row = conn.execute(
            "SELECT record FROM releases WHERE id = ? AND active = 1", (release_id,)
        ).fetchone()
        if row is None:
            return
        old = ReleaseRecord.model_validate_json(row["record"])
        wake = at if old.wake_at is None else min(old.wake_at, at)
        new = old.model_copy(update={"wake_at": wake, "version": old.version + 1})
        cls._overwrite_release(conn, new)

    def all_releases(self) -> list[ReleaseRecord]:
        rows = self._conn().execute("SELECT record FROM releases ORDER BY id")
        return [ReleaseRecord.model_validate_json(r["record"]) for r in rows]

    def update_release(self, record: ReleaseRecord) -> ReleaseRecord:
        new = record.model_copy(update={"version": record.version + 1})
        with self._write() as conn:
            if self._overwrite_release(conn, new, expected_version=record.version) == 1:
                return new
            row = conn.execute("SELECT version FROM releases WHERE id = ?", (record.id,)).fetchone()
        if row is None:
            raise KeyError(record.id)
        raise VersionConflict(
            f"release {record.id}: version {record.version}, stored {row['version']}"
        )

    # -- history ------------------------------------------------------------------------------
    def record_checks(self, checks: Sequence[Check]) -> None:
        if not checks:
            return
        ttl = self.check_ttl

        def rows() -> Iterator[tuple[str, str, str, str]]:
            # A generator, so serialising happens row by row inside the one transaction.
            for check in checks:
                yield (
                    check.release_id,
                    _ts(check.at),
                    _ts(check.at + ttl),
                    check.model_dump_json(),
                )

        newest = max(check.at for check in checks)
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO checks (release_id, at, expires_at, body) VALUES (?, ?, ?, ?)",
                rows(),
            )
            # The TTL, purged as we write: the newest check's time stands in for "now", so the
            # store never reads a wall clock of its own.
            conn.execute("DELETE FROM checks WHERE expires_at <= ?", (_ts(newest),))

    def checks(self, release_id: str, limit: int | None = None) -> list[Check]:
        conn = self._conn()
        if limit is not None:
            rows = conn.execute(
                "SELECT body FROM checks WHERE release_id = ? ORDER BY at DESC, seq DESC LIMIT ?",
                (release_id, limit),
            ).fetchall()
            rows.reverse()
        else:
            rows = conn.execute(
                "SELECT body FROM checks WHERE release_id = ? ORDER BY at, seq", (release_id,)
            ).fetchall()
        return [Check.model_validate_json(r["body"]) for r in rows]

    def add_event(self, event: Event) -> None:
        with self._write() as conn:
            self._insert_event(conn, event)
            if event.kind in WAKING_EVENTS:
                self._wake(conn, event.release_id, event.at)

    @staticmethod
    def _insert_event(conn: sqlite3.Connection, event: Event) -> None:
        conn.execute(
            "INSERT INTO events (release_id, at, kind, body) VALUES (?, ?, ?, ?)",
            (event.release_id, _ts(event.at), event.kind.value, event.model_dump_json()),
        )

    def events(self, release_id: str) -> list[Event]:
        rows = self._conn().execute(
            "SELECT body FROM events WHERE release_id = ? ORDER BY seq", (release_id,)
        )
        return [Event.model_validate_json(r["body"]) for r in rows]

    # -- deliveries ---------------------------------------------------------------------------
    def deliveries(self, release_id: str) -> list[Delivery]:
        rows = self._conn().execute(
            "SELECT * FROM deliveries WHERE release_id = ? ORDER BY rowid", (release_id,)
        )
        return [_delivery(r) for r in rows]

    def claim(
        self, notification: Notification, owner: str, now: datetime, lease: timedelta
    ) -> Delivery:
        params = {
            "key": notification.key,
            "release_id": notification.release_id,
            "owner": owner,
            "lease_until": _ts(now + lease),
            "now": _ts(now),
            "notification": notification.model_dump_json(),
        }
        with self._write() as conn:
            # fetchall: the statement must be finished before COMMIT.
            won = conn.execute(_CLAIM, params).fetchall()
            if won:
                return _delivery(won[0])
            row = conn.execute(
                "SELECT status FROM deliveries WHERE key = ?", (notification.key,)
            ).fetchone()
        raise AlreadyClaimed(f"{notification.key} is {row['status']}")

    def mark_sent(self, key: str, owner: str, now: datetime, provider_id: str | None) -> None:
        stamp = _ts(now)
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE deliveries SET status = 'sent', owner = ?, sent_at = ?, provider_id = ?,"
                " lease_until = NULL, updated_at = ?, receipt = NULL, delivered_at = NULL"
                " WHERE key = ?",
                (owner, stamp, provider_id, stamp, key),
            ).rowcount
        if changed == 0:
            raise KeyError(key)

    def mark_failed(
        self,
        key: str,
        owner: str,
        now: datetime,
        error: str,
        *,
        permanent: bool,
        retry_at: datetime | None = None,
    ) -> None:
        status = DeliveryStatus.FAILED if permanent else DeliveryStatus.RETRY
        next_at = None if permanent or retry_at is None else _ts(retry_at)
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE deliveries SET status = ?, owner = ?, error = ?, lease_until = NULL,"
                " updated_at = ?, next_attempt_at = ?"
                " WHERE key = ? AND status = 'claimed' AND owner = ?",
                (status.value, owner, error, _ts(now), next_at, key, owner),
            ).rowcount
            if changed == 0 and not self._has_delivery(conn, key):
                raise KeyError(key)

    def cancel(self, key: str, now: datetime, reason: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE deliveries SET status = 'cancelled', error = ?, lease_until = NULL,"
                " next_attempt_at = NULL, updated_at = ? WHERE key = ? AND status != 'sent'",
                (reason, _ts(now), key),
            )

    def record_receipt(
        self,
        key: str,
        provider_id: str,
        receipt: str,
        at: datetime,
        *,
        status: DeliveryStatus | None = None,
        error: str | None = None,
        retry_at: datetime | None = None,
    ) -> bool:
        stamp = _ts(at)
        delivered = stamp if receipt == "delivered" else None
        retry = _ts(retry_at) if retry_at is not None and status == DeliveryStatus.RETRY else None
        with self._write() as conn:
            changed = conn.execute(
                "UPDATE deliveries SET receipt = ?, updated_at = ?,"
                " delivered_at = COALESCE(?, delivered_at),"
                " status = COALESCE(?, status),"
                " error = CASE WHEN ? IS NULL THEN error ELSE ? END,"
                " next_attempt_at = CASE WHEN ? IS NULL THEN next_attempt_at ELSE ? END"
                " WHERE key = ? AND status = 'sent' AND provider_id = ?",
                (
                    receipt,
                    stamp,
                    delivered,
                    status.value if status is not None else None,
                    status.value if status is not None else None,
                    error,
                    status.value if status is not None else None,
                    retry,
                    key,
                    provider_id,
                ),
            ).rowcount
            if changed:
                release_id = conn.execute(
                    "SELECT release_id FROM deliveries WHERE key = ?", (key,)
                ).fetchone()["release_id"]
                self._wake(conn, release_id, at)
        return changed > 0

    def awaiting_receipt(self, sent_from: datetime, sent_until: datetime) -> list[Delivery]:
        # The literal conditions match the partial index deliveries_awaiting's WHERE.
        rows = self._conn().execute(
            "SELECT * FROM deliveries WHERE status = 'sent' AND provider_id IS NOT NULL"
            " AND delivered_at IS NULL AND sent_at >= ? AND sent_at <= ? ORDER BY sent_at, key",
            (_ts(sent_from), _ts(sent_until)),
        )
        return [_delivery(r) for r in rows]

    @staticmethod
    def _has_delivery(conn: sqlite3.Connection, key: str) -> bool:
        found = conn.execute("SELECT 1 FROM deliveries WHERE key = ?", (key,)).fetchone()
        return found is not None
