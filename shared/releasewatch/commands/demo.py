"""`releasewatch demo` (what `make run` does with no config): the incident in about a minute."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import sys
import tempfile
import threading
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
    p.add_argument(
        "--state-dir",
        help="keep the demo's SQLite state, outbox and breach report drafts here (without it "
        "they are in a temporary folder, removed when the demo ends)",
    )
    p.add_argument(
        "--keep-serving",
        action="store_true",
        help="after the demo, keep its board up (at the address it prints) until Ctrl-C",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.state_dir:
        return _demo(args, Path(args.state_dir), temporary=False)
    state_dir = Path(tempfile.mkdtemp(prefix="rw-demo-"))
    try:
        return _demo(args, state_dir, temporary=True)
    finally:  # nothing left behind in the temp directory, however the demo ends
        shutil.rmtree(state_dir, ignore_errors=True)


def _demo(args: argparse.Namespace, state_dir: Path, *, temporary: bool) -> int:
    start, end = demo_window()
    clock = ScaledClock(start, args.speed)
    try:
        store = open_checked(state_dir / "demo.db")
    except StoreError as exc:
        print(f"releasewatch demo: {exc}", file=sys.stderr)
        return 2
    outbox = state_dir / "outbox"
    kept = " (a temporary folder, removed at the end)" if temporary else ""
    print(
        f"releasewatch demo: a release due {uk_datetime(DEMO_DUE)} that goes live only at "
        f"{uk_time(LIVE_AT)}.\nSimulated time runs {args.speed:g}x faster; state in "
        f"{state_dir}{kept}."
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
            # What the person sees: each page's heading, not the HTTP exchange behind it.
            _, title = press(link, "GET")
            print(
                f"{now:>9}  ** the on-call web publisher opens the link in their SMS: a page "
                f"asks '{title}' (nothing is recorded until they press the button)"
            )
            _, title = press(link, "POST")
            print(f"{now:>9}  ** ... they press the button: the page says '{title}'")
            _, title = press(link, "POST")
            print(
                f"{now:>9}  ** pressing it again is refused (a link works once): the page "
                f"says '{title}'"
            )

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
        # Both files from one report, so they name the same people with the same details, as
        # the line below announces.
        report = build_report(store, release_id, contact_details=True)
        (state_dir / f"breach-report-{release_id}.md").write_text(render_markdown(report))
        docx = state_dir / f"breach-report-{release_id}.docx"
        docx.write_bytes(render_docx(report))
        print(
            f"The same draft as Markdown and Word (with contact details): {docx.with_suffix('.*')}"
        )
        if temporary:
            print("  (removed with the demo's folder when it ends: --state-dir DIR keeps them)")
        if args.keep_serving:
            clock.real_speed()  # the board's ages and 'late' then read as they would
            print(
                f"\nThe board stays up at {web.base_url}/ (the release's page has the breach "
                "report drafts) until you press Ctrl-C.",
                flush=True,
            )
            _wait_for_ctrl_c()
            print("Stopped.")
        else:
            print(
                f"\nThe board ({web.base_url}/) closes with the demo. To look at it after the "
                "demo, run it with --keep-serving (make run KEEP=1): it then stays up until "
                "you press Ctrl-C."
            )
    store.close()
    return 0


def _wait_for_ctrl_c() -> None:
    """Block until Ctrl-C (SIGINT) or SIGTERM, then return, so the folder is cleaned up."""
    stop = threading.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in signals}
    try:
        while not stop.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
