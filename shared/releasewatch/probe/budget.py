"""The politeness budget: requests per second to each host, across every release probed.

GOV.UK and ONS are shared public services; a watchdog of the whole statistical system sends
hundreds of releases' probes to one host in its busiest minute. Each host (its `www.` dropped:
gov.uk and www.gov.uk are one service) gets evenly spaced request slots at its rate, handed out
in the order asked, so a burst is spread rather than refused. Every request counts: the origin
path (cache-busted), the public path, the Content API, the search API.

A 429 from a host pauses that host for its Retry-After (at most MAX_PAUSE; PAUSE_WITHOUT_HEADER
when it gives none): requests asked for meanwhile are not sent, and the probe says why.

Counts are kept per host and second for the last COUNT_WINDOW, so a report can print the
requests per second the busiest minute cost each host. Time comes from the injected monotonic
clock and sleep (tests run a burst on virtual time).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

# Requests per second by default: GOV.UK's CDN and content store take millions of requests an
# hour, ONS's site far fewer; both are conservative, and a config can set others (or more).
DEFAULT_RATES: Mapping[str, float] = {"gov.uk": 50.0, "ons.gov.uk": 10.0}
MAX_PAUSE = timedelta(minutes=2)  # a host's Retry-After is honoured up to this
PAUSE_WITHOUT_HEADER = timedelta(seconds=10)
COUNT_WINDOW = 3600  # seconds of per-second counts kept for the busiest-minute figure


def site_of(host: str) -> str:
    """The budget's key for a host: lower case, no trailing dot, no `www.`."""
    return host.lower().rstrip(".").removeprefix("www.")


class HostPaused(Exception):
    """The host asked us to wait (429 Retry-After): the request was not sent."""

    def __init__(self, host: str, remaining: float) -> None:
        super().__init__(
            f"{host} asked for a pause (status 429); {remaining:.0f}s of it left, not requested"
        )
        self.host = host
        self.remaining = remaining


@dataclass(frozen=True, slots=True)
class BusiestMinute:
    host: str
    requests: int  # in the busiest 60 s window counted

    @property
    def per_second(self) -> float:
        return self.requests / 60


class HostBudget:
    """Spaces requests to each host at its rate; see the module docstring.

    `rates` maps a host (any form: www. and case are dropped) to requests per second; a host
    not named is not limited. `monotonic` and `sleep` are the time source (injected in tests).
    """

    def __init__(
        self,
        rates: Mapping[str, float] | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        chosen = DEFAULT_RATES if rates is None else rates
        for host, rate in chosen.items():
            if not rate > 0:
                raise ValueError(f"requests per second for {host} must be positive, not {rate}")
        self.rates = {site_of(h): float(r) for h, r in chosen.items()}
        self._now = monotonic
        self._sleep = sleep
        self._next_slot: dict[str, float] = {}
        self._paused_until: dict[str, float] = {}
        self._counts: defaultdict[str, dict[int, int]] = defaultdict(dict)

    async def take(self, host: str, before_wait: Callable[[float], None] | None = None) -> float:
        """Wait for `host`'s next slot and count the request; the seconds waited.
        `before_wait` hears of a wait before it starts (a probe moves its deadline).

        Raises HostPaused (counting nothing) while the host's Retry-After runs."""
        site = site_of(host)
        now = self._now()
        paused = self._paused_until.get(site, 0.0)
        if now < paused:
            raise HostPaused(site, paused - now)
        rate = self.rates.get(site)
        slot = now
        if rate is not None:
            # Slots are handed out in order, one every 1/rate s: a burst queues, never bunches.
            slot = max(now, self._next_slot.get(site, now))
            self._next_slot[site] = slot + 1 / rate
        if slot > now:
            if before_wait is not None:
                before_wait(slot - now)
            await self._sleep(slot - now)
        self._count(site, slot)  # after the wait: a probe cancelled meanwhile sent nothing
        return slot - now

    def pause(self, host: str, wait: timedelta | None) -> timedelta:
        """The host answered 429: no requests to it for `wait` (capped); the pause applied."""
        chosen = PAUSE_WITHOUT_HEADER if wait is None else min(max(wait, timedelta(0)), MAX_PAUSE)
        site = site_of(host)
        until = self._now() + chosen.total_seconds()
        self._paused_until[site] = max(self._paused_until.get(site, 0.0), until)
        return chosen

    def requests(self) -> dict[str, int]:
        """Requests counted per host over the window kept."""
        return {site: sum(seconds.values()) for site, seconds in self._counts.items()}

    def per_second(self, host: str) -> dict[int, int]:
        """Requests to `host` by whole second of the budget's clock (slots, not arrivals)."""
        return dict(self._counts.get(site_of(host), {}))

    def busiest_minutes(self) -> list[BusiestMinute]:
        """For each host, its busiest 60 s (sliding, by second), busiest host first."""
        out: list[BusiestMinute] = []
        for site, seconds in self._counts.items():
            best = 0
            for start in seconds:
                total = sum(seconds.get(start + i, 0) for i in range(60))
                best = max(best, total)
            out.append(BusiestMinute(site, best))
        return sorted(out, key=lambda b: (-b.requests, b.host))

    def describe(self) -> list[str]:
        """One line per host for a tick report or benchmark: what its busiest minute cost."""
        lines = []
        for busiest in self.busiest_minutes():
            rate = self.rates.get(busiest.host)
            limit = f"budget {rate:g} a second" if rate is not None else "no budget"
            lines.append(
                f"{busiest.host}: {busiest.requests:,} requests in its busiest minute, "
                f"{busiest.per_second:.1f} a second ({limit})"
            )
        return lines

    def _count(self, site: str, at: float) -> None:
        seconds = self._counts[site]
        second = math.floor(at + 1e-9)  # slots summed from 1/rate steps: 0.99999… is 1
        seconds[second] = seconds.get(second, 0) + 1
        if len(seconds) > COUNT_WINDOW:
            for old in [s for s in seconds if s <= second - COUNT_WINDOW]:
                del seconds[old]
