"""One release's punctuality, judged from the store's recorded facts alone (pure).

The inputs are a release record, its checks and its events; never its contacts, deliveries or
acknowledgements, so nothing here can carry personal data into the public record.

The verdict reuses policy's definitions: when a live check says the page went live
(policy.live_time, recorded as record.live_at), early as derive_state has it (before due), and
lateness only with evidence (policy.lateness_unproven: a check after due + grace that saw the
page not live, or GOV.UK's first_published_at). Where the evidence cannot tell, the verdict is
UNKNOWN with the reason, never a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from ..calendar import changes as calendar_changes
from ..model import Check, Event, EventKind, ReleaseRecord, evidence_checks
from ..policy import lateness_unproven, live_time
from ..timefmt import delay_text, uk_datetime

# Release dates are pre-announced "at least four weeks in advance" (Code of Practice for
# Statistics, orderly release): a change announced later than that is at short notice.
SHORT_NOTICE = timedelta(days=28)


class Verdict(StrEnum):
    ON_TIME = "on_time"
    LATE = "late"
    EARLY = "early"
    CANCELLED = "cancelled"
    MOVED_SHORT_NOTICE = "moved_short_notice"  # otherwise on time (or not judged yet)
    UNKNOWN = "unknown"  # the evidence cannot tell
    PENDING = "pending"  # not due yet (or within its grace): nothing to judge


VERDICT_WORDS = {
    Verdict.ON_TIME: "On time",
    Verdict.LATE: "Late",
    Verdict.EARLY: "Early",
    Verdict.CANCELLED: "Cancelled",
    Verdict.MOVED_SHORT_NOTICE: "Moved at short notice",
    Verdict.UNKNOWN: "Unknown",
    Verdict.PENDING: "Not yet judged",
}


@dataclass(frozen=True)
class Move:
    """A change to the announced time, as a calendar sync (or the page) recorded it.

    `announced_at` is when the watchdog saw the change, so `notice` is at least this long:
    the producer may have announced it a little earlier, between two syncs."""

    kind: str  # "moved", "cancelled", or "unconfirmed" (the exact date taken back)
    announced_at: datetime
    old_due: datetime
    new_due: datetime | None  # None when cancelled or taken back
    notice: timedelta  # from the announcement to the earlier of the old and new due times
    short: bool
    note: str = ""  # the producer's change note or cancellation reason


@dataclass(frozen=True)
class Seen:
    """What one check saw: the evidence behind a verdict."""

    at: datetime
    live: bool
    url: str  # what was requested (the origin, past any cache, with its cache-busting query)
    status: int | None
    reason: str
    error: str | None
    final_url: str | None
    judged_url: str | None
    published_at: datetime | None
    origin_date: datetime | None
    cache: tuple[tuple[str, str], ...]


def seen(check: Check) -> Seen:
    """The evidence a check gives. The one place to add what the public path served (a CDN
    copy without the cache-busting query) once Check records it."""
    return Seen(
        at=check.at,
        live=check.live,
        url=check.url,
        status=check.status,
        reason=check.reason,
        error=check.error,
        final_url=check.final_url,
        judged_url=check.judged_url,
        published_at=check.published_at,
        origin_date=check.origin_date,
        cache=tuple(check.cache_headers()),
    )


@dataclass(frozen=True)
class Judged:
    """A release's line in the punctuality record."""

    release_id: str
    title: str
    url: str
    producer: str
    due: datetime
    grace: timedelta
    verdict: Verdict
    # live - due (negative: early); for a late page not live yet, at least this much (as of
    # the last check that saw it not live); None when unknown or not judged.
    lateness: timedelta | None
    still_not_live: bool
    first_seen_live: datetime | None  # when policy says it went live (record.live_at)
    moves: tuple[Move, ...]
    why: str  # the verdict in words, with its evidence or what is missing
    last_not_live: Seen | None  # the last check before it went live that saw it not live
    first_live: Seen | None  # the first check that saw it live
    judged_at: datetime | None  # when the evidence for the verdict came in

    @property
    def lateness_minutes(self) -> int | None:
        """Whole minutes, toward zero: 'late by 12 minutes', 'early by 2880 minutes'."""
        if self.lateness is None:
            return None
        return int(self.lateness.total_seconds() / 60)

    @property
    def short_notice_moves(self) -> int:
        return sum(1 for m in self.moves if m.short)

    @property
    def verdict_text(self) -> str:
        """'Late by 12 min', 'Early by 2 days', 'On time'."""
        words = VERDICT_WORDS[self.verdict]
        if self.lateness is not None and self.verdict in (Verdict.LATE, Verdict.EARLY):
            more = "at least " if self.still_not_live else ""
            return f"{words} by {more}{delay_text(self.lateness)}"
        return words


