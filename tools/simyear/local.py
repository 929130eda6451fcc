"""The year through the local watchdog: the real Watchdog, policy and SQLite store, on the
simulated clock, with the calendar's announcements, moves and cancellations applied through
the Store API as a calendar sync applies them (the change's event first, then the releases).

- Releases are observed (no chain: judged and recorded, alerting nobody), as `organisations:
  all` imports them; every channel is a sink that counts what reaches it (it should be none).
- Each release is judged by the punctuality record (releasewatch.punctuality) when it is
  finished, while its checks are still in the store (they expire after 30 days): the verdict
  the record's feed and page give at the time.
- The store holds what a calendar would: each release from `announce_ahead` before its due
  time (or its move or cancellation notice, if earlier) until it is finished: live and watched
  for watch_after_live, cancelled, or, never found, `retire_after` past due. Today a tick
  reads and judges every active release, so holding the whole year at once would cost
  every tick that much; once ticks cost what is due, `--announce-ahead 400d` holds it all.
- Time jumps from one wake time to the next (the run loop's own `seconds_until_next`). In the
  peak window (30 s before the busiest minute to 90 s after it) it runs at real speed during
  each tick and every probe goes over HTTP to the loopback origins; the rest of the year is
  probed in process (FateProber).
"""

from __future__ import annotations

import asyncio
import heapq
import resource
import sys
import time
from asyncio import FIRST_COMPLETED
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import get_args

from releasewatch.calendar.changes import CANCELLED, MOVED, Change, to_record
from releasewatch.local.runner import PROBE_WAIT, seconds_until_next
from releasewatch.model import (
    Cadence,
    Channel,
    Check,
    LiveRule,
    Release,
    ReleaseRecord,
    ReleaseState,
)
from releasewatch.notify.base import Message
from releasewatch.probe import HttpProber, ProbeSettings
from releasewatch.probe.ons import ons_rule
from releasewatch.probe.rules import default_rule
from releasewatch.punctuality.verdicts import Judged, judge
from releasewatch.service import Watchdog, probe_due
from releasewatch.store.sqlite import SQLiteStore

from .clock import SimClock
from .origins import FateProber, Origins, OriginStats
from .year import Fate, SimRelease, Year


@dataclass
class Settings:
    db: Path
    network: str = "peak"  # "peak": HTTP on the peak morning only; "all": every probe
    announce_ahead: timedelta | None = None  # see calendar_ops
    retire_after: timedelta = timedelta(days=1)
    # The real-speed window around the busiest minute: ticks there run back to back, so it
    # costs its length in real time (the hot window before it is replayed like a quiet day).
    peak_before: timedelta = timedelta(seconds=30)
    peak_after: timedelta = timedelta(seconds=90)
    per_host_limit: int = 50
    # the prober's politeness budget per origin (requests a second), real time even where the
    # simulated clock stands still: None, the product's defaults for GOV.UK and ONS
    host_rates: dict[str, float] | None = None
    latency: float = 0.100
    budget: int = 100


@dataclass
class Result:
    ticks: int = 0
    checks: int = 0
    wall_s: float = 0.0
    peak_rss_mb: float = 0.0
    sent: int = 0  # messages that reached a channel: none, for observed releases
    verdicts: dict[str, Judged] = field(default_factory=dict)  # as judged when finished
    detection_s: dict[str, float] = field(default_factory=dict)  # peak: live to live check stored
    peak_ticks_s: list[float] = field(default_factory=list)  # real duration of peak ticks
    peak_probed: int = 0
    peak_wall_s: float = 0.0  # real time the peak window took
    requests_in_process: Counter[str] = field(default_factory=Counter)
    origins: dict[str, OriginStats] = field(default_factory=dict)
    budget: list[str] = field(default_factory=list)  # the prober's busiest minute per host
    errors: int = 0


