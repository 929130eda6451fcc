"""`releasewatch run --config FILE`: watch real releases until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sqlite3
import sys
from dataclasses import dataclass

from ..acks.by_reply import FileCursor, ReplyPoller, inbound_callback
from ..bootstrap import (
    EchoedNotifier,
    LocalPaths,
    build_watchdog,
    local_notifiers,
    notify_client,
    notify_notifiers,
    smtp_from_env,
)
from ..clock import Clock, SystemClock
from ..config.load import Config, load_config, with_stale_kept
from ..errors import ConfigError, StoreError
from ..local.loophealth import TickHealth
from ..local.printer import ConsolePrinter
from ..local.runner import install_signal_handlers, run_loop
from ..model import Channel
from ..notify.base import Notifier
from ..notify.console import ConsoleNotifier
from ..notify.govuk_notify import NotifyClient, NotifyKeyError
from ..notify.receipts import ReceiptPoller
from ..store.base import Store
from ..store.health import explain, open_checked
from ..web.local_server import DEFAULT_PORT, local_web
from ..web.notify_callbacks import NotifyCallbacks
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
    try:
        notify = _notify(config, clock)
    except ValueError as exc:  # refused before anything starts, not found in the first alert
        print(f"{args.config}: {exc}", file=sys.stderr)
        return 2
    try:  # a read-only, full, corrupt or foreign database: say so now, not on every tick
        store = open_checked(paths.db)
        config = with_stale_kept(config, lambda rid: store.get_release(rid) is not None)
        removed: list[str] = []
        if config.calendars and args.once:  # one tick: sync first, as `releasewatch sync`
            from .sync import sync_and_report

            if sync_and_report(config, store, paths.db, clock.now()) == 2:
                store.close()
                return 2
        elif config.calendars:  # watch at once: the sync runs beside the first ticks
            kept = _start_from_kept_imports(config, store, paths, clock)
            if kept is None:
                store.close()
                return 2
            removed = kept
        else:
            removed = store.apply_releases(config.releases, clock.now())
    except (StoreError, sqlite3.Error) as exc:
        print(f"releasewatch: {exc if isinstance(exc, StoreError) else explain(exc)}",
              file=sys.stderr)  # fmt: skip
        return 2
    health = TickHealth()
    printer = ConsolePrinter(quiet_checks=args.quiet_checks)
    callbacks = None
    if notify is not None and notify.callback_token is not None:
        callbacks = NotifyCallbacks(
            store,
            clock,
            notify.callback_token,
            max_attempts=config.max_attempts,
            inbound=inbound_callback if notify.replies else None,
        )
    web_stack = contextlib.ExitStack()
    web = web_stack.enter_context(
        local_web(
            store,
            clock,
            paths.db.parent,
            port=args.web_port,
            public_url=public_url,
            health=health,
            callbacks=callbacks,
        )
    )
    for note in web.notes:
        print(f"releasewatch: {note}")
    notifiers = local_notifiers(paths.outbox, smtp, local_mode=config.local_mode)
    if smtp is not None:  # show what was emailed, as SMS are shown (names, never addresses)
        notifiers["email"] = EchoedNotifier(notifiers["email"], ConsoleNotifier())
    if notify is not None:  # GOV.UK Notify: shown on the console as it sends
        for channel, notifier in notify.notifiers.items():
            notifiers[channel] = EchoedNotifier(notifier, ConsoleNotifier())
    from ..probe.http import HttpProber, ProbeSettings  # httpx loads only to run

    settings = ProbeSettings(
        host_rates=config.politeness.host_rates(), public_path=config.politeness.public_path
    )
    watchdog = build_watchdog(
        store,
        notifiers,
        clock,
        prober=HttpProber(clock, settings),
        links=web.links,
        observers=[printer],
        max_attempts=config.max_attempts,
    )
    if notify is not None and callbacks is None:  # no callbacks: read the receipts back
        watchdog.after_tick.append(ReceiptPoller(notify.client, max_attempts=config.max_attempts))
        if notify.replies:  # ...and the replies to alert texts, from where it got to
            cursor = FileCursor(paths.db.parent / "notify-received-texts.json")
            watchdog.after_tick.append(ReplyPoller(notify.client, cursor))
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
    if config.calendars:  # synced as the loop starts, then every sync_every while running
        from ..calendar.imports import imports_path
        from ..calendar.resync import Resync

        resync = Resync(config, store, imports_path(paths.db), health=health, announce_first=True)

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
                    gate=resync.gate if resync is not None else None,
                    sync_at_start=resync is not None,
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


def _start_from_kept_imports(
    config: Config, store: Store, paths: LocalPaths, clock: Clock
) -> list[str] | None:
    """Apply the hand-written releases and the calendars' last good imports, fetching nothing:
    a calendar that trickles or hangs (up to its 120 s deadline) must not hold up the first
    tick. The ids deactivated, or None (said on stderr) when the saved imports are damaged."""
    from ..calendar.imports import imports_path
    from ..calendar.sync import apply_kept

    try:
        plan = apply_kept(config, store, imports_path(paths.db), clock.now())
    except ValueError as exc:
        print(f"releasewatch: {exc}; nothing applied", file=sys.stderr)
        return None
    kept = sum(len(anns) for anns in plan.imports.sources.values())
    print(
        f"releasewatch: {len(config.calendars)} calendar source(s): watching their last good "
        f"import ({kept} announcement(s)) while they are read again beside the first ticks"
        if plan.imports.sources
        else f"releasewatch: {len(config.calendars)} calendar source(s): reading them beside "
        "the first ticks (never read before: their releases are watched once read)"
    )
    return plan.removed


@dataclass
class NotifySetup:
    notifiers: dict[Channel, Notifier]
    client: NotifyClient
    callback_token: bytes | None  # None: no callbacks; receipts are read back instead
    replies: bool  # alert texts end "Reply ACK <code>"; replies acknowledge


def _notify(config: Config, clock: Clock) -> NotifySetup | None:
    """The Notify channels, their key read from the variable notify.api_key_env names (and
    the callbacks' bearer token from notify.callback_token_env, when set)."""
    if config.notify is None:
        return None
    name = config.notify.api_key_env
    key = os.environ.get(name, "")
    if not key:
        raise ValueError(
            f"notify.api_key_env: the environment variable {name} is not set (it holds the "
            "GOV.UK Notify API key)"
        )
    token_name = config.notify.callback_token_env
    token = os.environ.get(token_name, "") if token_name else None
    if token_name and len(token or "") < 10:
        raise ValueError(
            f"notify.callback_token_env: the environment variable {token_name} is not set, or "
            "shorter than the 10 characters Notify requires of a callback token"
        )
    settings = config.notify.settings()
    try:
        client = notify_client(settings, key, clock)
    except NotifyKeyError as exc:
        raise ValueError(f"notify.api_key_env: the value of {name} {exc}") from None
    return NotifySetup(
        notifiers=notify_notifiers(client, settings, transport=config.transport),
        client=client,
        callback_token=token.encode() if token else None,
        replies=settings.replies,
    )
