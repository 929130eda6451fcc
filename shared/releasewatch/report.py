"""Breach report draft (Code of Practice for Statistics, T3.6 orderly release).

A plain-text draft built from the store's timeline. Blanks a person must fill are marked.
"""

from __future__ import annotations

from .model import EventKind
from .notify.base import Attachment
from .store.base import Store
from .timefmt import delay_text, uk_datetime, uk_datetime_seconds

BLANK = "[TO COMPLETE]"


def build_report_text(store: Store, release_id: str) -> str:
    record = store.get_release(release_id)
    if record is None:
        raise KeyError(release_id)
    r = record.release
    lines = [
        f"Breach report (draft): {r.title}",
        f"Link: {r.url}",
        f"Producer: {r.producer or BLANK}",
        "Practice breached: T3.6 (orderly release)",
        f"Due: {uk_datetime(r.due)}",
    ]
    if record.live_at is not None:
        delta = record.live_at - r.due
        word = "early" if delta.total_seconds() < 0 else "late"
        lines.append(
            f"Confirmed live: {uk_datetime_seconds(record.live_at)} ({delay_text(delta)} {word})"
        )
    lines += ["", "Timeline:"]
    for event in store.events(release_id):
        if event.kind in (
            EventKind.STATE_CHANGED,
            EventKind.NOTIFICATION_SENT,
            EventKind.ACKNOWLEDGED,
        ):
            who = f" {event.contact_id}" if event.contact_id else ""
            what = ", ".join(f"{k}={v}" for k, v in event.detail.items() if k != "key")
            lines.append(f"  {uk_datetime_seconds(event.at)}  {event.kind.value}{who} {what}")
    lines += ["", f"Impact: {BLANK}", f"Corrective actions: {BLANK}"]
    return "\n".join(lines)


def build_report_for_email(store: Store, release_id: str) -> tuple[str, tuple[Attachment, ...]]:
    text = build_report_text(store, release_id)
    attachment = Attachment(f"breach-report-{release_id}.txt", "text/plain", text.encode())
    return text, (attachment,)
