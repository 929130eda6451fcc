"""The figures, printed: detection at the peak, requests per host, memory, time, verdicts."""

from __future__ import annotations

import statistics
from collections import Counter
from typing import TYPE_CHECKING

from .verdicts import Mismatch
from .year import Year

if TYPE_CHECKING:
    from .aws import AwsPeak
    from .local import Result

HOT_TARGET_S = 10.0  # issue 21: p95 <= the hot interval (Cadence.hot)


def p95(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def print_local(year: Year, r: Result, mismatches: list[Mismatch]) -> None:
    lags = list(r.detection_s.values())
    ok = "ok" if lags and p95(lags) <= HOT_TARGET_S else "OVER TARGET"
    print(
        f"  {r.ticks:,} ticks, {r.checks:,} checks in {r.wall_s:.0f} s real; memory: peak RSS "
        f"{r.peak_rss_mb:.0f} MB; {r.errors} release errors; {r.sent} messages sent (observed "
        "releases alert nobody)"
    )
    if lags:
        print(
            f"  detection at the peak minute ({len(lags)} pages going live, simulated time from "
            f"live to its live check stored): median {statistics.median(lags):.1f} s, "
            f"p95 {p95(lags):.1f} s, max {max(lags):.1f} s (target p95 <= {HOT_TARGET_S:.0f} s: "
            f"{ok})"
        )
    if r.peak_ticks_s:
        t = r.peak_ticks_s
        print(
            f"  peak window ticks ({r.peak_wall_s:.0f} s real): {len(t)}, "
            f"{r.peak_probed:,} probes; real duration median {statistics.median(t):.2f} s, "
            f"p95 {p95(t):.2f} s, max {max(t):.2f} s"
        )
    for host, st in sorted(r.origins.items()):
        n = st.busiest_minute()
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(st.statuses.items()))
        print(
            f"  {host}-like origin over HTTP: busiest minute {n} requests = {n / 60:.1f}/s "
            f"(busiest second {st.busiest_second()}); {sum(st.per_minute.values()):,} requests "
            f"({statuses}); {st.throttled} throttled (429); {st.connections} connections"
        )
    for line in r.budget:
        print(f"  the prober's politeness budget: {line}")
    if r.requests_in_process:
        quiet = ", ".join(f"{h} {n:,}" for h, n in sorted(r.requests_in_process.items()))
        print(f"  quiet days, answered in process (no HTTP): {quiet}")
    agree = len(year.releases) - len(mismatches)
    fates = Counter(m.fate.value for m in mismatches)
    print(
        f"  verdict accuracy (the punctuality record's verdict against each release's fate): "
        f"{agree} of {len(year.releases)} = {100 * agree / len(year.releases):.1f}%"
        + (f"; wrong by fate: {dict(fates)}" if mismatches else "")
    )
    for m in mismatches[:8]:
        print(f"    {m.release_id} ({m.fate.value}): expected {m.expected}, recorded {m.recorded}")


def print_aws(year: Year, a: AwsPeak, local: Result | None) -> None:
    print(a.describe(year, local))
