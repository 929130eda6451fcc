"""`releasewatch punctuality --out DIR`: the punctuality record as static files, publishable as
they are (S3, GitHub Pages): index.html and its other pages (relative links), punctuality.csv,
producers.csv, punctuality.json (with its JSON Schema beside it) and late-and-early.atom."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from ..clock import SystemClock
from ..errors import StoreError
from ..punctuality.gather import gather
from ..punctuality.summary import Period
from .status import open_store


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "punctuality",
        help="write the punctuality record (page, CSV, JSON, Atom) as static files",
    )
    p.add_argument("--out", required=True, metavar="DIR", help="the folder to write (created)")
    p.add_argument("--from", dest="start", type=_day, metavar="DATE",
                   help="first due date included, like 2025-04-01 (UK day)")  # fmt: skip
    p.add_argument("--to", dest="end", type=_day, metavar="DATE",
                   help="last due date included, like 2026-03-31 (UK day)")  # fmt: skip
    where = p.add_mutually_exclusive_group()
    where.add_argument("--table", help="a DynamoDB table (the stack's TableName output)")
    where.add_argument("--db", help="a SQLite state file (default: the local one)")
    p.add_argument("--region", help="AWS region for --table")
    p.add_argument("--endpoint-url", help="a DynamoDB endpoint (DynamoDB Local, moto)")
    p.set_defaults(func=run)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2025-07-17, not {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from ..web.punctuality_files import static_site

    if args.start and args.end and args.start > args.end:
        print(f"punctuality: --from {args.start} is after --to {args.end}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"punctuality: --out {out} is a file, not a folder", file=sys.stderr)
        return 2
    if not args.table:
        from ..bootstrap import LocalPaths

        db = LocalPaths.from_db(args.db).db
        if not db.exists():  # an empty record published as if nothing had been watched
            print(f"punctuality: no database at {db} (give --db)", file=sys.stderr)
            return 2
    try:
        store = open_store(args)
    except (StoreError, OSError) as exc:
        print(f"punctuality: cannot open the store: {exc}", file=sys.stderr)
        return 2
    now = SystemClock().now()
    try:
        judged = gather(store, now)
    except Exception as exc:  # StoreError, or botocore's credential/endpoint errors
        print(f"punctuality: cannot read the releases: {type(exc).__name__}: {exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    finally:
        close = getattr(store, "close", None)
        if callable(close):
            close()
    files = static_site(judged, Period(args.start, args.end), now)
    for name, text in files.items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    print(f"punctuality: wrote {len(files)} files for {len(judged)} releases to {out}/ "
          f"(open {out / 'index.html'})", file=sys.stderr)  # fmt: skip
    return 0
