"""The `releasewatch` command. Each subcommand lives in releasewatch/commands/<name>.py and
registers itself with `add_parser(subparsers)`."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from . import __version__

COMMANDS = (
    "run",
    "demo",
    "validate",
    "check",
    "report",
    "push",
    "status",
    "sync",
    "dashboard_link",
    "punctuality",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="releasewatch",
        description="Watchdog for pre-announced official statistics releases.",
    )
    parser.add_argument("--version", action="version", version=f"releasewatch {__version__}")
    parser.add_argument(
        "--log-level", default="WARNING", help="logging level for stderr (default WARNING)"
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        module = importlib.import_module(f"releasewatch.commands.{name}")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    code: int = args.func(args)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
