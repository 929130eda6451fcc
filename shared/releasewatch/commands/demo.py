"""`releasewatch demo` (what `make run` does with no config): the incident in about a minute."""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from ..bootstrap import build_watchdog, local_notifiers
from ..clock import ScaledClock
from ..errors import StoreError
from ..local.demo import (
    ACK_AT,
    ACK_CONTACT,
    DEMO_DUE,
    LIVE_AT,
    SPEED,
    demo_config,
    demo_site,
    demo_window,
    latest_ack_link,
    press,
)
from ..local.printer import ConsolePrinter
from ..local.runner import install_signal_handlers, run_loop
from ..model import DeliveryStatus, EventKind, ReleaseState
from ..report.build import build_report
from ..report.render import render_docx, render_markdown, render_text
from ..service import TickReport
from ..store.health import open_checked
from ..timefmt import uk_datetime, uk_time
from ..web.local_server import local_web


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
    try:
        store = open_checked(state_dir / "demo.db")
    except StoreError as exc:
        print(f"releasewatch demo: {exc}", file=sys.stderr)
        return 2
    outbox = state_dir / "outbox"
    print(
        f"releasewatch demo: a release due {uk_datetime(DEMO_DUE)} that goes live only at "
        f"{uk_time(LIVE_AT)}.\nSimulated time runs {args.speed:g}x faster; state in {state_dir}."
    )
    with demo_site(clock) as base_url, local_web(store, clock, state_dir, port=0) as web:
        print(f"Dashboard and acknowledge links: {web.base_url}/\n")
        config = demo_config(base_url)
        store.apply_releases(config.releases, clock.now())
        release_id = config.releases[0].id
        watchdog = build_watchdog(
            store,
            local_notifiers(outbox),
            clock,
            links=web.links,
            observers=[ConsolePrinter()],
            lease=timedelta(minutes=10),
        )
        acked = False

        def acknowledge_once() -> None:
            nonlocal acked
            if acked or clock.now() < ACK_AT:
                return
            paged = any(
                e.kind == EventKind.NOTIFICATION_SENT
                and e.contact_id == ACK_CONTACT
                and e.detail.get("channel") == "sms"
                and e.at >= ACK_AT
                for e in store.events(release_id)
            )
            if not paged:
                return
            link = latest_ack_link(outbox)
            if link is None:
                return
            acked = True
            now = uk_time(clock.now())
            status, title = press(link, "GET")
            print(
                f"{now:>9}  ** the on-call web publisher opens the link in their SMS: "
                f"GET {status} '{title}' (a confirmation page; nothing recorded yet)"
            )
            status, title = press(link, "POST")
            print(f"{now:>9}  ** ... and presses the button: POST {status} '{title}'")
            status, title = press(link, "POST")
            print(f"{now:>9}  ** pressing it again is refused: POST {status} '{title}'")

        def finished(report: TickReport) -> bool:
            acknowledge_once()
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
    print(render_text(build_report(store, release_id)))  # the terminal: names, no addresses
    # Both files from one report, so they name the same people with the same details, as the
    # line below announces.
    report = build_report(store, release_id, contact_details=True)
    (state_dir / f"breach-report-{release_id}.md").write_text(render_markdown(report))
    docx = state_dir / f"breach-report-{release_id}.docx"
    docx.write_bytes(render_docx(report))
    print(f"The same draft as Markdown and Word (with contact details): {docx.with_suffix('.*')}")
    store.close()
    return 0
