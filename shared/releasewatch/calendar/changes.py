"""Calendar changes that must be told (Code of Practice 2.x T3.2, 3.0 standard 3.2).

A sync that moves a watched release's due time, cancels it, takes back its exact date
(provisional again, before it was due), or no longer finds its announcement (and the page is
not live) records one EventKind.CALENDAR_CHANGED event on the
release, carrying the old and new due time and GOV.UK's change note or cancellation reason.
Policy turns each such event into one notice per recipient (notices(), pure): the statistics
team (the chain's first step) and the head of profession (contacts with that role, else the
breach step). The key names the change itself (old and new due), so a second sync seeing the
same change sends nothing, and a second move is a new change, told again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from ..model import Event, EventKind, Notification, NotificationKind, Release

MOVED, CANCELLED, GONE = "moved", "cancelled", "gone"
UNCONFIRMED = "unconfirmed"  # the exact date taken back: provisional again, not watched
PAGE = "page"  # a change seen on the announcement's own page or Content API item
_KIND = {
    MOVED: NotificationKind.DATE_CHANGED,
    CANCELLED: NotificationKind.CANCEL_NOTICE,
    GONE: NotificationKind.GONE_NOTICE,
    UNCONFIRMED: NotificationKind.UNCONFIRMED_NOTICE,
}
KINDS = frozenset(_KIND.values())


@dataclass(frozen=True)
class Change:
    release_id: str
    change: str  # MOVED, CANCELLED, GONE or UNCONFIRMED
    old_due: datetime
    new_due: datetime
    note: str = ""  # GOV.UK's latest_change_note or cancellation_reason, when it gives one
    previous_display_date: str = ""
    note_error: str = ""  # why GOV.UK's note could not be read
    # Who saw it: "" for a calendar sync, PAGE for a probe of the announcement itself (the
    # watchdog applies such a cancellation on its own: policy.with_page_cancellation).
    source: str = ""

    @property
    def base(self) -> str:
        """What makes this change this change: a move from when to when, or the due time that
        was cancelled or vanished."""
        if self.change == MOVED:
            return f"{_compact(self.old_due)}-{_compact(self.new_due)}"
        return f"{self.change}-{_compact(self.old_due)}"

    def event(self, now: datetime, tag: str) -> Event:
        return Event(
            release_id=self.release_id,
            at=now,
            kind=EventKind.CALENDAR_CHANGED,
            detail={
                "change": self.change,
                "base": self.base,
                "tag": tag,
                "old_due": self.old_due.isoformat(),
                "new_due": self.new_due.isoformat(),
                "note": self.note,
                "previous_display_date": self.previous_display_date,
                "note_error": self.note_error,
            }
            | ({"source": self.source} if self.source else {}),
        )


def to_record(change: Change, events: Iterable[Event], now: datetime) -> Event | None:
    """The event to record for this change; None when it is the change recorded last (a
    second sync, or one retried after a crash). A move back and forth (A to B, B to A, A to B
    again) is told each time: a repeat gets its own tag."""
    recorded = [e for e in events if e.kind == EventKind.CALENDAR_CHANGED]
    if recorded and recorded[-1].detail.get("base") == change.base:
        return None
    repeats = sum(1 for e in recorded if e.detail.get("base") == change.base)
    return change.event(now, change.base + (f".{repeats}" if repeats else ""))


def recipients(release: Release) -> list[str]:
    """The statistics team (the chain's first step), then the head of profession."""
    out = dict.fromkeys(c for s in release.steps[:1] for c in s.notify)
    hop = [c.id for c in release.contacts.values() if c.role == "head_of_profession"]
    out.update(dict.fromkeys(hop or release.breach_contacts()))
    return list(out)


def applied(release: Release, event: Event) -> bool:
    """Whether the release as stored shows the change the event records: the sync records the
    event before it applies the change, so a crash between the two leaves an event that must
    not be told until the next sync has applied it (or ever, if the calendar changed back)."""
    change = event.detail.get("change")
    if change == MOVED:
        try:
            return datetime.fromisoformat(event.detail.get("new_due", "")) == release.due
        except ValueError:
            return False
    if change == CANCELLED:
        return release.cancelled
    if change == UNCONFIRMED:
        return release.unconfirmed is not None
    return True  # GONE: the release itself does not change


def notices(release: Release, events: Iterable[Event]) -> list[Notification]:
    """One notice per recorded change per recipient, by email (SMS when a contact has none),
    once the stored release shows that change (applied)."""
    out: list[Notification] = []
    for e in events:
        if e.kind != EventKind.CALENDAR_CHANGED or e.detail.get("change") not in _KIND:
            continue
        if not applied(release, e):
            continue
        kind, tag = _KIND[e.detail["change"]], e.detail.get("tag", "")
        for cid in recipients(release):
            contact = release.contacts.get(cid)
            if contact is None:
                continue
            channel = contact.first_channel()
            if channel is None:
                continue
            out.append(
                Notification(
                    key=f"{release.id}|{kind.value}|{tag}|0|{cid}|{channel}",
                    release_id=release.id,
                    kind=kind,
                    contact_id=cid,
                    channel=channel,
                    due_at=e.at,
                )
            )
    return out


def change_of(events: Iterable[Event], notification: Notification) -> Event | None:
    """The event a notice tells of (its tag is the key's third part)."""
    tag = notification.key.split("|")[2]
    return next(
        (e for e in events if e.kind == EventKind.CALENDAR_CHANGED and e.detail.get("tag") == tag),
        None,
    )


def _compact(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
