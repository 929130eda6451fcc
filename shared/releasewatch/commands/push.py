"""`releasewatch push --config F --table T`: validate a config, then write its releases to the
DynamoDB table all-or-nothing (DynamoDBStore.apply_releases). Exit 2 when the config is
invalid (nothing written), 1 when the table refused the push, 0 when applied."""

from __future__ import annotations

import argparse
import sys

from ..clock import SystemClock
from ..config import load_config
from ..errors import ConfigError, StoreError


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
    try:
        config = load_config(args.config, now=SystemClock().now())
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
            f"NotifyTransport={config.transport}); see README, GOV.UK Notify",
            file=sys.stderr,
        )
    rotas = sorted(cid for cid, c in config.contacts.items() if c.rota is not None)
    if rotas:
        # Rotas run in local mode only for now: an expanded calendar could outgrow an item.
        print(
            f"{args.config}: contacts {', '.join(rotas)} are rotas, which work with `run` "
            "only for now; nothing pushed",
            file=sys.stderr,
        )
        return 2

    from botocore.exceptions import BotoCoreError, ClientError

    from ..store.dynamodb import DynamoDBStore, create_table, dynamodb_client

    try:
        client = dynamodb_client(args.region, args.endpoint_url)
        if args.create_table and args.table not in _table_names(client):
            create_table(client, args.table)
            print(f"created table {args.table}")
        store = DynamoDBStore(args.table, client=client)
        removed = store.apply_releases(config.releases, SystemClock().now())
    except (StoreError, ClientError, BotoCoreError) as exc:
        hint = "" if args.create_table else " (does the table exist? --create-table makes it)"
        print(f"push to {args.table} failed, nothing applied: {exc}{hint}", file=sys.stderr)
        return 1
    print(f"pushed {len(config.releases)} release(s) from {args.config} to {args.table}")
    for release_id in removed:
        print(f"  deactivated {release_id} (no longer in the config)")
    return 0


def _table_names(client: object) -> set[str]:
    names: set[str] = set()
    kwargs: dict[str, str] = {}
    while True:
        page = client.list_tables(**kwargs)  # type: ignore[attr-defined]
        names.update(page.get("TableNames", []))
        if "LastEvaluatedTableName" not in page:
            return names
        kwargs["ExclusiveStartTableName"] = page["LastEvaluatedTableName"]
