"""`releasewatch dashboard-link [--days 90] --table T`: print a signed link to the AWS dashboard.

On the public function URL the dashboard (names, and who was alerted when) opens only from such
a link. It is signed with the ack-link key in SSM (the stack's AckSecretParameterName), expires
after --days, and every link is revoked at once by rotating that key (which also voids the
acknowledge links already sent). The base URL is the stack's ApiUrl output: found from the
CloudFormation stack whose TableName output is --table, or given with --base-url.

Exit 0 with the link on stdout; 2 for bad arguments or a missing stack/key; 1 when AWS refuses.
"""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta
from typing import Any

from ..clock import SystemClock
from ..links.tokens import MIN_SECRET_BYTES, TokenCodec, issue_dashboard
from ..links.urls import dashboard_url
from ..timefmt import uk_datetime

DEFAULT_PARAMETER = "/releasewatch/ack-secret"  # the template's AckSecretParameterName default
MAX_DAYS = 366


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "dashboard-link", help="print a signed, expiring link to the dashboard on AWS"
    )
    p.add_argument("--days", type=int, default=90, help="days the link works (default 90)")
    p.add_argument("--table", help="the stack's TableName output (finds its ApiUrl)")
    p.add_argument("--region", help="AWS region (default: the AWS CLI's configuration)")
    p.add_argument("--base-url", help="the function URL (the stack's ApiUrl output)")
    p.add_argument(
        "--parameter",
        default=DEFAULT_PARAMETER,
        help=f"the SSM parameter holding the key (default {DEFAULT_PARAMETER})",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.days <= MAX_DAYS:
        print(f"--days must be 1..{MAX_DAYS}, not {args.days}", file=sys.stderr)
        return 2
    if not args.table and not args.base_url:
        print("give --table (the stack's TableName output) or --base-url", file=sys.stderr)
        return 2
    from botocore.exceptions import BotoCoreError, ClientError

    from ..aws import clients

    try:
        base_url = args.base_url or _api_url(
            clients.client("cloudformation", region_name=args.region), args
        )
        if base_url is None:
            print(
                f"no CloudFormation stack in this region has TableName {args.table!r} and an "
                "ApiUrl output: check --table and --region, or give --base-url",
                file=sys.stderr,
            )
            return 2
        ssm = clients.client("ssm", region_name=args.region)
        value = ssm.get_parameter(Name=args.parameter, WithDecryption=True)["Parameter"]["Value"]
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ParameterNotFound":
            print(
                f"the key {args.parameter} does not exist: create it as docs/aws.md says "
                "(the stack's AckSecretParameterName), or give --parameter",
                file=sys.stderr,
            )
            return 2
        print(f"AWS refused: {exc}", file=sys.stderr)
        return 1
    except BotoCoreError as exc:
        print(f"cannot reach AWS: {exc}", file=sys.stderr)
        return 1
    secret = str(value).encode()  # as the Lambdas read it (aws.secure_parameters.read_ack_secret)
    if len(secret) < MIN_SECRET_BYTES:
        print(f"the key {args.parameter} is shorter than {MIN_SECRET_BYTES} bytes", file=sys.stderr)
        return 2
    now = SystemClock().now()
    ttl = timedelta(days=args.days)
    try:
        url = dashboard_url(base_url, issue_dashboard(TokenCodec(secret), now, ttl))
    except ValueError as exc:
        print(f"--base-url: {exc}", file=sys.stderr)
        return 2
    print(url)
    print(
        f"valid until {uk_datetime(now + ttl)}; anyone with it can read the dashboard. Rotating "
        f"{args.parameter} revokes every dashboard link (and the acknowledge links already sent).",
        file=sys.stderr,
    )
    return 0


def _api_url(cloudformation: Any, args: argparse.Namespace) -> str | None:
    """The ApiUrl output of the stack whose TableName output is args.table."""
    for page in cloudformation.get_paginator("describe_stacks").paginate():
        for stack in page.get("Stacks", []):
            outputs = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs", [])}
            if outputs.get("TableName") == args.table and outputs.get("ApiUrl"):
                return str(outputs["ApiUrl"])
    return None
