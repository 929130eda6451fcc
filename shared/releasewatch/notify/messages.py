"""The wording of every message, in one place. Pure: a MessageContext in, a Message out.

Emails say what is wrong, since when, what the last check saw, who else has been told and
what happens next. SMS messages fit one 160-character GSM-7 segment: a character outside
GSM-7 (a curly quote, an en dash) would switch the whole text to UCS-2 and 70 characters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..model import Channel, Check, Contact, Notification, NotificationKind, Release
from ..timefmt import delay_text, uk_datetime, uk_time
from .base import Attachment, Message

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
    next_step: tuple[datetime, tuple[str, ...]] | None = None  # when, and who (names)
    ack_url: str | None = None
    release_url: str | None = None
    acked_by: str | None = None
    acked_at: datetime | None = None
    report_text: str | None = None
    report_attachments: tuple[Attachment, ...] = ()


def to_gsm7(text: str) -> str:
    out: list[str] = []
    for ch in text:
        ch = _ASCII_FOR.get(ch, ch)
        out.extend(c if c in _GSM7 else "?" for c in ch)
    return "".join(out)


def render(ctx: MessageContext) -> Message:
    n = ctx.notification
    address = ctx.contact.address(n.channel)
    if address is None:
        raise ValueError(f"contact {ctx.contact.id} has no {n.channel} address")
    subject = _subject(ctx)
    if n.channel == "sms":
        text = sms_text(ctx)
        return _message(ctx, n.channel, address, subject, text)
    body = _email_text(ctx)
    attachments = ctx.report_attachments if n.kind == NotificationKind.REPORT else ()
    return _message(ctx, n.channel, address, subject, body, attachments)


def _message(
    ctx: MessageContext,
    channel: Channel,
    to: str,
    subject: str,
    text: str,
    attachments: tuple[Attachment, ...] = (),
) -> Message:
    return Message(
        channel=channel,
        to=to,
        contact_id=ctx.contact.id,
        contact_name=ctx.contact.name,
        subject=subject,
        text=text,
        attachments=attachments,
        key=ctx.notification.key,
    )


def _late_by(ctx: MessageContext) -> str:
    return delay_text(ctx.now - ctx.release.due)


def _subject(ctx: MessageContext) -> str:
    r, n = ctx.release, ctx.notification
    due = uk_time(r.due)
    match n.kind:
        case NotificationKind.ALERT:
            again = " (reminder)" if n.occurrence else ""
            return f"NOT LIVE{again}: {r.title} (due {due}, {_late_by(ctx)} late)"
        case NotificationKind.BREACH:
            return f"BREACH: {r.title} still not live, {_late_by(ctx)} after {due}"
        case NotificationKind.EARLY:
            return f"BREACH: {r.title} released early, before {due}"
        case NotificationKind.RESOLVED:
            return f"RESOLVED: {r.title} is live{_delay_phrase(ctx)}"
        case NotificationKind.ACK_NOTICE:
            return f"Acknowledged: {r.title}, {ctx.acked_by or 'someone'} is on it"
        case NotificationKind.REPORT:
            return f"Breach report draft: {r.title}"
    raise ValueError(n.kind)  # pragma: no cover


def _delay_phrase(ctx: MessageContext) -> str:
    if ctx.live_at is None:
        return ""
    delta = ctx.live_at - ctx.release.due
    if delta.total_seconds() <= ctx.release.grace.total_seconds() and delta.total_seconds() >= 0:
        return " on time"
    if delta.total_seconds() < 0:
        return f", {delay_text(delta)} early"
    return f", {delay_text(delta)} late"


def _seen(check: Check | None) -> str:
    if check is None:
        return "no check yet"
    what = f"HTTP {check.status}" if check.status is not None else (check.error or "no answer")
    return what


def sms_text(ctx: MessageContext) -> str:
    r, n = ctx.release, ctx.notification
    due = uk_time(r.due)[:5]
    now = uk_time(ctx.now)[:5]
    ack = f" Ack: {ctx.ack_url}" if ctx.ack_url and n.kind == NotificationKind.ALERT else ""
    match n.kind:
        case NotificationKind.ALERT:
            word = "STILL NOT LIVE" if n.occurrence else "NOT LIVE"
            tail = f" due {due}, {word} at {now} ({_seen(ctx.last_check)}).{ack}"
        case NotificationKind.BREACH:
            tail = f" due {due}, still not live at {now}: breach, {_late_by(ctx)} late."
        case NotificationKind.EARLY:
            live = uk_time(ctx.live_at or ctx.now)[:5]
            tail = f" LIVE EARLY at {live}, due {due}: breach."
        case NotificationKind.RESOLVED:
            live = uk_time(ctx.live_at or ctx.now)[:5]
            tail = f" live at {live}{_delay_phrase(ctx)}. Stand down."
        case NotificationKind.ACK_NOTICE:
            tail = f" acknowledged by {ctx.acked_by or 'someone'}."
        case NotificationKind.REPORT:
            tail = " breach report draft sent by email."
    prefix = "RW: "
    room = SMS_LIMIT - len(prefix) - len(to_gsm7(tail)) - 2
    title = to_gsm7(r.title)
    if room < 8:
        title = ""
    elif len(title) > room:
        title = title[: room - 3].rstrip() + "..."
    return to_gsm7(f"{prefix}'{title}'{tail}" if title else f"{prefix}{tail.strip()}")[:SMS_LIMIT]


def _email_text(ctx: MessageContext) -> str:
    r, n = ctx.release, ctx.notification
    lines = [f"Dear {ctx.contact.name},", ""]
    match n.kind:
        case NotificationKind.ALERT | NotificationKind.BREACH:
            since = ctx.first_failure_at or r.due
            lines += [
                f"The release '{r.title}' was due at {uk_datetime(r.due)} and is not live.",
                f"It has been missing since {uk_datetime(since)}; now {uk_time(ctx.now)} "
                f"({_late_by(ctx)} late).",
            ]
            if n.kind == NotificationKind.BREACH:
                lines += [
                    "",
                    "This is a breach of the Code of Practice for Statistics (T3.6, orderly "
                    "release): the release time was announced in advance and has not been kept.",
                ]
            lines += ["", *_check_lines(ctx.last_check), ""]
            lines.append(f"Page: {r.url}")
        case NotificationKind.EARLY:
            lines += [
                f"The release '{r.title}' was due at {uk_datetime(r.due)} but was found live "
                f"at {uk_datetime(ctx.live_at or ctx.now)}: it was released early.",
                "Early release is a breach of the Code of Practice for Statistics (T3.6).",
                "",
                *_check_lines(ctx.last_check),
                "",
                f"Page: {r.url}",
                "Polling continues to confirm the page stays up.",
            ]
        case NotificationKind.RESOLVED:
            live = ctx.live_at or ctx.now
            lines += [
                f"The release '{r.title}' is live: confirmed at {uk_datetime(live)}"
                f"{_delay_phrase(ctx)} (due {uk_datetime(r.due)}).",
                "No further alerts will be sent for it.",
                "",
                f"Page: {r.url}",
            ]
        case NotificationKind.ACK_NOTICE:
            when = uk_time(ctx.acked_at) if ctx.acked_at else "just now"
            lines += [
                f"{ctx.acked_by or 'Someone'} acknowledged the alert for '{r.title}' at {when}.",
                "Later alert steps are held for the acknowledgement timeout; if the page is "
                "still not live then, escalation resumes. Breach notices are never held.",
            ]
        case NotificationKind.REPORT:
            lines += [
                f"'{r.title}' was not released at its announced time. A draft breach report "
                "is below and attached; complete the marked blanks and send it on.",
                "",
                ctx.report_text or "(report unavailable)",
            ]
    if n.kind in (NotificationKind.ALERT, NotificationKind.BREACH):
        told = ", ".join(ctx.others_told) if ctx.others_told else "nobody else yet"
        lines += ["", f"Also told: {told}."]
        if ctx.next_step is not None:
            next_at, who = ctx.next_step
            lines.append(f"Next: {', '.join(who)} at {uk_time(next_at)} if still not live.")
        else:
            lines.append("Next: reminders continue until the page is live.")
        if ctx.ack_url:
            lines += ["", f"Acknowledge (stops reminders to you): {ctx.ack_url}"]
    if ctx.release_url:
        lines += ["", f"Status: {ctx.release_url}"]
    lines += ["", "-- releasewatch"]
    return "\n".join(lines)


def _check_lines(check: Check | None) -> list[str]:
    if check is None:
        return ["No check has completed yet."]
    out = [f"Last check at {uk_datetime(check.at)}: {check.reason}"]
    if check.status is not None:
        out.append(f"  status: {check.status}")
    if check.error:
        out.append(f"  error: {check.error}")
    if check.final_url:
        out.append(f"  final URL: {check.final_url}")
    if check.redirects:
        out.append(f"  redirects: {' -> '.join(check.redirects)}")
    cache = [
        f"{name}: {value}"
        for name, value in (
            ("age", check.age),
            ("cache-control", check.cache_control),
            ("x-cache", check.x_cache),
        )
        if value
    ]
    if cache:
        out.append(f"  cache: {'; '.join(cache)}")
    return out
