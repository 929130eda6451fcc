"""The peak morning through the AWS poller (moto in process, the poller composed as
functions/poller/app.py composes it, with the simulated clock and the HTTP prober against the
loopback origins), and the whole year's monthly cost at list price (tools/aws_cost.py).

Three phases are measured on the busiest minute's releases, each an invocation a minute as
EventBridge Scheduler makes them, billed as bench_aws bills them (the work, measured, plus the
waits between re-polls, which the simulated clock skips but Lambda bills):
  watched  a week before due: what a release costs every minute just by being in the store
  ahead    inside the 24 h lookahead: a sparse probe every 15 minutes
  peak     from the pre-window to the last release finished (or an hour after due)
The month then = the fixed cost (template.yaml, an idle tick as aws_cost.CONSERVATIVE assumes)
+ every announced release watched all month (`watched`: the year's releases, as the whole
system keeps them months ahead) + each month's releases' lookahead probes and due mornings.
Invocations are made one after another by `invoke`; once the hot window is sharded across
concurrent invocations, this harness counts what the poller runs, unchanged.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tests.bench.bench_aws import REGION, TABLE, Usage, _meter, handler_env
from tools.aws_cost import CONSERVATIVE, TARGET_USD, fixed_monthly, inventory, total

from .clock import SimClock
from .local import definition
from .origins import Origins
from .year import Year

MINUTE = timedelta(minutes=1)
TICKS_PER_MONTH = 60 * 24 * 30
POLLER_GB = 0.5


@dataclass
class Phase:
    name: str
    releases: int
    usage: Usage = field(default_factory=Usage)
    durations_ms: list[float] = field(default_factory=list)
    probes: int = 0

    def per_release_usd(self) -> float:
        # less an idle tick's reads and writes a minute: the fixed cost counts those already
        return self.usage.cost(CONSERVATIVE) / max(1, self.releases)


@dataclass
class AwsPeak:
    phases: dict[str, Phase]
    watched: int  # releases the whole system keeps in the store at any moment
    releases_per_month: float
    wall_s: float = 0.0
    unfinished: int = 0

    def monthly(self) -> dict[str, float]:
        fixed, _ = total(fixed_monthly(inventory(), CONSERVATIVE))
        w, a, p = self.phases["watched"], self.phases["ahead"], self.phases["peak"]
        watched_per_minute = w.per_release_usd() / max(1, w.usage.invocations)
        return {
            "fixed (template, idle tick as assumed)": fixed,
            f"{self.watched:,} releases watched all month": watched_per_minute
            * self.watched
            * TICKS_PER_MONTH,
            f"{self.releases_per_month:,.0f} releases a month: lookahead probes": (
                a.per_release_usd() * self.releases_per_month
            ),
            f"{self.releases_per_month:,.0f} releases a month: their due mornings": (
                p.per_release_usd() * self.releases_per_month
            ),
        }

    def describe(self, year: Year, local: Any) -> str:
        lines = []
        for ph in self.phases.values():
            u = ph.usage
            d = sorted(ph.durations_ms) or [0.0]
            lines.append(
                f"  {ph.name}: {u.invocations} invocations over {ph.releases} releases, "
                f"{ph.probes:,} probes; duration median {d[len(d) // 2]:.0f} ms, max "
                f"{d[-1]:.0f} ms; {sum(u.calls.values()):,} AWS calls, ~{u.wru:,.0f} WRU, "
                f"~{u.rru:,.0f} RRU; {u.billed_s:,.0f} s billed at 512 MB; "
                f"${ph.per_release_usd():.5f} a release"
            )
        if self.unfinished:
            lines.append(f"  ({self.unfinished} peak releases still being watched at the end)")
        month = self.monthly()
        lines.append(
            "  a month at list price (eu-west-2, tools/aws_cost.py; SMS aside; the year's load):"
        )
        for item, usd in month.items():
            lines.append(f"    {item:<58} ${usd:8.2f}")
        whole = sum(month.values())
        verdict = "ok" if whole < 5 else "OVER THE $5 GOAL"
        lines.append(
            f"    {'whole system':<58} ${whole:8.2f}  (goal < $5: {verdict}; the fixed part's own "
            f"target ${TARGET_USD:.2f})"
        )
        lines.append(f"  ({self.wall_s:.0f} s real)")
        return "\n".join(lines)


def run_peak_on_aws(
    year: Year, *, budget: int = 100, after: timedelta = timedelta(hours=1), sample: int = 0
) -> AwsPeak:
    """The phases on the busiest minute's releases (`sample` > 0: only the first `sample` of
    them, each phase's cost then priced per release as it is)."""
    from moto import mock_aws

    from releasewatch.aws import clients
    from releasewatch.aws.poller import build_poller
    from releasewatch.aws.settings import PollerSettings
    from releasewatch.probe import HttpProber, ProbeSettings
    from releasewatch.store.dynamodb import DynamoDBStore
    from releasewatch.store.dynamodb_table import create_table, dynamodb_client

    started = time.perf_counter()
    peak = [r for r in year.releases if r.due == year.peak_due]
    peak = peak[:sample] if sample > 0 else peak
    # in process (mock_aws): moto server's HTTP would double the time of every call
    env = handler_env("", log_level="WARNING")
    for key in ("ACK_BASE_URL", "AWS_ENDPOINT_URL"):  # observed: no acknowledgement links
        env.pop(key, None)
    env = {k: v for k, v in env.items() if v}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    clock = SimClock(year.peak_due - timedelta(days=7))
    phases = {
        "watched": Phase("watched, a week ahead", len(peak)),
        "ahead": Phase("in the lookahead", len(peak)),
        "peak": Phase("the peak morning", len(peak)),
    }
    hooks = {name: _meter(phase.usage) for name, phase in phases.items()}
    # The table's creation and the releases' first writes are paid once, not every minute:
    # metered apart (and not reported), or they would be priced as 43,200 minutes' reads.
    setup = _meter(Phase("setup", len(peak)).usage)
    current = [setup]  # the phase being metered
    unfinished = 0
    try:
        with mock_aws():
            clients.reset()  # a session of its own, every client the poller makes on it
            # hooked before any client is made (a client copies the session's hooks)
            events = clients.session().get_component("event_emitter")
            events.register("provide-client-params", lambda **kw: current[0][0](**kw))
            events.register("after-call", lambda **kw: current[0][1](**kw))
            create_table(dynamodb_client(REGION), TABLE)
            clients.client("ses", region_name=REGION).verify_email_identity(
                EmailAddress=env["SENDER_EMAIL"]
            )
            with Origins(year.releases, clock, budget=budget) as origins:
                store = DynamoDBStore(TABLE)
                store.apply_releases(
                    [definition(r, origins.url(r), due=r.due) for r in peak], clock.now()
                )
                settings = PollerSettings.from_env(dict(os.environ))
                prober = HttpProber(clock, ProbeSettings(host_rates=Origins.RATES))
                poller = build_poller(settings, clock=clock, prober=prober, store=store)
                schedule = [
                    ("watched", year.peak_due - timedelta(days=7), 5),
                    ("ahead", year.peak_due - timedelta(hours=20), 15),
                    ("peak", year.peak_due - timedelta(minutes=16), int(after / MINUTE) + 16),
                ]
                for name, start, minutes in schedule:
                    phase = phases[name]
                    current[0] = hooks[name]
                    if name == "watched":
                        # The first tick after an import reads each new release once to
                        # schedule it (its wake time): paid once, not every minute.
                        current[0] = setup
                        invoke(poller, clock, start - MINUTE, Phase("setup", len(peak)))
                        current[0] = hooks[name]
                    for n in range(minutes):
                        invoke(poller, clock, start + n * MINUTE, phase)
                        if name == "peak" and not store.active_releases():
                            break
                unfinished = len(store.active_releases())
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    per_month = len(year.releases) / 12
    result = AwsPeak(phases, watched=len(year.releases), releases_per_month=per_month)
    result.unfinished = unfinished
    result.wall_s = time.perf_counter() - started
    return result


def invoke(poller: Any, clock: SimClock, when: datetime, phase: Phase) -> None:
    """One scheduled invocation at `when`, with Lambda's one-minute deadline."""
    clock.jump(when)
    deadline = when + MINUTE
    began = time.perf_counter()
    report = poller.run(lambda: int((deadline - clock.now()).total_seconds() * 1000))
    work = time.perf_counter() - began
    waited = (clock.now() - when).total_seconds()  # the re-polls' sleeps, skipped here
    phase.usage.invocations += 1
    phase.usage.billed_s += work + waited
    phase.durations_ms.append((work + waited) * 1000)
    phase.probes += report.checks
