"""`releasewatch push --config F --table T`: validate a config, then write its releases to the
DynamoDB table all-or-nothing (DynamoDBStore.apply_releases). Exit 2 when the config is
invalid (nothing written), 1 when the table refused the push, 0 when applied.

The config itself is kept in the table too (aws/pushed_config.py) with the files it names, for
the scheduled calendar sync. With `calendars:`, the releases written are the hand-written ones
plus those last imported from the calendars (the sync's, kept in the table), so a push never
drops what a sync imported; the next sync imports the calendars afresh. Rotas (weekly, or iCal
from a file or a URL read through the calendar fetcher's guard) are stored with the releases
that name them, and the sync re-reads an iCal rota given by URL.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ..clock import SystemClock
from ..config.load import load_config, with_stale_kept
from ..errors import ConfigError, StoreError

if TYPE_CHECKING:
    from ..aws.blobs import Documents
    from ..config.load import Config
    from ..model import Release
    from ..store.base import Store


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("push", help="validate a config and write it to the DynamoDB table")
    p.add_argument("--config", required=True, help="the YAML config to push")
    p.add_argument("--table", required=True, help="the table (the stack's TableName output)")
    p.add_argument("--region", help="AWS region (default: the AWS CLI's configuration)")
    p.add_argument("--endpoint-url", help="a DynamoDB endpoint (DynamoDB Local, moto)")
    p.add_argument(
        "--create-table", action="store_true", help="create the table first if it is missing"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..readiness.rota_fetch import fetch_rota

    try:
        config = load_config(args.config, now=SystemClock().now(), fetch=fetch_rota)
        from ..aws.pushed_config import bundle

        pushed = bundle(Path(args.config), config)
    except ConfigError as exc:
        count = len(exc.problems)
        print(
            f"{args.config}: {count} problem{'s' if count != 1 else ''}, nothing pushed",
            file=sys.stderr,
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2

    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if config.notify is not None:
        # The notify: block configures `run`; on AWS the stack's parameters do the same.
        print(
            "note: this config sends through GOV.UK Notify; on AWS that needs the stack's "
            "NotifyApiKeyParameterName, NotifyEmailTemplateId and NotifySmsTemplateId (and "
            f"NotifyTransport={config.transport}); see docs/channels.md, GOV.UK Notify",
            file=sys.stderr,
        )
    from botocore.exceptions import BotoCoreError, ClientError

    from ..aws import pushed_config
    from ..aws.blobs import Documents
    from ..store.dynamodb import DynamoDBStore
    from ..store.dynamodb_table import create_table, dynamodb_client

    now = SystemClock().now()
    try:
        client = dynamodb_client(args.region, args.endpoint_url)
        if args.create_table and args.table not in _table_names(client):
            create_table(client, args.table)
            print(f"created table {args.table}")
        store = DynamoDBStore(args.table, client=client)
        documents = Documents(client, args.table)
        known = with_stale_kept(config, lambda rid: store.get_release(rid) is not None)
        releases = _with_last_imports(known, store, documents, now)
        removed = store.apply_releases(releases, now)
    except (StoreError, ClientError, BotoCoreError, ValueError) as exc:
        hint = "" if args.create_table else " (does the table exist? --create-table makes it)"
        print(f"push to {args.table} failed, nothing applied: {exc}{hint}", file=sys.stderr)
        return 1
    try:
        pushed_config.save(documents, pushed, now)
    except (StoreError, ClientError, BotoCoreError) as exc:
        print(
            f"push to {args.table}: the releases were applied, but the config for the calendar "
            f"sync was not stored: {exc}; push again",
            file=sys.stderr,
        )
        return 1
    imported = len(releases) - len(config.releases)
    print(
        f"pushed {len(config.releases)} release(s) from {args.config} to {args.table}"
        + (f", and kept {imported} imported from its calendars" if imported else "")
    )
    if config.calendars:
        print(
            "  its calendars are imported by the stack's sync function (every 6 hours by "
            "default, and at 08:00 UK time on weekdays); to import them now: aws lambda "
            "invoke --function-name <SyncFunctionName output> out.json"
        )
    for release_id in removed:
        print(f"  deactivated {release_id} (no longer in the config)")
    return 0


def _with_last_imports(
    config: Config, store: Store, documents: Documents, now: datetime
) -> list[Release]:
    """The config's releases plus those its calendars imported last time (no fetching: every
    source counts as not fetched, so plan_sync keeps its last good import)."""
    if not config.calendars:
        return list(config.releases)
    from ..aws.calendar_state import TableImports
    from ..calendar.sync import plan_sync, stored_records
    from ..clock import FixedClock

    previous = TableImports(documents, FixedClock(now)).load()
    return plan_sync(config, {}, previous, stored_records(store), now).releases


def _table_names(client: object) -> set[str]:
    names: set[str] = set()
    kwargs: dict[str, str] = {}
    while True:
        page = client.list_tables(**kwargs)  # type: ignore[attr-defined]
        names.update(page.get("TableNames", []))
        if "LastEvaluatedTableName" not in page:
            return names
        kwargs["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]
