"""`releasewatch validate FILE`: every mistake with its location; exit 2 when invalid."""

from __future__ import annotations

import argparse
import sys

from ..clock import SystemClock
from ..config.load import load_config
from ..errors import ConfigError
from ..timefmt import uk_datetime


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help="check a config file and list every error")
    p.add_argument("file", help="the YAML config to check")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..readiness.rota_fetch import fetch_rota

    try:
        # An iCal rota given by URL is fetched (guarded), as push will: validate before push.
        config = load_config(args.file, now=SystemClock().now(), fetch=fetch_rota)
    except ConfigError as exc:
        count = len(exc.problems)
        print(f"{args.file}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    summary = f"{args.file}: OK, {len(config.releases)} release(s)"
    if config.calendars:  # their releases are known only once read: say how many will be
        count = len(config.calendars)
        summary += (
            f" written in the file, and {count} calendar source{'s' if count != 1 else ''} "
            "to read (sync and run read them; their releases are not counted here)"
        )
    print(summary)
    for spec in config.calendars:
        print(f"  calendar {spec.label}")
    for warning in config.warnings:
        print(f"  warning: {warning}")
    for release in config.releases:
        flag = " (cancelled)" if release.cancelled else ""
        chain = release.chain_id or "none (observed: nobody is alerted)"
        print(f"  {release.id}: due {uk_datetime(release.due)}, chain {chain}{flag}")
    return 0
