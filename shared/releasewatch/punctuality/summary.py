"""Each producer's punctuality over a period, and the choice of releases a number counts (pure).

A period is a range of due dates, UK days, both ends included. Median and worst lateness are
over the releases judged late; a late page not live yet counts at its lateness so far (at
least that late)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from statistics import median

from ..timefmt import uk
from .verdicts import Judged, Verdict

NO_PRODUCER = "Producer not named"
# The counted columns, in the order they are shown (the verdicts partition the releases).
COUNTED: tuple[Verdict, ...] = (
    Verdict.ON_TIME,
    Verdict.LATE,
    Verdict.EARLY,
    Verdict.CANCELLED,
    Verdict.MOVED_SHORT_NOTICE,
    Verdict.UNKNOWN,
    Verdict.PENDING,
)


@dataclass(frozen=True)
class Period:
    start: date | None = None  # None: from the first release
    end: date | None = None  # None: to the last

    def holds(self, judged: Judged) -> bool:
        day = uk(judged.due).date()
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class ProducerSummary:
    producer: str
    releases: int
    counts: dict[Verdict, int]
    median_lateness_minutes: float | None
    worst_lateness_minutes: int | None

    def count(self, verdict: Verdict) -> int:
        return self.counts.get(verdict, 0)


def producer_of(judged: Judged) -> str:
    return judged.producer or NO_PRODUCER


def in_period(judged: Iterable[Judged], period: Period) -> list[Judged]:
    return [j for j in judged if period.holds(j)]


def chosen(
    judged: Iterable[Judged], producer: str | None = None, verdict: Verdict | None = None
) -> list[Judged]:
    """The releases a number counts: one producer's (None: all), one verdict's (None: all)."""
    return [
        j
        for j in judged
        if (producer is None or producer_of(j) == producer)
        and (verdict is None or j.verdict == verdict)
    ]


def summarise(judged: Sequence[Judged]) -> ProducerSummary:
    """The summary of `judged` (one producer's releases, or all of them)."""
    counts = {v: 0 for v in COUNTED}
    for j in judged:
        counts[j.verdict] += 1
    late = [j.lateness_minutes for j in judged if j.verdict == Verdict.LATE]
    minutes = [m for m in late if m is not None]
    producers = {producer_of(j) for j in judged}
    return ProducerSummary(
        producer=producers.pop() if len(producers) == 1 else "All producers",
        releases=len(judged),
        counts=counts,
        median_lateness_minutes=float(median(minutes)) if minutes else None,
        worst_lateness_minutes=max(minutes) if minutes else None,
    )


def by_producer(judged: Sequence[Judged]) -> list[ProducerSummary]:
    """One summary per producer, by name."""
    groups: dict[str, list[Judged]] = {}
    for j in judged:
        groups.setdefault(producer_of(j), []).append(j)
    return [summarise(groups[name]) for name in sorted(groups, key=str.casefold)]