def moves_from(events: Sequence[Event], short_notice: timedelta = SHORT_NOTICE) -> list[Move]:
    """Every recorded change to the announced time, oldest first."""
    out: list[Move] = []
    for e in events:
        if e.kind != EventKind.CALENDAR_CHANGED:
            continue
        kind = e.detail.get("change", "")
        if kind not in (
            calendar_changes.MOVED,
            calendar_changes.CANCELLED,
            calendar_changes.UNCONFIRMED,
        ):
            continue  # GONE: the announcement vanished; the time itself did not change
        old = _time(e.detail.get("old_due", ""))
        if old is None:
            continue
        new = _time(e.detail.get("new_due", "")) if kind == calendar_changes.MOVED else None
        notice = min(old, new or old) - e.at
        out.append(
            Move(
                kind=kind,
                announced_at=e.at,
                old_due=old,
                new_due=new,
                notice=notice,
                short=notice < short_notice,
                note=e.detail.get("note", ""),
            )
        )
    return out


def judge(
    record: ReleaseRecord,
    checks: Sequence[Check],
    events: Sequence[Event],
    now: datetime,
    short_notice: timedelta = SHORT_NOTICE,
) -> Judged:
    """The release's verdict from its record, checks (oldest first) and events."""
    release = record.release
    due, grace = release.due, release.grace
    moves = tuple(moves_from(events, short_notice))
    live_at = record.live_at
    checks = _with_kept(_with_last_check(record, checks), evidence_checks(events))
    first_live = next((c for c in checks if c.live), None)
    before = [c for c in checks if not c.live and (first_live is None or c.at < first_live.at)]
    last_not_live = before[-1] if before else None
    verdict, lateness, why, judged_at = _timing(record, checks, first_live, last_not_live, now)
    still = verdict == Verdict.LATE and live_at is None
    if release.cancelled:
        verdict, lateness, still = Verdict.CANCELLED, None, False
        cancel = next((m for m in reversed(moves) if m.kind == calendar_changes.CANCELLED), None)
        why = "Cancelled"
        if cancel is not None:
            judged_at = cancel.announced_at
            why += f", {notice_words(cancel)}"
    elif release.unconfirmed is not None and verdict == Verdict.PENDING:
        why = f"Its date is no longer confirmed ({release.unconfirmed})"
    if any(m.short for m in moves) and verdict in (
        Verdict.ON_TIME,
        Verdict.UNKNOWN,
        Verdict.PENDING,
    ):
        short = next(m for m in reversed(moves) if m.short)
        why = f"Moved at short notice ({notice_words(short)}); {why[0].lower()}{why[1:]}"
        verdict = Verdict.MOVED_SHORT_NOTICE
        judged_at = judged_at or short.announced_at
    return Judged(
        release_id=release.id,
        title=release.title,
        url=release.url,
        producer=release.producer,
        due=due,
        grace=grace,
        verdict=verdict,
        lateness=lateness,
        still_not_live=still,
        first_seen_live=live_at,
        moves=moves,
        why=why,
        last_not_live=seen(last_not_live) if last_not_live is not None else None,
        first_live=seen(first_live) if first_live is not None else None,
        judged_at=judged_at,
    )


