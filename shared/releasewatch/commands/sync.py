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
from typing import TYPE_CHECKING

from ..bootstrap import LocalPaths
from ..clock import SystemClock
from ..config.load import Config, load_config, with_stale_kept
from ..errors import ConfigError, StoreError
from ..store.base import Store
from ..timefmt import uk_datetime

if TYPE_CHECKING:
    from ..calendar.sync import Plan
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
        config = with_stale_kept(config, lambda rid: store.get_release(rid) is not None)
        return sync_and_report(config, store, paths.db, clock.now(), dry_run=args.dry_run)
    finally:
        store.close()


def sync_and_report(
    config: Config, store: Store, db: Path, now: datetime, *, dry_run: bool = False
) -> int:
    """Sync (or plan only), print the table and the outcome; the exit code. Used by `run`."""
    from ..calendar.fetch import FeedFetcher
    from ..calendar.imports import imports_path
    from ..calendar.sync import render, sync_once

    async def plan_and_apply() -> Plan:
        fetcher = FeedFetcher(local_mode=config.local_mode)
        try:
            return await sync_once(config, store, imports_path(db), fetcher, now, dry_run=dry_run)
        finally:
            await fetcher.aclose()

    try:
        plan = asyncio.run(plan_and_apply())
    except ValueError as exc:  # the saved imports are damaged
        print(f"releasewatch sync: {exc}; nothing synced", file=sys.stderr)
        return 2
    except (StoreError, sqlite3.Error, OSError) as exc:
        shown = exc if not isinstance(exc, sqlite3.Error) else explain(exc)
        print(f"releasewatch sync: not applied: {shown}", file=sys.stderr)
        return 2
    if plan.lines:  # no table of nothing: the lines below say why there is none
        for text in render(plan):
            print(text)
    for label, why in plan.failures.items():
        print(f"source {label} failed: {why}; {_kept(plan, label)}", file=sys.stderr)
    for warning in plan.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if plan.failures and len(plan.failures) == len(config.calendars):
        # On stderr, with the reasons above: the terminal, even when stdout goes to a file.
        print(
            f"releasewatch sync: nothing could be read: all {len(config.calendars)} calendar "
            "source(s) failed (the reasons are above); check the addresses in calendars: and "
            "the network, then sync again",
            file=sys.stderr,
        )
    counts = ", ".join(f"{n} {k}" for k, n in sorted(plan.counts.items())) or "nothing"
    if dry_run:
        print(f"dry run: {counts}; nothing written")
    else:
        print(f"synced: {counts}" + ("" if plan.changed else " (the store already matched)"))
        for rid in plan.removed:
            print(f"  deactivated {rid} (no longer in the config or its calendars)")
        told = len(plan.changes)
        if told:
            print(f"  {told} change(s) to tell the statistics team and head of profession")
    return 1 if plan.failures else 0


def _kept(plan: Plan, label: str) -> str:
    """What stands of a failed source: its last good import, or (a first sync) nothing."""
    if label not in plan.imports.sources:
        return "it has never been read, so none of its releases are watched yet"
    kept = len(plan.imports.sources[label])
    when = uk_datetime(plan.imports.at[label])
    return (
        f"its last good import ({kept} announcement(s)) is kept and nothing of it is deleted "
        f"(read {when})"
    )
