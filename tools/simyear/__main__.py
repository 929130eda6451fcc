"""`python -m tools.simyear`: generate the year, replay it through the local watchdog into a
SQLite store, then the peak morning through the AWS poller on moto in process, and print the
figures (nothing is asserted). `make year` runs it; `make year YEAR_ARGS="--scale 0.1"` a
smaller one."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .year import Year

ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m tools.simyear", description=__doc__)
    p.add_argument(
        "--scale", type=float, default=1.0, help="a fraction of the year's releases and peak (1)"
    )
    p.add_argument(
        "--days",
        type=int,
        default=365,
        help="days simulated, around the peak day, with their share of the releases (365)",
    )
    p.add_argument(
        "--releases", type=int, help="releases in all (default 300 + 2900 x days/365, x scale)"
    )
    p.add_argument("--peak", type=int, help="releases due in the busiest minute (300 x scale)")
    p.add_argument("--seed", type=int, default=2027)
    p.add_argument("--out", type=Path, default=ROOT / "build" / "year", help="where the store goes")
    p.add_argument(
        "--network",
        choices=("peak", "all"),
        default="peak",
        help="probe over HTTP on the peak morning only (default), or always",
    )
    p.add_argument(
        "--announce-ahead",
        type=float,
        default=None,
        help="days each release is held before due (default: see local.calendar_ops)",
    )
    p.add_argument("--budget", type=int, default=100, help="origin requests a second before 429")
    p.add_argument(
        "--aws-sample",
        type=int,
        default=30,
        help="of the peak minute's releases, how many go through the AWS poller (30; 0: all). "
        "moto answers a DynamoDB call in ~20 ms, so all 300 would take ~20 minutes; the cost "
        "is priced per release",
    )
    p.add_argument("--skip-local", action="store_true", help="only the AWS peak morning")
    p.add_argument("--skip-aws", action="store_true", help="only the local replay")
    args = p.parse_args(argv)
    if not 0 < args.scale <= 10 or not 1 <= args.days <= 365:
        p.error("--scale must be above 0 (at most 10) and --days from 1 to 365")
    if args.peak is None:
        args.peak = max(1, round(300 * args.scale))
    if args.releases is None:
        # the peak minute, and the rest of the year's 2,900 in the days' share
        args.releases = args.peak + round(2900 * args.scale * args.days / 365)
    if args.releases < args.peak:
        p.error(f"--releases ({args.releases}) must be at least --peak ({args.peak})")
    return args


def main(argv: list[str] | None = None) -> None:
    sys.path.insert(0, str(ROOT))
    from .aws import run_peak_on_aws
    from .local import Settings, replay
    from .report import print_aws, print_local
    from .verdicts import compare
    from .year import PEAK_DAY, YEAR, generate, summary

    args = parse_args(argv)
    first = max(date(YEAR, 1, 1), PEAK_DAY - timedelta(days=args.days // 2))
    last = min(date(YEAR, 12, 31), first + timedelta(days=args.days - 1))
    year = generate(args.releases, peak=args.peak, seed=args.seed, start=first, end=last)
    print("== simulated year (tools/simyear/year.py states the assumptions) ==")
    print(summary(year))
    result = None
    if not args.skip_local:
        args.out.mkdir(parents=True, exist_ok=True)
        db = args.out / "year.db"
        db.unlink(missing_ok=True)
        ahead = None if args.announce_ahead is None else timedelta(days=args.announce_ahead)
        settings = Settings(db=db, network=args.network, announce_ahead=ahead, budget=args.budget)
        print(f"== local watchdog: the year into {db} ==", flush=True)
        result = asyncio.run(replay(year, settings, progress=True))
        print_local(year, result, compare(year, result.verdicts))
        punctuality(db, args.out / "punctuality", year)
    if not args.skip_aws:
        print("== AWS poller on moto (in process): the peak minute's releases ==", flush=True)
        aws = run_peak_on_aws(year, budget=args.budget, sample=args.aws_sample)
        print_aws(year, aws, result)


def punctuality(db: Path, out: Path, year: Year) -> None:
    """The punctuality record as `releasewatch punctuality --db DB --out DIR` writes it, but as
    of the simulated year's end (the command judges as of the real clock)."""
    from releasewatch.punctuality.gather import gather
    from releasewatch.punctuality.summary import Period
    from releasewatch.store.sqlite import SQLiteStore
    from releasewatch.web.punctuality_files import static_site

    end = max(r.due for r in year.releases) + timedelta(days=1)
    with SQLiteStore(db) as store:
        judged = gather(store, end)
    for name, text in static_site(judged, Period(), end).items():
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    counts = Counter(j.verdict.value for j in judged)
    print(
        f"  the punctuality record at the year's end, as {out}/index.html and punctuality.csv "
        "show it: " + ", ".join(f"{k} {v}" for k, v in counts.most_common())
    )


if __name__ == "__main__":
    main()
