"""`releasewatch status --table T` (DynamoDB) or `--db PATH` (SQLite): every release, its
state and what its last check saw, then the calendar announcements not watched because they
have no exact time yet (provisional, from the last sync's imports: beside the database
locally, in the table on AWS). No contact details are printed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import datetime

from ..calendar.imports import ImportsKeeper
from ..clock import SystemClock
from ..errors import StoreError
from ..local.printer import for_terminal
from ..model import ReleaseRecord
from ..store.base import Store
from ..timefmt import uk_datetime
from ..web.views.load import state_words
from ..web.views.words import check_verdict


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("status", help="list releases and their states")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--table", help="a DynamoDB table (the stack's TableName output)")
    where.add_argument("--db", help="a SQLite state file (default: the local one)")
    p.add_argument("--region", help="AWS region for --table")
    p.add_argument("--endpoint-url", help="a DynamoDB endpoint (DynamoDB Local, moto)")
    p.add_argument("--all", action="store_true", help="include inactive (finished) releases")
    p.set_defaults(func=run)


def open_store(args: argparse.Namespace) -> Store:
    if args.table:
        from ..store.dynamodb import DynamoDBStore
        from ..store.dynamodb_table import dynamodb_client

        return DynamoDBStore(args.table, client=dynamodb_client(args.region, args.endpoint_url))
    from ..bootstrap import LocalPaths
    from ..store.health import open_checked

    return open_checked(LocalPaths.from_db(args.db).db, write=False)


def run(args: argparse.Namespace) -> int:
    try:
        store = open_store(args)
    except (StoreError, OSError) as exc:
        print(f"cannot open the store: {exc}", file=sys.stderr)
        return 2
    try:
        records = store.all_releases() if args.all else store.active_releases()
        if not records:
            print("no releases" + ("" if args.all else " active (--all shows finished ones)"))
        else:
            _table(release_rows(store, records, SystemClock().now()))
        return _provisional(_imports(args, store))
    except Exception as exc:  # StoreError, or botocore's credential/endpoint errors
        print(f"cannot read the releases: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()


def release_rows(
    store: Store, records: Sequence[ReleaseRecord], now: datetime
) -> list[tuple[str, str, str, str]]:
    """The table's rows, heading first, in due order; states in the board's words."""
    ordered = sorted(records, key=lambda r: (r.release.due, r.id))
    rows = [("RELEASE", "DUE (UK)", "STATE", "LAST CHECK")]
    return rows + [_row(r, state_words(store, r, now)) for r in ordered]


def _table(rows: list[tuple[str, str, str, str]]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:3])) + "  " + row[3])


def _imports(args: argparse.Namespace, store: Store) -> ImportsKeeper:
    """Where the last sync kept its imports: the table on AWS, a file beside the database."""
    if args.table:
        from ..aws.blobs import Documents
        from ..aws.calendar_state import TableImports
        from ..clock import SystemClock
        from ..store.dynamodb import DynamoDBStore

        assert isinstance(store, DynamoDBStore)
        return TableImports(Documents(store.client, store.table_name), SystemClock())
    from ..bootstrap import LocalPaths
    from ..calendar.imports import FileImports, imports_path

    return FileImports(imports_path(LocalPaths.from_db(args.db).db))


def _provisional(keeper: ImportsKeeper) -> int:
    """The imported announcements with no exact time yet: listed, not watched."""
    from ..calendar.announcement import AnnState

    try:
        imports = keeper.load()
    except ValueError as exc:
        print(f"cannot read the calendar imports: {exc}", file=sys.stderr)
        return 1
    rows = [
        (
            for_terminal(a.title),
            for_terminal(a.display_date or "-"),
            "provisional",
            for_terminal(label),
        )
        for label, anns in sorted(imports.sources.items())
        for a in anns
        if a.state is AnnState.PROVISIONAL
    ]
    if rows:
        print("\nNot watched until they have an exact time (provisional, from the calendars):")
        _table([("ANNOUNCEMENT", "WHEN", "STATE", "SOURCE"), *rows])
    return 0


def _row(record: ReleaseRecord, state: str) -> tuple[str, str, str, str]:
    state += "" if record.active else " (no longer watched)"
    state += "; observed, no one alerted" if record.release.observed else ""
    check = record.last_check
    seen = "-" if check is None else f"{uk_datetime(check.at)}: {check_verdict(check)}"
    return for_terminal(record.id), uk_datetime(record.release.due), state, for_terminal(seen)
