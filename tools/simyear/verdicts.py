"""Does the store say what happened? Each release's recorded state and lateness against its fate.

A page is seen live at its first check after it went live, so the recorded lateness may exceed
the true one by up to the cadence then (10 s in the hot window, a minute after it, five
minutes from three hours late): `slack` minutes are allowed on top, never below.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from releasewatch.model import ReleaseRecord, ReleaseState
from releasewatch.store.base import Store

from .year import Fate, SimRelease, Year

EXPECTED: dict[Fate, ReleaseState] = {
    Fate.ON_TIME: ReleaseState.LIVE,
    Fate.MOVED_LONG: ReleaseState.LIVE,
    Fate.MOVED_SHORT: ReleaseState.LIVE,
    Fate.LATE_MINUTES: ReleaseState.LIVE_LATE,
    Fate.LATE_HOURS: ReleaseState.LIVE_LATE,
    Fate.EARLY: ReleaseState.EARLY,
    Fate.CANCELLED: ReleaseState.CANCELLED,
    Fate.NEVER_FOUND: ReleaseState.LATE,
}


EARLY_SLACK = timedelta(minutes=16)


@dataclass(frozen=True)
class Mismatch:
    release_id: str
    fate: Fate
    expected: str
    recorded: str


def recorded_minutes_late(record: ReleaseRecord) -> int | None:
    if record.live_at is None:
        return None
    return int((record.live_at - record.release.due).total_seconds() // 60)


def judge(sim: SimRelease, record: ReleaseRecord | None, slack: int = 6) -> Mismatch | None:
    """None when the record agrees with the fate."""
    want = EXPECTED[sim.fate]
    if record is None:
        return Mismatch(sim.id, sim.fate, want.value, "not in the store")
    got = f"{record.state.value}, due {record.release.due:%Y-%m-%d %H:%M}"
    if record.state != want or record.release.due != sim.due:
        return Mismatch(sim.id, sim.fate, f"{want.value}, due {sim.due:%Y-%m-%d %H:%M}", got)
    late, truly = recorded_minutes_late(record), sim.expected_minutes_late
    lateness_off = late is not None and truly is not None and not truly <= late <= truly + slack
    if want is ReleaseState.LIVE_LATE and lateness_off:
        return Mismatch(sim.id, sim.fate, f"{truly} min late", f"{late} min late")
    # early: seen at a lookahead or pre-window probe, at most 15 minutes after it went live
    seen, went = record.live_at, sim.live_at
    if want is ReleaseState.EARLY and seen and went and not went <= seen <= went + EARLY_SLACK:
        return Mismatch(sim.id, sim.fate, f"live {went:%H:%M}", f"live {seen:%H:%M}")
    return None


def compare(store: Store, year: Year) -> list[Mismatch]:
    records = {r.id: r for r in store.all_releases()}
    out = []
    for sim in year.releases:
        m = judge(sim, records.get(sim.id))
        if m is not None:
            out.append(m)
    return out