class SinkNotifier:
    def __init__(self) -> None:
        self.sent = 0

    def send(self, message: Message) -> str:
        self.sent += 1
        return f"sink-{self.sent}"


class SwitchProber:
    """HTTP on the loopback origins while `http` is set, in process otherwise."""

    def __init__(self, http: HttpProber, fate: FateProber) -> None:
        self.http_prober, self.fate, self.http = http, fate, False

    async def probe(self, release: Release) -> Check:
        return await (self.http_prober if self.http else self.fate).probe(release)

    async def probe_many(self, releases: Sequence[Release]) -> list[Check]:
        return await (self.http_prober if self.http else self.fate).probe_many(releases)

    async def aclose(self) -> None:
        await self.http_prober.aclose()


def definition(sim: SimRelease, url: str, *, due: datetime, cancelled: bool = False) -> Release:
    """The release as a calendar import makes it: the ONS rule on the ONS-like host (its
    pages answer 200 before they are published), the default content rule on GOV.UK's."""
    rule = ons_rule(sim.title) if sim.host == "ons" else default_rule(sim.title, LiveRule())
    return Release(
        id=sim.id,
        title=sim.title,
        url=url,
        due=due,
        producer=sim.producer,
        rule=rule,
        chain=None,  # observed
        contacts={},
        cancelled=cancelled,
        allow_loopback=True,
    )


# What the calendar does, in time order: (when, order, kind, release index).
ANNOUNCE, CHANGE = 0, 1
LOOKAHEAD, PRE_WINDOW = Cadence().lookahead, timedelta(minutes=15)  # Release's defaults


def calendar_ops(year: Year, ahead: timedelta | None) -> list[tuple[datetime, int, int, int]]:
    """Each release's announcement (into the store) and change (move, cancellation), in time
    order. `ahead`: how long before due a release is announced; None (the default) holds it
    from just before its pre-window, and a release whose page goes live early, or whose
    calendar changes, a full lookahead ahead (or an hour before the change): a release that
    can only be seen "not live yet" by its sparse lookahead probes skips them, which saves
    two thirds of the year's checks and changes no verdict (their cost on AWS is counted in
    aws.py all the same)."""
    ops = []
    for i, sim in enumerate(year.releases):
        if ahead is not None:
            first = sim.announced_due - ahead
        elif sim.fate is Fate.EARLY or sim.notice_at is not None:
            first = sim.announced_due - LOOKAHEAD - timedelta(minutes=1)
        else:
            first = sim.announced_due - PRE_WINDOW - timedelta(minutes=1)
        if sim.notice_at is not None:
            first = min(first, sim.notice_at - timedelta(hours=1))
            ops.append((sim.notice_at, CHANGE, CHANGE, i))
        ops.append((first, ANNOUNCE, ANNOUNCE, i))
    heapq.heapify(ops)
    return ops


def finished(
    record: ReleaseRecord, sim: SimRelease, now: datetime, retire_after: timedelta
) -> bool:
    if record.release.stopped:
        return True
    if record.state.is_live:
        return record.next_check_at is None
    return sim.live_at is None and now >= sim.due + retire_after


def needs_tick(record: ReleaseRecord, now: datetime) -> bool:
    """On a quiet tick: the releases to probe, and those the calendar has just stopped."""
    stopping = record.release.stopped and record.state is not ReleaseState.CANCELLED
    return stopping or probe_due(record, now)


def max_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024 if sys.platform != "darwin" else kb / (1024 * 1024)


