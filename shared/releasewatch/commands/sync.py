"""`releasewatch sync --config FILE [--dry-run] [--db PATH]`: import the config's calendars.

Fetches every source in `calendars:`, prints what it would add, move, cancel or leave alone,
and (without --dry-run) applies it to the local store. A source that fails keeps its last good
import. Exit 0 when every source was read, 1 when one failed (the rest still applied), 2 when
the config or the state is unusable (nothing applied).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
from datetime import datetime
from pathlib import Path

from ..bootstrap import LocalPaths
from ..clock import SystemClock
from ..config import Config, load_config
from ..errors import ConfigError, StoreError
from ..store.base import Store
from ..store.health import explain, open_checked


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("sync", help="import the release calendars named in a config")
    p.add_argument("--config", required=True, help="the YAML config with a calendars: list")
    p.add_argument("--dry-run", action="store_true", help="show the changes; write nothing")
    p.add_argument(
        "--db",
        help="SQLite state file (default $RELEASEWATCH_DB or releasewatch-state/releasewatch.db)",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    clock = SystemClock()
    try:
        config = load_config(args.config, now=clock.now())
    except ConfigError as exc:
        print(f"{args.config}: invalid, nothing synced:\n{exc}", file=sys.stderr)
        return 2
    if not config.calendars:
        print(f"{args.config}: no calendars: to sync", file=sys.stderr)
        return 2
    paths = LocalPaths.from_db(args.db)
    try:
        store = open_checked(paths.db)
    except (StoreError, sqlite3.Error) as exc:
        print(f"releasewatch: {exc if isinstance(exc, StoreError) else explain(exc)}",
              file=sys.stderr)  # fmt: skip
        return 2
    try:
        return sync_and_report(config, store, paths.db, clock.now(), dry_run=args.dry_run)
    finally:
        store.close()


def sync_and_report(
    config: Config, store: Store, db: Path, now: datetime, *, dry_run: bool = False
) -> int:
    """Sync (or plan only), print the table and the outcome; the exit code. Used by `run`."""
    from ..calendar.announcement import FeedError, Parsed
    from ..calendar.fetch import FeedFetcher
    from ..calendar.imports import Imports, imports_path
    from ..calendar.sync import apply_plan, fetch_sources, plan_sync, render, stored_records

    imports_file = imports_path(db)
    try:
        previous = Imports.load(imports_file)
    except ValueError as exc:
        print(f"releasewatch sync: {exc}; nothing synced", file=sys.stderr)
        return 2

    async def fetch_all() -> dict[str, Parsed | FeedError]:
        fetcher = FeedFetcher(local_mode=config.local_mode)
        try:
            return await fetch_sources(config, fetcher, now)
        finally:
            await fetcher.aclose()

    results = asyncio.run(fetch_all())
    plan = plan_sync(config, results, previous, stored_records(store), now)
    for text in render(plan):
        print(text)
    for label, why in plan.failures.items():
        kept = len(plan.imports.sources.get(label, []))
        print(
            f"source {label} failed: {why}; its last good import ({kept} announcement(s)) is "
            "kept and nothing of it is deleted",
            file=sys.stderr,
        )
    counts = ", ".join(f"{n} {k}" for k, n in sorted(plan.counts.items())) or "nothing"
    if dry_run:
        print(f"dry run: {counts}; nothing written")
    else:
        try:
            removed = apply_plan(plan, store, imports_path(db), now)
        except (StoreError, sqlite3.Error, OSError) as exc:
            shown = exc if not isinstance(exc, sqlite3.Error) else explain(exc)
            print(f"releasewatch sync: not applied: {shown}", file=sys.stderr)
            return 2
        print(f"synced: {counts}" + ("" if plan.changed else " (the store already matched)"))
        for rid in removed:
            print(f"  deactivated {rid} (no longer in the config or its calendars)")
    return 1 if plan.failures else 0
