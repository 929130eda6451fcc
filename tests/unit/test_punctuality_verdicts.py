"""Each verdict of the punctuality record, from histories of checks and calendar changes.

The record is built as the watchdog builds it: policy.decide over the checks in order (so
live_at is policy's), calendar moves recorded as calendar/changes.py records them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from releasewatch.calendar import changes as calendar_changes
from releasewatch.model import Check, Event, ReleaseRecord
from releasewatch.policy import decide
from releasewatch.punctuality.verdicts import Judged, Verdict, judge
from tests.factories import DUE, make_check, make_release

MIN = timedelta(minutes=1)


def replay(
    checks: Sequence[Check],
    events: Sequence[Event] = (),
    now: datetime | None = None,
    *,
    due: datetime = DUE,
    **overrides: object,
) -> Judged:
    record = ReleaseRecord(release=make_release(due=due, **overrides))
    for check in checks:
        record = decide(record, check, check.at, changes=events).record
    end = now or (checks[-1].at if checks else due) + timedelta(hours=1)
    return judge(record, checks, events, end)


def moved(old: datetime, new: datetime, seen_at: datetime) -> Event:
    change = calendar_changes.Change("lms-2025-07", calendar_changes.MOVED, old, new)
    return change.event(seen_at, change.base)


def cancelled(due: datetime, seen_at: datetime) -> Event:
    change = calendar_changes.Change(
        "lms-2025-07", calendar_changes.CANCELLED, due, due, note="Data quality issue"
    )
    return change.event(seen_at, change.base)


def watched(due: datetime, live_from: datetime, until: datetime) -> list[Check]:
    """Checks every 10 s from 2 minutes before due, live from `live_from`."""
    out, at = [], due - 2 * MIN
    while at <= until:
        out.append(make_check(at=at, live=at >= live_from))
        at += timedelta(seconds=10)
    return out


def test_live_at_due_and_watched_before_is_on_time() -> None:
    j = replay(watched(DUE, DUE + timedelta(seconds=20), DUE + 5 * MIN))
    assert j.verdict == Verdict.ON_TIME
    assert j.verdict_text == "On time"
    assert j.first_seen_live == DUE + timedelta(seconds=20)
    assert j.last_not_live is not None and j.last_not_live.at == DUE + timedelta(seconds=10)
    assert j.first_live is not None and j.first_live.at == DUE + timedelta(seconds=20)
    assert j.first_live.status == 200 and j.first_live.url.endswith("?rwcb=1")


def test_late_by_minutes_with_the_checks_either_side() -> None:
    j = replay(watched(DUE, DUE + 12 * MIN, DUE + 20 * MIN))
    assert j.verdict == Verdict.LATE
    assert j.lateness_minutes == 12
    assert j.verdict_text == "Late by 12 min"
    assert j.last_not_live is not None
    assert j.last_not_live.at == DUE + 12 * MIN - timedelta(seconds=10)
    assert not j.last_not_live.live and j.first_live is not None and j.first_live.live


def test_late_by_400_days() -> None:
    late = DUE + timedelta(days=400)
    checks = [
        make_check(at=DUE + 5 * MIN),
        make_check(at=late - MIN),
        make_check(at=late, live=True),
    ]
    j = replay(checks)
    assert j.verdict == Verdict.LATE
    assert j.lateness_minutes == 400 * 24 * 60
    assert j.verdict_text == "Late by 400 days"


def test_early_by_two_days_on_govuk_evidence() -> None:
    published = DUE - timedelta(days=2)
    checks = [
        make_check(at=DUE - timedelta(days=3)),
        make_check(at=DUE - timedelta(days=1), live=True, published_at=published),
    ]
    j = replay(checks)
    assert j.verdict == Verdict.EARLY
    assert j.lateness_minutes == -2 * 24 * 60
    assert j.verdict_text == "Early by 48 h"
    assert j.first_live is not None and j.first_live.published_at == published


def test_watchdog_down_across_due_is_unknown_not_late() -> None:
    # Not live 10 minutes before due, then nothing until 3 hours after: it may have been on time.
    checks = [make_check(at=DUE - 10 * MIN), make_check(at=DUE + timedelta(hours=3), live=True)]
    j = replay(checks)
    assert j.verdict == Verdict.UNKNOWN
    assert j.lateness is None
    assert "watchdog was down" in j.why


def test_first_seen_within_grace_after_a_gap_is_unknown_not_on_time() -> None:
    # Not checked from 3 days before due until a minute after: it may have gone live early.
    checks = [make_check(at=DUE - timedelta(days=3)), make_check(at=DUE + MIN, live=True)]
    j = replay(checks)
    assert j.verdict == Verdict.UNKNOWN
    assert "may have gone live early" in j.why


def test_never_checked_after_due_is_unknown() -> None:
    j = replay([make_check(at=DUE - timedelta(days=1))], now=DUE + timedelta(days=2))
    assert j.verdict == Verdict.UNKNOWN
    assert "Never checked after its due time" in j.why


def test_never_found_live_but_seen_missing_after_due_is_late_at_least() -> None:
    checks = [make_check(at=DUE + n * 10 * MIN, status=404, live=False) for n in range(1, 7)]
    j = replay(checks)
    assert j.verdict == Verdict.LATE and j.still_not_live
    assert j.lateness_minutes == 60
    assert j.verdict_text == "Late by at least 1 h"


def test_not_due_yet_is_pending() -> None:
    j = replay([make_check(at=DUE - timedelta(hours=1))], now=DUE - timedelta(minutes=30))
    assert j.verdict == Verdict.PENDING


def test_moved_twice_with_short_notice_the_second_time() -> None:
    first = DUE + timedelta(days=60)
    second = DUE + timedelta(days=61)
    events = [
        moved(DUE, first, DUE - timedelta(days=40)),  # 40 days ahead: not short notice
        moved(first, second, first - timedelta(days=3)),  # 3 days ahead: short notice
    ]
    j = replay(watched(second, second + timedelta(seconds=20), second + 5 * MIN), events,
               due=second)  # fmt: skip
    assert [m.short for m in j.moves] == [False, True]
    assert j.moves[0].notice == timedelta(days=40)
    assert j.moves[1].old_due == first and j.moves[1].new_due == second
    assert j.moves[1].notice == timedelta(days=3)
    assert j.verdict == Verdict.MOVED_SHORT_NOTICE
    assert "announced 3 days ahead" in j.why


def test_moved_well_ahead_then_on_time_is_on_time() -> None:
    new = DUE + timedelta(days=60)
    events = [moved(DUE, new, DUE - timedelta(days=30))]
    j = replay(watched(new, new, new + 5 * MIN), events, due=new)
    assert j.verdict == Verdict.ON_TIME
    assert len(j.moves) == 1 and not j.moves[0].short


def test_moved_after_its_time_had_passed_is_short_notice() -> None:
    new = DUE + timedelta(days=1)
    events = [moved(DUE, new, DUE + timedelta(hours=2))]
    j = replay(watched(new, new, new + 5 * MIN), events, due=new)
    assert j.verdict == Verdict.MOVED_SHORT_NOTICE
    assert j.moves[0].notice == -timedelta(hours=2)
    assert "after the time it replaced" in j.why


def test_moved_at_short_notice_and_then_late_is_late() -> None:
    new = DUE + timedelta(days=2)
    events = [moved(DUE, new, DUE - timedelta(days=1))]
    j = replay(watched(new, new + 30 * MIN, new + 40 * MIN), events, due=new)
    assert j.verdict == Verdict.LATE and j.lateness_minutes == 30
    assert j.short_notice_moves == 1


def test_cancelled_after_a_move() -> None:
    new = DUE + timedelta(days=30)
    events = [
        moved(DUE, new, DUE - timedelta(days=50)),
        cancelled(new, new - timedelta(days=2)),
    ]
    j = replay([make_check(at=DUE - timedelta(days=51))], events, now=new + timedelta(days=1),
               due=new, cancelled=True)  # fmt: skip
    assert j.verdict == Verdict.CANCELLED
    assert [m.kind for m in j.moves] == ["moved", "cancelled"]
    assert j.moves[1].short and j.moves[1].notice == timedelta(days=2)
    assert j.judged_at == new - timedelta(days=2)
    assert j.why == "Cancelled, announced 48 h ahead"


def test_cancelled_without_a_recorded_change_is_still_cancelled() -> None:
    j = replay([], now=DUE + timedelta(days=1), cancelled=True)
    assert j.verdict == Verdict.CANCELLED and j.moves == ()


# -- after the store's checks have expired (30 days) ------------------------------------------
def judged_later(checks: Sequence[Check], *, kept: int = 0) -> Judged:
    """Judged from the record once the store holds only the last `kept` checks."""
    record = ReleaseRecord(release=make_release())
    for check in checks:
        record = decide(record, check, check.at).record
    stored = list(checks[len(checks) - kept :]) if kept else []
    return judge(record, stored, [], checks[-1].at + timedelta(days=40))


def test_late_is_still_late_on_the_records_first_failure() -> None:
    checks = [make_check(at=DUE + 5 * MIN), make_check(at=DUE + 20 * MIN, live=True)]
    j = judged_later(checks)
    assert j.verdict == Verdict.LATE and j.lateness_minutes == 20
    assert "Not live at Thu 17 Jul 2025 09:35 BST" in j.why


def test_late_with_its_first_failure_within_grace_becomes_unknown() -> None:
    # The record keeps only the first failed check (within grace): nothing proves lateness.
    checks = [*watched(DUE, DUE + 12 * MIN, DUE + 13 * MIN)]
    j = judged_later(checks, kept=1)
    assert j.verdict == Verdict.UNKNOWN
    assert "expired" in j.why and "watchdog was down" not in j.why


def test_early_stays_early_on_the_records_live_time() -> None:
    checks = [
        make_check(at=DUE - timedelta(days=1), live=True, published_at=DUE - timedelta(days=2))
    ]
    j = judged_later(checks)
    assert j.verdict == Verdict.EARLY and j.lateness_minutes == -2 * 24 * 60


def test_on_time_with_its_checks_expired_is_unknown_not_a_guess() -> None:
    j = judged_later(watched(DUE, DUE + timedelta(seconds=20), DUE + 30 * MIN), kept=1)
    assert j.verdict == Verdict.UNKNOWN
    assert "expired" in j.why and "may have gone live early" not in j.why
