"""`releasewatch report RELEASE_ID`: the breach report draft for a release, from the store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..bootstrap import LocalPaths
from ..clock import SystemClock
from ..report import FORMATS, build_report, render
from ..store.sqlite import SQLiteStore


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="draft the breach report (T3.6) for a release")
    p.add_argument("release_id", metavar="RELEASE_ID")
    p.add_argument(
        "--db",
        help="SQLite state file (default $RELEASEWATCH_DB or releasewatch-state/releasewatch.db)",
    )
    p.add_argument("--format", choices=FORMATS, default="md", help="md (default), txt or docx")
    p.add_argument(
        "--output",
        "-o",
        help="write here (default: stdout; for docx, breach-report-<RELEASE_ID>.docx)",
    )
    p.add_argument(
        "--with-contacts",
        action="store_true",
        help="fill in contact details (email, phone) of the people named",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    paths = LocalPaths.from_db(args.db)
    if not paths.db.exists():
        print(f"report: no database at {paths.db} (give --db)", file=sys.stderr)
        return 2
    store = SQLiteStore(paths.db)
    try:
        try:
            report = build_report(
                store, args.release_id, SystemClock().now(), contact_details=args.with_contacts
            )
        except KeyError:
            known = ", ".join(sorted(r.id for r in store.all_releases())) or "none"
            print(f"report: no release {args.release_id!r} in {paths.db} (known: {known})",
                  file=sys.stderr)  # fmt: skip
            return 2
        data = render(report, args.format)
    finally:
        store.close()
    output = args.output
    if output is None and args.format == "docx":
        output = f"breach-report-{args.release_id}.docx"
    if output is None:
        sys.stdout.write(data.decode())
        return 0
    Path(output).write_bytes(data)
    print(f"report: wrote {output}", file=sys.stderr)
    return 0
