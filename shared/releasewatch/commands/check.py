"""`releasewatch check URL`: probe one page once and show what the poller would see.

Exit statuses (EXIT_STATUSES, also in --help), so a script can tell "not live" from "could not
check": 0 live, 1 not live (the page answered and failed the rule), 2 bad input (an invalid
rule or a URL the guard refuses), 3 could not check (no answer to judge: the name did not
resolve, the connection was refused or timed out, a server error, too many redirects).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import timedelta

import httpx
from pydantic import ValidationError

from ..clock import SystemClock
from ..errors import ProbeRefused
from ..local.printer import for_terminal
from ..model import Chain, Check, Contact, LiveRule, Release, Step
from ..probe.http import HttpProber, ProbeSettings
from ..probe.netguard import check_url
from ..probe.rules import checks_status_only, default_rule

LIVE, NOT_LIVE, BAD_INPUT, COULD_NOT_CHECK = 0, 1, 2, 3
EXIT_STATUSES = """\
exit status:
  0  live: the page answered and passed the rule
  1  not live: the page answered and did not pass the rule
  2  bad input: an invalid option or rule, or a URL that may not be checked
  3  could not check: no answer to judge (the name did not resolve, the connection was
     refused or timed out, a server error, too many redirects); try again later"""

_CLI_CONTACT = Contact(id="cli", name="releasewatch check", email="cli@example.com")
_CLI_CHAIN = Chain(id="cli", steps=(Step(after=timedelta(0), notify=("cli",)),))


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check",
        help="probe one page once and show what the poller would see",
        description="Probe one page once and show what the poller would see.",
        epilog=EXIT_STATUSES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("url", help="the release page (https; http only with --allow-loopback)")
    p.add_argument(
        "--contains", action="append", default=[], metavar="TEXT", help="text that must appear"
    )
    p.add_argument(
        "--not-contains",
        action="append",
        default=[],
        metavar="TEXT",
        help="text that must not appear (e.g. the announcement wording)",
    )
    p.add_argument(
        "--title",
        metavar="TEXT",
        help="the release's title: with no other text or URL check, judge the page by the "
        "watchdog's default content rule (the title shown, no GOV.UK error or announcement "
        "wording)",
    )
    p.add_argument("--status", type=int, default=200, help="expected status (default 200)")
    p.add_argument("--final-url", metavar="REGEX", help="pattern the final URL must match")
    p.add_argument("--govuk", action="store_true", help="decide from the GOV.UK Content API")
    p.add_argument(
        "--allow-loopback", action="store_true", help="permit http://127.0.0.1 (local testing)"
    )
    p.add_argument(
        "--no-cache-bust", action="store_true", help="send no cache-busting query parameter"
    )
    p.add_argument("--timeout", type=float, default=None, help="total timeout in seconds")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        release = build_release(args)
        _check_target(release)
        settings = ProbeSettings() if args.timeout is None else _with_timeout(args.timeout)
    except (ValidationError, ValueError, ProbeRefused, httpx.InvalidURL) as exc:
        print(f"releasewatch check: {for_terminal(_first_line(exc))}", file=sys.stderr)
        return BAD_INPUT
    if checks_status_only(release.rule):
        print(
            "releasewatch check: note: only the status is checked, so an error or maintenance "
            "page served with it would pass; give --title (the watchdog's default content rule) "
            "or --contains/--not-contains",
            file=sys.stderr,
        )
    check = asyncio.run(probe_once(release, settings))
    print(render(check))
    if check.error == "refused":
        return BAD_INPUT
    if check.error is not None:  # an error is never a verdict on the page
        return COULD_NOT_CHECK
    return LIVE if check.live else NOT_LIVE


def _check_target(release: Release) -> None:
    """The prober's own URL check; a refusal that --allow-loopback would lift says so."""
    url = httpx.URL(release.url)
    try:
        check_url(url, allow_loopback=release.allow_loopback)
    except ProbeRefused as exc:
        if release.allow_loopback:
            raise
        try:
            check_url(url, allow_loopback=True)
        except ProbeRefused:
            raise exc from None
        raise ProbeRefused(
            f"{exc} (add --allow-loopback to probe a page on this machine, for local testing)"
        ) from None


def build_release(args: argparse.Namespace) -> Release:
    """A one-off release: only a probe target, so its chain and contact are placeholders."""
    rule = LiveRule(
        status=args.status,
        contains=tuple(args.contains),
        not_contains=tuple(args.not_contains),
        final_url=args.final_url,
        govuk=args.govuk,
    )
    title = getattr(args, "title", None)
    if title:
        rule = default_rule(title, rule, args.url)
    extra: dict[str, object] = {"cache_bust_param": None} if args.no_cache_bust else {}
    return Release.model_validate(
        {
            "id": "cli-check",
            "title": title or args.url,
            "url": args.url,
            "due": SystemClock().now(),
            "rule": rule,
            "chain": _CLI_CHAIN,
            "contacts": {"cli": _CLI_CONTACT},
            "allow_loopback": args.allow_loopback,
            **extra,
        }
    )


async def probe_once(release: Release, settings: ProbeSettings) -> Check:
    prober = HttpProber(SystemClock(), settings)
    try:
        # Clients first (TLS contexts, pools: tens of ms), so `elapsed` is the request's time.
        await prober.warm_up(release)
        return await prober.probe(release)
    finally:
        await prober.aclose()


def render(check: Check) -> str:
    verdict = "LIVE" if check.live else "NOT LIVE"
    if check.error:  # no answer to judge: not a verdict on the page (exit status 3)
        verdict = f"COULD NOT CHECK (error: {check.error})"
    hops = [f"  {n}. {for_terminal(url)}" for n, url in enumerate(check.redirects, 1)]
    hops = hops or ["  (none)"]
    rows = [
        ("requested", check.url),
        ("status", _show(check.status)),
        ("final URL", _show(check.final_url)),
        ("judged", _show(check.judged_url)),
    ]
    lines = [f"{label:<14}{for_terminal(value)}" for label, value in rows]
    lines += ["redirects", *hops]
    rows = [
        ("age", _show(check.age)),
        ("cache-control", _show(check.cache_control)),
        ("x-cache", _show(check.x_cache)),
        ("elapsed", f"{check.elapsed_ms:.0f} ms"),
    ]
    if check.published_at is not None:
        rows.append(("published", check.published_at.isoformat()))
    if check.public is not None:  # the rows above are the origin's (cache-busted) answer
        rows.append(("public path", check.public.summary()))
    rows += [("verdict", verdict), ("why", check.reason)]
    # Everything here may come from the server: no control character reaches the terminal.
    lines += [f"{label:<14}{for_terminal(value)}" for label, value in rows]
    return "\n".join(lines)


def _with_timeout(total: float) -> ProbeSettings:
    return ProbeSettings(
        connect_timeout=min(5.0, total), read_timeout=min(10.0, total), total_timeout=total
    )


def _show(value: object) -> str:
    return "-" if value is None else str(value)


def _first_line(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        return f"{where}: {err['msg']}" if where else str(err["msg"])
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