class CachingStore(SQLiteStore):
    """The SQLite store, but while `cache` is set, active_releases parses a record only when
    its version changed (every write bumps it). Off the peak only: it keeps a year's quiet
    days from costing minutes of JSON parsing; the peak morning reads as the product does."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.cache = False
        self._parsed: dict[str, tuple[int, ReleaseRecord]] = {}

    def active_releases(self) -> list[ReleaseRecord]:
        if not self.cache:
            return super().active_releases()
        rows = self._conn().execute(
            "SELECT id, version, record FROM releases WHERE active = 1 ORDER BY id"
        )
        out = []
        for row in rows:
            hit = self._parsed.get(row["id"])
            if hit is None or hit[0] != row["version"]:
                hit = (row["version"], ReleaseRecord.model_validate_json(row["record"]))
                self._parsed[row["id"]] = hit
            out.append(hit[1])
        return out


async def replay(year: Year, settings: Settings, *, progress: bool = False) -> Result:
    """The year, tick by tick. In the peak window (from the pre-window before the busiest
    minute to `peak_after` past it) every probe goes over HTTP, the clock runs at real speed
    through each tick and every tick judges every active release, as `releasewatch run` does.
    Elsewhere the clock stands still during a tick (a quiet tick takes no simulated time),
    probes are answered in process, and a tick judges only the releases it probes
    (Watchdog.tick's `only`, as the Lambda's re-polls do): a release's state then changes at
    its next probe, at most one cadence step later, which no verdict depends on."""
    started = time.perf_counter()
    result = Result()
    ops = calendar_ops(year, settings.announce_ahead)
    clock = SimClock(ops[0][0])
    by_id = {r.id: r for r in year.releases}
    peak_from = year.peak_due - settings.peak_before
    peak_to = year.peak_due + settings.peak_after
    with Origins(year.releases, clock, latency=settings.latency, budget=settings.budget) as origins:
        store = CachingStore(settings.db)
        probe_settings = ProbeSettings(
            per_host_limit=settings.per_host_limit, host_rates=settings.host_rates or Origins.RATES
        )
        http = HttpProber(clock, probe_settings)
        fate = FateProber(clock, by_id)
        prober = SwitchProber(http, fate)
        sink = SinkNotifier()
        dog = Watchdog(store, prober, dict.fromkeys(get_args(Channel), sink), clock)
        dog.probe_wait = PROBE_WAIT  # as run_loop sets it
        # When each release's first live check was stored: a tick stores each check as its
        # probe ends, so the tick's end would overstate the detection of those early in it.
        live_stored: dict[str, datetime] = {}

        def on_check(what: str, payload: object) -> None:
            if what == "check" and isinstance(payload, Check) and payload.live:
                live_stored.setdefault(payload.release_id, clock.now())

        dog.observers.append(on_check)
        active: dict[str, Release] = {}
        seen_live: set[str] = set()
        month, retired_slot = None, None
        try:
            while ops or active:
                now = clock.now()
                _apply_calendar(ops, now, year, origins, store, active)
                in_peak = peak_from <= now <= peak_to
                prober.http = settings.network == "all" or in_peak
                store.cache = not in_peak
                if active:
                    tick_started = time.perf_counter()
                    if in_peak:
                        with clock.running():
                            report = await dog.tick()
                    else:
                        report = await dog.tick(only=partial(needs_tick, now=now))
                    took = time.perf_counter() - tick_started
                    result.ticks += 1
                    result.checks += report.probed
                    result.errors += len(report.errors)
                    if in_peak:
                        result.peak_wall_s += took
                        result.peak_ticks_s.append(took)
                        result.peak_probed += report.probed
                    recorded = clock.now()
                    for check in report.checks:
                        sim = by_id[check.release_id]
                        if check.live and check.release_id not in seen_live:
                            seen_live.add(check.release_id)
                            if in_peak and sim.live_at is not None and sim.live_at >= peak_from:
                                stored = live_stored.get(check.release_id, recorded)
                                lag = (stored - sim.live_at).total_seconds()
                                result.detection_s[sim.id] = lag
                    slot = int(recorded.timestamp() // 900)
                    if slot != retired_slot:  # every quarter of an hour is soon enough
                        retired_slot = slot
                        _retire(store, active, by_id, recorded, settings, result.verdicts)
                if progress and now.month != month:
                    month = now.month
                    print(
                        f"    {now:%Y-%m}: {result.ticks:,} ticks, {result.checks:,} checks, "
                        f"{time.perf_counter() - started:.0f} s",
                        flush=True,
                    )
                wake = _next_wake(dog, clock, ops, active)
                if wake is None:
                    break
                probes = dog.inflight_tasks()
                if probes and in_peak:
                    # As run_loop: a probe that outlived its tick wakes the loop when it ends;
                    # meanwhile time runs (the probes are under way), it does not jump.
                    with clock.running():
                        wait = max(0.0, (wake - clock.now()).total_seconds())
                        await asyncio.wait(probes, timeout=wait, return_when=FIRST_COMPLETED)
                    continue
                clock.jump(wake)
        finally:
            await prober.aclose()
            store.close()
        result.origins = origins.collect()
    result.requests_in_process = fate.requests
    result.budget = http.budget.describe()
    result.sent = sink.sent
    result.wall_s = time.perf_counter() - started
    result.peak_rss_mb = max_rss_mb()
    return result


def _apply_calendar(
    ops: list[tuple[datetime, int, int, int]],
    now: datetime,
    year: Year,
    origins: Origins,
    store: CachingStore,
    active: dict[str, Release],
) -> None:
    """Apply every calendar operation due by `now`: the changes' events first, then the
    releases as they now stand (as calendar.sync.apply_plan does)."""
    changed = False
    while ops and ops[0][0] <= now:
        _, kind, _, i = heapq.heappop(ops)
        sim = year.releases[i]
        url = origins.url(sim)
        if kind == ANNOUNCE:
            # announced as first announced, unless its change is already public
            told = sim.notice_at is not None and sim.notice_at <= now
            due = sim.due if told else sim.announced_due
            cancelled = told and sim.fate is Fate.CANCELLED
            active[sim.id] = definition(sim, url, due=due, cancelled=cancelled)
        else:
            if sim.id not in active:
                continue
            old = active[sim.id].due
            cancel = sim.fate is Fate.CANCELLED
            change = Change(sim.id, CANCELLED if cancel else MOVED, old, sim.due)
            event = to_record(change, store.events(sim.id), now)
            if event is not None:
                store.add_event(event)
            active[sim.id] = definition(sim, url, due=sim.due, cancelled=cancel)
        changed = True
    if changed:
        store.apply_releases(list(active.values()), now)


def _retire(
    store: CachingStore,
    active: dict[str, Release],
    by_id: dict[str, SimRelease],
    now: datetime,
    settings: Settings,
    verdicts: dict[str, Judged],
) -> None:
    """Take the finished releases out of the calendar, each judged first."""
    # (the watchdog deactivates a release itself once it has watched it live long enough)
    stored = {r.id: r for r in store.active_releases()}
    done = []
    for rid in active:
        record = stored.get(rid) or store.get_release(rid)
        if (
            record is None
            or rid not in stored
            or finished(record, by_id[rid], now, settings.retire_after)
        ):
            done.append(rid)
            if record is not None:
                verdicts[rid] = judge(record, store.checks(rid), store.events(rid), now)
    if done:
        for rid in done:
            del active[rid]
        store.apply_releases(list(active.values()), now)


def _next_wake(
    dog: Watchdog,
    clock: SimClock,
    ops: list[tuple[datetime, int, int, int]],
    active: dict[str, Release],
) -> datetime | None:
    now = clock.now()
    candidates = []
    if ops:
        candidates.append(ops[0][0])
    if active:
        delay = seconds_until_next(dog, now, timedelta(hours=6))
        candidates.append(now + timedelta(seconds=delay))
        # the first look at a release, a lookahead before due (the run loop wakes every
        # minute and would find it then; this loop sleeps for hours)
        firsts = [r.due - r.cadence.lookahead for r in active.values()]
        candidates.extend(t for t in firsts if t > now)
    return min(candidates) if candidates else None
