"""What a message is rendered from (MessageContext) and what every text shares: fitting an SMS
into one GSM-7 segment, and the lines that say what the last check saw.

Below messages.py and the per-kind texts (calendar_text, card_text, readiness_text, rota_text),
which all use it; it uses none of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..model import Check, Contact, Notification, Release
from ..timefmt import uk_datetime_seconds
from .base import Attachment

SMS_LIMIT = 160

_GSM7 = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_ASCII_FOR = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\xa0": " ",
}


@dataclass(frozen=True)
class MessageContext:
    notification: Notification
    release: Release
    contact: Contact
    now: datetime
    last_check: Check | None = None
    first_failure_at: datetime | None = None
    live_at: datetime | None = None
    others_told: tuple[str, ...] = ()  # names, never addresses
    unreachable: tuple[str, ...] = ()  # names of contacts every channel failed for, for good
    next_step: tuple[datetime, tuple[str, ...]] | None = None  # when, and who (names)
    ack_url: str | None = None
    confirm_url: str | None = None  # readiness messages: "it is uploaded and scheduled"
    release_url: str | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None
    # An ack notice: the later alert steps the acknowledgement really holds (acks/holds.py);
    # none, and no message says anything is held.
    held_steps: tuple[int, ...] = ()
    report_text: str | None = None
    report_attachments: tuple[Attachment, ...] = ()
    # From the deliveries actually sent, never from the schedule: how many earlier messages of
    # this step reached this contact, and when the first did.
    reminder: int = 0
    first_alerted_at: datetime | None = None
    # When releasewatch first checked the page after its due time, if that was after the
    # grace period (added late, or the watchdog was down): the chain starts late, and says so.
    first_checked_late_at: datetime | None = None
    # Live after due + grace, but with no check between the due time and then that saw it not
    # live (nor GOV.UK's date): it may have gone live on time, so nothing may call it late.
    late_unproven: bool = False
    # A calendar change notice: the CALENDAR_CHANGED event's detail (calendar/changes.py).
    change: dict[str, str] | None = None
    # An alert text through GOV.UK Notify ends "Reply ACK <code>" (acks/by_reply.py).
    reply_code: str | None = None
    # Replies on this release are locked for the contact (too many wrong codes): the text says
    # so instead of giving a code, so a person who replies is not left wondering.
    replies_locked: bool = False


def to_gsm7(text: str) -> str:
    out: list[str] = []
    for ch in text:
        ch = _ASCII_FOR.get(ch, ch)
        out.extend(c if c in _GSM7 else "?" for c in ch)
    return "".join(out)


def fit_sms(head: str, title: str, tail: str, limit: int = SMS_LIMIT) -> str:
    head, title, tail = to_gsm7(head), to_gsm7(title), to_gsm7(tail)
    room = limit - len(head) - len(tail)
    if room < len(title):
        title = title[: room - 3].rstrip() + "..." if room >= 8 else ""
    text = head + title + tail if title else head.rstrip(": ") + tail
    if len(text) > limit:
        # Only a link longer than any sane base URL gets here: keep the link, drop the head.
        text = tail.strip()[-limit:]
    return text


def check_lines(check: Check | None) -> list[str]:
    """What the last check saw, as the email gives it (the chat card lays it out as facts)."""
    return _check_lines(check)


def _check_lines(check: Check | None) -> list[str]:
    if check is None:
        return ["No check has completed yet."]
    out = [f"What the last check saw ({uk_datetime_seconds(check.at)}): {check.reason}"]
    if check.status is not None:
        out.append(f"  status: {check.status}")
    if check.error:
        out.append(f"  error: {check.error}")
    if check.final_url:
        out.append(f"  final URL: {check.final_url}")
    if check.judged_url and check.judged_url != check.final_url:
        out.append(f"  judged: {check.judged_url}")
    if check.redirects:
        out.append(f"  redirects: {' -> '.join(check.redirects)}")
    cache = [f"{name}: {value}" for name, value in check.cache_headers()]
    if cache:
        out.append(f"  cache: {'; '.join(cache)}")
    if check.public is not None:  # the lines above are the origin's (cache-busted) answer
        out.append(f"  public path (not cache-busted): {check.public.summary()}")
    return out