def _timing(
    record: ReleaseRecord,
    checks: Sequence[Check],
    first_live: Check | None,
    last_not_live: Check | None,
    now: datetime,
) -> tuple[Verdict, timedelta | None, str, datetime | None]:
    """(verdict, lateness, why, judged at) from the checks alone."""
    release = record.release
    due, grace = release.due, release.grace
    live_at = record.live_at
    seen_at = first_live.at if first_live is not None else None
    if live_at is None:
        if now <= due + grace:
            return Verdict.PENDING, None, "Not due yet, or within its grace", None
        after = [c for c in checks if not c.live and c.at > due + grace]
        if not after:
            return (
                Verdict.UNKNOWN,
                None,
                "Never checked after its due time and grace: the watchdog was not watching",
                None,
            )
        last = after[-1]
        why = f"Not live at {uk_datetime(last.at)}, the last check"
        return Verdict.LATE, last.at - due, why, last.at
    if live_at < due:
        return (
            Verdict.EARLY,
            live_at - due,
            f"Live at {uk_datetime(live_at)}, before its due time",
            seen_at,
        )
    if first_live is None or live_time(first_live, due) != live_at:
        return _expired(record, seen_at)  # the check that set live_at is no longer stored
    if live_at > due + grace:
        # The record keeps the first check after due that saw the page not live, whatever the
        # store still holds of the others (they expire).
        failed = record.first_failure_at
        if failed is not None and not due + grace < failed < live_at:
            failed = None
        if lateness_unproven(release, live_at, checks) and failed is None:
            since = f" since {uk_datetime(last_not_live.at)}" if last_not_live else ""
            why = (
                f"First seen live {delay_text(live_at - due)} after its due time, but not "
                f"checked{since} until then (the watchdog was down): it may have been on time"
            )
            return Verdict.UNKNOWN, None, why, seen_at
        not_live = last_not_live.at if last_not_live is not None else failed
        why = f"Live at {uk_datetime(live_at)}"
        if not_live is not None:
            why = f"Not live at {uk_datetime(not_live)}; live at {uk_datetime(live_at)}"
        return Verdict.LATE, live_at - due, why, seen_at
    if _not_early(record, first_live, last_not_live):
        return Verdict.ON_TIME, live_at - due, f"Live at {uk_datetime(live_at)}", seen_at
    since = f"since {uk_datetime(last_not_live.at)}" if last_not_live else "before"
    why = (
        f"Live at {uk_datetime(live_at)}, but not checked {since}: it may have gone live "
        "early (the watchdog was not watching)"
    )
    return Verdict.UNKNOWN, None, why, seen_at


def _with_last_check(record: ReleaseRecord, checks: Sequence[Check]) -> list[Check]:
    """The checks, with the record's last check when the store no longer holds it (the record
    keeps it after the check itself has expired)."""
    out = list(checks)
    last = record.last_check
    if last is not None and all(c.at != last.at for c in out):
        out = sorted([*out, last], key=lambda c: c.at)
    return out


def _with_kept(checks: list[Check], kept: Sequence[Check]) -> list[Check]:
    """The checks, with those the state change to live kept (its deciding checks) when the
    store no longer holds them."""
    missing = [k for k in kept if all(c.at != k.at for c in checks)]
    return sorted([*checks, *missing], key=lambda c: c.at) if missing else checks


def _expired(
    record: ReleaseRecord, seen_at: datetime | None
) -> tuple[Verdict, timedelta | None, str, datetime | None]:
    """A release seen live whose checks around its going live the store no longer holds
    (checks expire, 30 days by default): what the record itself still proves."""
    release = record.release
    due, grace, live_at = release.due, release.grace, record.live_at
    assert live_at is not None
    gone = "its checks around then have expired from the store"
    if live_at < due:  # policy set live_at before due only on evidence (live_time)
        return (
            Verdict.EARLY,
            live_at - due,
            f"Live at {uk_datetime(live_at)}, before its due time ({gone})",
            seen_at,
        )
    failed = record.first_failure_at
    if live_at > due + grace and failed is not None and due + grace < failed < live_at:
        why = (
            f"Not live at {uk_datetime(failed)}; live at {uk_datetime(live_at)} ({gone}; the "
            "record keeps the first check after due that saw it not live)"
        )
        return Verdict.LATE, live_at - due, why, live_at
    why = f"Seen live at {uk_datetime(live_at)}, but {gone}: the evidence cannot tell"
    return Verdict.UNKNOWN, None, why, live_at


def _not_early(
    record: ReleaseRecord, first_live: Check | None, last_not_live: Check | None
) -> bool:
    """Evidence that a page first seen live within its grace did not go live early: GOV.UK's
    first_published_at, a server clock ahead of ours (policy.live_time gave the due time), or
    a check within the hot window before due that saw it not live."""
    release = record.release
    if first_live is not None and first_live.published_at is not None:
        return True
    if first_live is not None and record.live_at == release.due and first_live.at < release.due:
        return True
    start = release.due - release.cadence.hot_before
    return last_not_live is not None and last_not_live.at >= start


def notice_words(move: Move) -> str:
    if move.notice < timedelta(0):
        return f"announced {delay_text(move.notice)} after the time it replaced"
    return f"announced {delay_text(move.notice)} ahead"


def _time(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else None
