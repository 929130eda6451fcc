"""Verdict accuracy: the punctuality record's verdict on each release against its fate.

A page is seen live at its first check after it went live, so the recorded lateness may exceed
the true one by up to the cadence then (10 s in the hot window, a minute after it, five
minutes from three hours late): `LATE_SLACK` is allowed on top, never below. An early page is
seen at a lookahead or pre-window probe, at most 15 minutes after it went live.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from releasewatch.punctuality.verdicts import Judged, Verdict

from .year import Fate, SimRelease, Year

EXPECTED: dict[Fate, Verdict] = {
    Fate.ON_TIME: Verdict.ON_TIME,
    Fate.MOVED_LONG: Verdict.ON_TIME,  # announced more than four weeks ahead: not short notice
    Fate.MOVED_SHORT: Verdict.MOVED_SHORT_NOTICE,
    Fate.LATE_MINUTES: Verdict.LATE,
    Fate.LATE_HOURS: Verdict.LATE,
    Fate.NEVER_FOUND: Verdict.LATE,  # late by at least the time of its last check
    Fate.EARLY: Verdict.EARLY,
    Fate.CANCELLED: Verdict.CANCELLED,
}
LATE_SLACK = timedelta(minutes=6)
EARLY_SLACK = timedelta(minutes=16)


@dataclass(frozen=True)
class Mismatch:
    release_id: str
    fate: Fate
    expected: str
    recorded: str


def mismatch(sim: SimRelease, judged: Judged | None) -> Mismatch | None:
    """None when the verdict (and its due time, and its lateness) agrees with the fate."""
    want = EXPECTED[sim.fate]
    if judged is None:
        return Mismatch(sim.id, sim.fate, want.value, "never judged")
    if judged.verdict != want or judged.due != sim.due:
        expected = f"{want.value}, due {sim.due:%Y-%m-%d %H:%M}"
        return Mismatch(sim.id, sim.fate, expected, f"{judged.verdict_text}, due {judged.due}")
    if sim.live_at is None or judged.lateness is None:
        return None
    truly = sim.live_at - sim.due
    slack = LATE_SLACK if want is Verdict.LATE else EARLY_SLACK
    if want in (Verdict.LATE, Verdict.EARLY) and not truly <= judged.lateness <= truly + slack:
        return Mismatch(sim.id, sim.fate, f"lateness {truly}", f"lateness {judged.lateness}")
    return None


def compare(year: Year, verdicts: Mapping[str, Judged]) -> list[Mismatch]:
    """Every release whose verdict disagrees with its fate."""
    found = (mismatch(sim, verdicts.get(sim.id)) for sim in year.releases)
    return [m for m in found if m is not None]
