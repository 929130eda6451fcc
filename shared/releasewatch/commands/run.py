"""`releasewatch run --config FILE`: watch real releases until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import sys

from ..bootstrap import (
    EchoedNotifier,
    LocalPaths,
    build_watchdog,
    local_notifiers,
    smtp_from_env,
)
from ..clock import SystemClock
from ..config import load_config
from ..errors import ConfigError, StoreError
from ..loophealth import TickHealth
from ..notify.console import ConsoleNotifier
from ..printer import ConsolePrinter
from ..runner import install_signal_handlers, run_loop
from ..store.health import explain, open_checked
from ..web.local_server import DEFAULT_PORT, local_web
from .sms_room import public_url_problem


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("run", help="watch the releases in a config file")
    p.add_argument("--config", required=True, help="the YAML config (see infra/)")
    p.add_argument(
        "--db",
        help="SQLite state file (default $RELEASEWATCH_DB or releasewatch-state/releasewatch.db)",
    )
    p.add_argument(
        "--smtp",
        metavar="HOST:PORT",
        help="send email through this SMTP server (default $RELEASEWATCH_SMTP_HOST; else console)",
    )
    p.add_argument("--once", action="store_true", help="run a single tick and exit")
    p.add_argument("--quiet-checks", action="store_true", help="print a check only when it changes")
    p.add_argument(
        "--web-port",
        type=int,
        default=DEFAULT_PORT,
        help=f"port for the dashboard and acknowledge links on 127.0.0.1 (default {DEFAULT_PORT})",
    )
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="base URL people reach the dashboard at, for links in messages (behind a reverse "
        "proxy); default $RELEASEWATCH_PUBLIC_URL, else the local address",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config, now=SystemClock().now())
        smtp = smtp_from_env(args.smtp)
    except ConfigError as exc:
        print(f"{args.config}: invalid, nothing applied:\n{exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"--smtp: {exc}", file=sys.stderr)
        return 2
    public_url = args.public_url or os.environ.get("RELEASEWATCH_PUBLIC_URL") or None
    if public_url is not None:
        problem = public_url_problem(public_url)
        if problem is not None:  # refused before anything starts, not found in the first SMS
            print(f"--public-url (or RELEASEWATCH_PUBLIC_URL): {problem}", file=sys.stderr)
            return 2
    for warning in config.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    from ..notify.chat import unset_webhook_envs

    for unset in unset_webhook_envs(config.contacts, os.environ):
        print(f"warning: {args.config}: {unset}", file=sys.stderr)
    paths = LocalPaths.from_db(args.db)
    clock = SystemClock()
    try:  # a read-only, full, corrupt or foreign database: say so now, not on every tick
        store = open_checked(paths.db)
        if config.calendars:  # sync on start: hand-written releases plus the calendars' ones
            from .sync import sync_and_report

            if sync_and_report(config, store, paths.db, clock.now()) == 2:
                store.close()
                return 2
            removed: list[str] = []
        else:
            removed = store.apply_releases(config.releases, clock.now())
    except (StoreError, sqlite3.Error) as exc:
        print(f"releasewatch: {exc if isinstance(exc, StoreError) else explain(exc)}",
              file=sys.stderr)  # fmt: skip
        return 2
    health = TickHealth()
    printer = ConsolePrinter(quiet_checks=args.quiet_checks)
    web_stack = contextlib.ExitStack()
    web = web_stack.enter_context(
        local_web(
            store, clock, paths.db.parent, port=args.web_port, public_url=public_url, health=health
        )
    )
    for note in web.notes:
        print(f"releasewatch: {note}")
    notifiers = local_notifiers(paths.outbox, smtp, local_mode=config.local_mode)
    if smtp is not None:  # show what was emailed, as SMS are shown (names, never addresses)
        notifiers["email"] = EchoedNotifier(notifiers["email"], ConsoleNotifier())
    watchdog = build_watchdog(
        store,
        notifiers,
        clock,
        links=web.links,
        observers=[printer],
        max_attempts=config.max_attempts,
    )
    print(
        f"releasewatch: watching {len(store.active_releases())} release(s) from {args.config}; "
        f"state in {paths.db}; SMS outbox in {paths.outbox}; dashboard at {web.base_url}/"
        + (
            f"; {len(removed)} release(s) no longer in the config were deactivated"
            if removed
            else ""
        )
    )

    resync = None
    if config.calendars:  # synced on start (above); again every sync_every while running
        from ..calendar.imports import imports_path
        from ..calendar.resync import Resync

        resync = Resync(config, store, imports_path(paths.db))

    async def main() -> None:
        stop = asyncio.Event()
        install_signal_handlers(stop)
        try:
            if args.once:
                await watchdog.tick()
            else:
                await run_loop(
                    watchdog,
                    stop=stop,
                    health=health,
                    resync=resync,
                    sync_every=config.sync_every,
                )
        finally:
            await watchdog.prober.aclose()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    except (StoreError, sqlite3.Error) as exc:  # --once: its one tick failed as a whole
        print(f"releasewatch: the tick failed: {explain(exc)}", file=sys.stderr)
        return 1
    finally:
        web_stack.close()
        store.close()
    print("releasewatch: stopped; state saved.")
    return 0
