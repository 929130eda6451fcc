"""The checks of one release as a timeline: runs of identical checks collapsed into one entry,
with the due time and the go-live marked where they fall."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ...model import Check
from .words import check_verdict, clock_time

TIMES, EN_DASH = "\u00d7", "\u2013"  # as in the board's '404 x 42, 09:15:00-09:29:50'


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # 'checks', 'due' or 'live'
    text: str  # '404 x 42' (a multiplication sign) / 'Due' / 'Went live'
    span: str  # '09:15:00-09:29:50' (an en dash) / '09:30:00'
    verdict: str  # what the checks saw, in words ('' for a marker)
    live: bool
    count: int
    start: datetime
    end: datetime


def collapse(
    checks: Sequence[Check], due: datetime, live_at: datetime | None
) -> list[TimelineEntry]:
    """Runs of identical checks as one entry ('404 x 42, 09:15:00-09:29:50'), with the due time
    and the go-live marked where they fall (a run is split there)."""
    markers = [(due, "due", "Due")]
    if live_at is not None:
        markers.append((live_at, "live", "Went live"))
    markers.sort(key=lambda m: m[0])
    out: list[TimelineEntry] = []
    placed = 0

    def place_until(at: datetime | None) -> None:
        nonlocal placed
        while placed < len(markers) and (at is None or markers[placed][0] <= at):
            when, kind, text = markers[placed]
            out.append(
                TimelineEntry(kind, text, clock_time(when), "", kind == "live", 0, when, when)
            )
            placed += 1

    run: list[Check] = []

    def flush() -> None:
        if not run:
            return
        first, last = run[0], run[-1]
        seen = (
            str(first.status)
            if first.status is not None
            else (first.error or "no answer").replace("_", " ")
        )
        text = f"{seen} {TIMES} {len(run)}" if len(run) > 1 else seen
        span = (
            f"{clock_time(first.at)}{EN_DASH}{clock_time(last.at)}"
            if len(run) > 1
            else clock_time(first.at)
        )
        out.append(
            TimelineEntry(
                "checks", text, span, check_verdict(first), first.live, len(run), first.at, last.at
            )
        )
        run.clear()

    for check in checks:
        if placed < len(markers) and markers[placed][0] <= check.at:
            flush()
            place_until(check.at)
        if run and _key(run[0]) != _key(check):
            flush()
        run.append(check)
    flush()
    place_until(None)
    return out


def _key(check: Check) -> tuple[object, ...]:
    return (check.live, check.status, check.error, check.reason)
