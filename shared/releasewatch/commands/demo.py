"""`releasewatch demo` (what `make run` does with no config): the incident in about a minute."""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from ..bootstrap import build_watchdog, local_notifiers
from ..clock import ScaledClock
from ..demo import DEMO_DUE, LIVE_AT, SPEED, demo_config, demo_site, demo_window
from ..model import DeliveryStatus, ReleaseState
from ..printer import ConsolePrinter
from ..report import build_report_text
from ..runner import install_signal_handlers, run_loop
from ..service import TickReport
from ..store.sqlite import SQLiteStore
from ..timefmt import uk_datetime, uk_time


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="replay the 09:30-release-live-at-12:00 incident locally")
    p.add_argument("--speed", type=float, default=SPEED, help=f"time factor (default {SPEED:g})")
    p.add_argument("--state-dir", help="keep the demo's SQLite state and outbox here")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    state_dir = (
        Path(args.state_dir) if args.state_dir else Path(tempfile.mkdtemp(prefix="rw-demo-"))
    )
    start, end = demo_window()
    clock = ScaledClock(start, args.speed)
    store = SQLiteStore(state_dir / "demo.db")
    print(
        f"releasewatch demo: a release due {uk_datetime(DEMO_DUE)} that goes live only at "
        f"{uk_time(LIVE_AT)}.\nSimulated time runs {args.speed:g}x faster; state in {state_dir}.\n"
    )
    with demo_site(clock) as base_url:
        config = demo_config(base_url)
        store.apply_releases(config.releases, clock.now())
        release_id = config.releases[0].id
        watchdog = build_watchdog(
            store,
            local_notifiers(state_dir / "outbox"),
            clock,
            observers=[ConsolePrinter()],
            lease=timedelta(minutes=10),
        )

        def finished(report: TickReport) -> bool:
            record = store.get_release(release_id)
            if record is None or clock.now() > end + timedelta(minutes=30):
                return False
            pending = [
                d
                for d in store.deliveries(release_id)
                if d.status in (DeliveryStatus.CLAIMED, DeliveryStatus.RETRY)
            ]
            return not (
                record.state == ReleaseState.LIVE_LATE and not pending and report.sent == []
            )

        async def main() -> None:
            stop = asyncio.Event()
            install_signal_handlers(stop)
            try:
                await run_loop(watchdog, stop=stop, ceiling=timedelta(seconds=20), on_tick=finished)
            finally:
                await watchdog.prober.aclose()

        began = time.monotonic()
        asyncio.run(main())
    print(f"\n--- finished in {time.monotonic() - began:.0f} s of real time ---\n")
    print(build_report_text(store, release_id))
    store.close()
    return 0
