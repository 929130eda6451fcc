"""`releasewatch validate FILE`: every mistake with its location; exit 2 when invalid."""

from __future__ import annotations

import argparse
import sys

from ..config import load_config
from ..errors import ConfigError
from ..probe.rules import checks_status_only
from ..timefmt import uk_datetime


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help="check a config file and list every error")
    p.add_argument("file", help="the YAML config to check")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        count = len(exc.problems)
        print(f"{args.file}: {count} problem{'s' if count != 1 else ''}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    print(f"{args.file}: OK, {len(config.releases)} release(s)")
    for release in config.releases:
        flag = " (cancelled)" if release.cancelled else ""
        print(f"  {release.id}: due {uk_datetime(release.due)}, chain {release.chain.id}{flag}")
    for release in config.releases:
        if checks_status_only(release.rule):
            print(
                f"warning: release {release.id}: its live rule checks the status alone "
                f"(status_only: true), so an error or maintenance page served with status "
                f"{release.rule.status} would count as the publication; drop status_only to use "
                "the default content rule, or give contains/not_contains",
                file=sys.stderr,
            )
    return 0
