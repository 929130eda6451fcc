"""`releasewatch report RELEASE_ID`: the breach report draft for a release, from the store."""

from __future__ import annotations

import argparse
import sys
from datetime import datetime, timedelta
from pathlib import Path

from ..bootstrap import LocalPaths
from ..clock import SystemClock
from ..errors import StoreError
from ..report.build import BreachReport, build_report
from ..report.render import FORMATS, render
from ..store.health import open_checked
from ..timefmt import delay_text, uk_datetime, uk_datetime_seconds


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "report", help="draft the breach report (Code of Practice, orderly release) for a release"
    )
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
    try:
        # As status does: a file that is not a database, or a corrupt one, is said plainly.
        store = open_checked(paths.db, write=False)
    except (StoreError, OSError) as exc:
        print(f"report: cannot open the store: {exc}", file=sys.stderr)
        return 2
    now = SystemClock().now()
    try:
        try:
            report = build_report(store, args.release_id, now, contact_details=args.with_contacts)
        except KeyError:
            known = ", ".join(sorted(r.id for r in store.all_releases())) or "none"
            print(f"report: no release {args.release_id!r} in {paths.db} (known: {known})",
                  file=sys.stderr)  # fmt: skip
            return 2
        record = store.get_release(args.release_id)
        grace = record.release.grace if record is not None else None
        nothing = _no_breach(report, now, grace)
        if nothing is not None:
            # Never a blank breach form for a release that kept its time: say so, exit 1.
            print(f"report: {nothing}", file=sys.stderr)
            return 1
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


def _no_breach(report: BreachReport, now: datetime, grace: timedelta | None) -> str | None:
    """Why there is no breach to report for `report`'s release, or None if there is one."""
    within = f" (within its {delay_text(grace)} grace)" if grace else ""
    if report.breach == "none" and report.live_at is not None:
        return (
            f"{report.release_id} was released on time: due {uk_datetime(report.due)}, "
            f"confirmed live {uk_datetime_seconds(report.live_at)}{within}. "
            "There is no breach to report."
        )
    if report.breach == "not live yet" and now < report.due + (grace or timedelta(0)):
        return (
            f"{report.release_id} is not due until {uk_datetime(report.due)}; "
            "there is no breach to report (yet)."
        )
    return None
