"""The wording of every message, in one place. Pure: a MessageContext in, a Message out.

Emails say what is wrong, since when, what the last check saw, who else has been told and
what happens next, and carry the acknowledge link. SMS messages fit one 160-character GSM-7
segment: a character outside GSM-7 (a curly quote, an en dash) would switch the whole text to
UCS-2 and 70 characters. An SMS is built as head + title + tail; only the title is ever
shortened, so the acknowledge link (in the tail) always arrives whole.

Kinds: alert (first), repeat (an alert's later occurrence), breach, early, ack_notice,
resolved, report.
"""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import datetime, timedelta

from ..model import (
    WEBHOOK_CHANNELS,
    Channel,
    Check,
    Contact,
    NotificationKind,
    Release,
    medium,
)
from ..policy import report_recipients
from ..report.code_of_practice import practice_for
from ..timefmt import delay_text, uk_datetime, uk_datetime_seconds, uk_time
from . import calendar_text, readiness_text, rota_text
from .base import Attachment, Message
from .card_text import card as chat_card
from .context import SMS_LIMIT, MessageContext, check_lines, fit_sms, to_gsm7
from .inert import one_line

_CHANGE_KINDS = ("date_changed", "cancel_notice", "gone_notice", "unconfirmed_notice")


def render(ctx: MessageContext) -> Message:
    ctx = _with_one_line_title(ctx)
    n = ctx.notification
    address = ctx.contact.address(n.channel)
    if address is None:
        raise ValueError(f"contact {ctx.contact.id} has no {n.channel} address")
    if n.kind.value.startswith("ready_"):  # readiness, the day before: its own wording
        text = readiness_text.sms(ctx) if medium(n.channel) == "sms" else readiness_text.email(ctx)
        return _message(ctx, n.channel, address, readiness_text.subject(ctx), text)
    if n.kind.value in _CHANGE_KINDS:  # the calendar moved, cancelled or lost it
        text = calendar_text.sms(ctx) if medium(n.channel) == "sms" else calendar_text.email(ctx)
        return _message(ctx, n.channel, address, calendar_text.subject(ctx), text)
    if n.kind == NotificationKind.ROTA_GAP:  # nobody on call, seen days ahead
        text = rota_text.sms(ctx) if medium(n.channel) == "sms" else rota_text.email(ctx)
        return _message(ctx, n.channel, address, rota_text.subject(ctx), text)
    subject = _subject(ctx)
    if medium(n.channel) == "sms":
        text = sms_text(ctx)
        return _message(ctx, n.channel, address, subject, text)
    _one_line_subject(subject)  # also a chat card's one-line title
    body = _email_text(ctx)
    attachments = ctx.report_attachments if n.kind == NotificationKind.REPORT else ()
    return _message(ctx, n.channel, address, subject, body, attachments)


def _with_one_line_title(ctx: MessageContext) -> MessageContext:
    """The title comes from a calendar: a line break in it (imported or pushed unchecked) must
    neither forge a line of a text or email nor stop the alert, so it becomes a space."""
    title = one_line(ctx.release.title)
    if title == ctx.release.title:
        return ctx
    return dataclasses.replace(ctx, release=ctx.release.model_copy(update={"title": title}))


def _one_line_subject(subject: str) -> None:
    """An email subject is one header line: a line break or other control character in it (from
    a release title that reached the store unchecked) can never be sent, so say so plainly."""
    for ch in subject:
        if unicodedata.category(ch) in ("Cc", "Zl", "Zp"):
            raise ValueError(
                f"the email subject would contain a control character (U+{ord(ch):04X}), from "
                "the release title; remove it from the title in the config"
            )


def _message(
    ctx: MessageContext,
    channel: Channel,
    to: str,
    subject: str,
    text: str,
    attachments: tuple[Attachment, ...] = (),
) -> Message:
    card = None
    if channel in WEBHOOK_CHANNELS:  # a chat post: the email's words laid out as a card
        card = chat_card(ctx, subject, text)
    return Message(
        channel=channel,
        to=to,
        contact_id=ctx.contact.id,
        contact_name=ctx.contact.name,
        subject=subject,
        text=text,
        attachments=attachments,
        key=ctx.notification.key,
        card=card,
    )


def _late_by(ctx: MessageContext) -> str:
    return delay_text(ctx.now - ctx.release.due)


def is_late(ctx: MessageContext) -> bool:
    """Late as docs/how-it-decides.md defines it: not live once the grace period has passed.
    Inside the grace a release is not late yet, so no message may call it that."""
    return ctx.now > ctx.release.due + ctx.release.grace


def _lateness(ctx: MessageContext) -> str:
    """'10 min late', or inside the grace 'not live 1 min after its due time'."""
    if is_late(ctx):
        return f"{_late_by(ctx)} late"
    return f"not live {_late_by(ctx)} after its due time"


def _person(contact: Contact) -> str:
    """'Charlie Head (head of profession)'; just the name when it is the role."""
    role = contact.role.replace("_", " ")
    if not role or contact.name.lower() == role.lower():
        return contact.name
    return f"{contact.name} ({role})"


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def report_to(release: Release) -> str | None:
    """Who really receives the breach report draft (policy.report_recipients), by name and
    role; None when nobody does."""
    names = [_person(release.contacts[c]) for c in report_recipients(release)]
    return _and(names) if names else None


def breach_notified(release: Release) -> str | None:
    """Who the chain's breach steps tell, by name and role; None when it has none."""
    names = [_person(release.contacts[c]) for c in release.breach_contacts()]
    return _and(names) if names else None


def _report_sentence(release: Release, before: str) -> str:
    """'<before>: <who> receive(s) a draft breach report', or that nobody is set up to."""
    who = report_to(release)
    if who is None:
        return (
            f"{before}. No draft breach report is sent: the config names no head of profession "
            "or lead official with an email address, and no breach step; `releasewatch report "
            f"{release.id}` drafts one."
        )
    verb = "receives" if len(report_recipients(release)) == 1 else "receive"
    return f"{before}: {who} {verb} a draft breach report"


def _hhmm(when: datetime) -> str:
    return uk_time(when)[:5]


def _hold_until(ctx: MessageContext) -> datetime | None:
    return ctx.acked_at + ctx.release.ack_timeout if ctx.acked_at else None


def _subject(ctx: MessageContext) -> str:
    r, n = ctx.release, ctx.notification
    due = uk_time(r.due)
    match n.kind:
        case NotificationKind.ALERT:
            if ctx.reminder:
                late = _lateness(ctx)
                return f"STILL NOT LIVE (reminder {ctx.reminder}): {r.title} (due {due}, {late})"
            return f"NOT LIVE: {r.title} (due {due}, {_lateness(ctx)})"
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
        case NotificationKind.PAGE_LOST:
            return f"PAGE LOST: {r.title} was live but is not any more"
        case NotificationKind.PAGE_BACK:
            return f"Page back: {r.title} is live again"
    raise ValueError(n.kind)  # pragma: no cover


def _delay_phrase(ctx: MessageContext) -> str:
    if ctx.live_at is None:
        return ""
    delta = ctx.live_at - ctx.release.due
    if timedelta(0) <= delta <= ctx.release.grace:
        return " on time"
    if delta < timedelta(0):
        return f", {delay_text(delta)} early"
    if ctx.late_unproven:
        return f", first checked {delay_text(delta)} after due"
    return f", {delay_text(delta)} late"


def _by_govuk(ctx: MessageContext) -> bool:
    """Whether the live time is GOV.UK's first_published_at rather than a check's answer."""
    check = ctx.last_check
    return check is not None and ctx.live_at is not None and check.published_at == ctx.live_at


def _seen(check: Check | None, limit: int = 14) -> str:
    if check is None:
        return "no check yet"
    what = f"HTTP {check.status}" if check.status is not None else (check.error or "no answer")
    return what[:limit]


# -- SMS -----------------------------------------------------------------------------------------
def sms_text(ctx: MessageContext) -> str:
    """One GSM-7 segment: '<head><title><tail>'; the title gives way, the link never does."""
    r, n = ctx.release, ctx.notification
    due = _hhmm(r.due)
    now = _hhmm(ctx.now)
    ack = f" Ack {ctx.ack_url}" if ctx.ack_url else ""
    match n.kind:
        case NotificationKind.ALERT:
            word = "STILL NOT LIVE" if ctx.reminder else "NOT LIVE"
            head = f"RW {word} {now} (due {due}, {_seen(ctx.last_check)}): "
            tail = ack
        case NotificationKind.BREACH:
            late = f"{_late_by(ctx)} late" if is_late(ctx) else f"{_late_by(ctx)} after due"
            head = f"RW BREACH not live {now} (due {due}, {late}): "
            tail = ack
        case NotificationKind.EARLY:
            head = f"RW BREACH live EARLY {_hhmm(ctx.live_at or ctx.now)} (due {due}): "
            tail = ". Report to follow." if report_recipients(r) else "."
        case NotificationKind.RESOLVED:
            live = _hhmm(ctx.live_at or ctx.now)
            head = f"RW RESOLVED live {live}{_delay_phrase(ctx)}: "
            tail = ". Stand down."
        case NotificationKind.ACK_NOTICE:
            who = to_gsm7(ctx.acked_by or "someone")[:30]
            at = _hhmm(ctx.acked_at or ctx.now)
            hold = _hold_until(ctx)
            head = f"RW ACK {who} is on it ({at}): "
            if hold and ctx.held_steps and ctx.now >= hold:
                tail = f". Hold ended {_hhmm(hold)}."
            else:
                tail = f". Alerts held to {_hhmm(hold)}." if hold and ctx.held_steps else "."
        case NotificationKind.REPORT:
            head = "RW breach report draft emailed: "
            tail = "."
        case NotificationKind.PAGE_LOST:
            head = f"RW PAGE LOST {_hhmm(n.due_at)}, was live (now {_seen(ctx.last_check)}): "
            tail = ". Polling on."
        case NotificationKind.PAGE_BACK:
            head = f"RW page back, live again {now}: "
            tail = "."
        case _:  # pragma: no cover
            raise ValueError(n.kind)
    if n.kind in (NotificationKind.ALERT, NotificationKind.BREACH):
        # The code is added to what the text is today: the title gives way no further.
        reply = ""
        if ctx.reply_code:
            reply = f" Reply ACK {ctx.reply_code}"
        elif ctx.replies_locked:
            reply = REPLIES_LOCKED
        if reply:
            return fit_sms(head, r.title, tail + reply, SMS_LIMIT + len(reply))
    return fit_sms(head, r.title, tail)


REPLIES_LOCKED = " Replies locked after wrong codes."


# -- email ---------------------------------------------------------------------------------------
def _email_text(ctx: MessageContext) -> str:
    r, n = ctx.release, ctx.notification
    lines = [f"Dear {ctx.contact.name},", "", *rota_text.on_call_line(ctx)]
    match n.kind:
        case NotificationKind.ALERT | NotificationKind.BREACH:
            if is_late(ctx):
                lines.append(
                    f"'{r.title}' was due at {uk_datetime(r.due)} and is not live: "
                    f"{_late_by(ctx)} late at {uk_time(ctx.now)}."
                )
            else:
                lines.append(
                    f"'{r.title}' was due at {uk_datetime(r.due)} and is not live "
                    f"{_late_by(ctx)} after its due time (at {uk_time(ctx.now)}). It is not "
                    f"late yet: it counts as late once its {delay_text(r.grace)} grace period "
                    "has passed."
                )
            checked = ctx.first_checked_late_at
            if checked is not None:
                lines.append(
                    f"It was first checked at {_hhmm(checked)}, {delay_text(checked - r.due)} "
                    "after it was due: releasewatch was not watching it at the due time (added "
                    "late, or not running), so this alert starts late."
                )
            elif ctx.first_failure_at is not None:
                lines.append(
                    f"Not live since {uk_datetime(ctx.first_failure_at)} (the first check after "
                    "the due time)."
                )
            if ctx.reminder and ctx.first_alerted_at is not None:
                lines.append(
                    f"This is reminder {ctx.reminder}; you were first alerted at "
                    f"{uk_time(ctx.first_alerted_at)}."
                )
            if n.kind == NotificationKind.BREACH:
                lines += [
                    "",
                    "This is a breach of the Code of Practice for Statistics "
                    f"({practice_for(r.due).short}): the release time was announced in advance "
                    "and has not been kept.",
                    "Breach notices are never held by acknowledgements.",
                ]
            lines += ["", *check_lines(ctx.last_check), "", f"Page: {r.url}"]
        case NotificationKind.EARLY:
            found = (
                "GOV.UK gives its first publication as" if _by_govuk(ctx) else "was found live at"
            )
            lines += [
                f"'{r.title}' was due at {uk_datetime(r.due)} but {found} "
                f"{uk_datetime(ctx.live_at or ctx.now)}: it was released early.",
                "Early release is a breach of the Code of Practice for Statistics "
                f"({practice_for(r.due).short}).",
                "",
                *check_lines(ctx.last_check),
                "",
                f"Page: {r.url}",
                _report_sentence(r, "Polling continues to confirm the page stays up") + ".",
            ]
        case NotificationKind.RESOLVED:
            live = ctx.live_at or ctx.now
            # live_at is GOV.UK's first_published_at when it gave one: not when releasewatch
            # confirmed the page, so it is not called that.
            confirmed = (
                "GOV.UK gives its first publication as" if _by_govuk(ctx) else "confirmed at"
            )
            lines += [
                f"'{r.title}' is live: {confirmed} {uk_datetime_seconds(live)}"
                f"{_delay_phrase(ctx)} (due {uk_datetime(r.due)}).",
            ]
            published = ctx.last_check.published_at if ctx.last_check else None
            if published is not None and not _by_govuk(ctx):
                lines.append(
                    f"GOV.UK gives its first publication as {uk_datetime_seconds(published)}."
                )
            lines += ["No further alerts will be sent for it."]
            if ctx.live_at is not None and ctx.late_unproven:
                unsure = (
                    f"releasewatch did not check it between its due time and "
                    f"{_hhmm(ctx.live_at)}, so it cannot tell whether it went live on time"
                )
                sentence = _report_sentence(r, unsure)
                lines.append(sentence + (" to confirm or discard." if report_to(r) else ""))
            elif ctx.live_at is not None and _delay_phrase(ctx) != " on time":
                before = "It was not released at its announced time"
                lines.append(_report_sentence(r, before) + ("." if report_to(r) else ""))
            lines += ["", f"Page: {r.url}"]
        case NotificationKind.ACK_NOTICE:
            when = uk_time(ctx.acked_at) if ctx.acked_at else "just now"
            hold = _hold_until(ctx)
            if hold and not ctx.held_steps:
                # The chain has no later alert step inside the hold: nothing is held.
                held = (
                    f"No later alert step falls between {uk_time(ctx.acked_at or ctx.now)} and "
                    f"{uk_time(hold)}, so the acknowledgement holds nothing else."
                )
            elif hold and ctx.now >= hold:
                # Sent to someone first alerted after the hold ended: say what happened.
                held = (
                    f"Later alert steps were held until {uk_time(hold)}; the page was still not "
                    "live then, so escalation has resumed."
                )
            elif hold:
                held = (
                    f"Later alert steps are held until {uk_time(hold)}; if the page is still not "
                    "live then, escalation resumes."
                )
            else:
                held = (
                    "Later alert steps are held for the acknowledgement timeout; if the page is "
                    "still not live then, escalation resumes."
                )
            lines += [
                f"{_sentence_start(ctx.acked_by or 'Someone')} acknowledged the alert for "
                f"'{r.title}' at {when} "
                "and is dealing with it.",
                held,
                *_breach_never_held(r),
                "",
                *check_lines(ctx.last_check),
            ]
        case NotificationKind.PAGE_LOST:
            live = ctx.live_at or n.due_at
            lines += [
                f"'{r.title}' was confirmed live at {uk_datetime_seconds(live)}, but since "
                f"{uk_datetime_seconds(n.due_at)} it no longer passes its live rule: it may have "
                "been withdrawn or replaced. Do not rely on the earlier resolution notice.",
                "",
                *check_lines(ctx.last_check),
                "",
                f"Page: {r.url}",
                "releasewatch keeps checking and will tell you when it is back.",
            ]
        case NotificationKind.PAGE_BACK:
            lines += [
                f"'{r.title}' passes its live rule again (checked {uk_time(ctx.now)}), after "
                f"being lost from {uk_datetime_seconds(n.due_at)}.",
                "",
                *check_lines(ctx.last_check),
                "",
                f"Page: {r.url}",
            ]
        case NotificationKind.REPORT if ctx.late_unproven and ctx.live_at is not None:
            lines += [
                f"'{r.title}' was first seen live at {uk_time(ctx.live_at)}, "
                f"{delay_text(ctx.live_at - r.due)} after its announced time, but releasewatch "
                "did not check it in between: it may have been released on time. A draft breach "
                "report is below and attached (Word); confirm when it went live first, and "
                "discard the draft if it was on time.",
                "",
                ctx.report_text or "(report unavailable)",
            ]
        case NotificationKind.REPORT:
            lines += [
                f"'{r.title}' was not released at its announced time. A draft breach report "
                "is below and attached (Word); complete the marked blanks and send it on.",
                "",
                ctx.report_text or "(report unavailable)",
            ]
    if n.kind in (NotificationKind.ALERT, NotificationKind.BREACH):
        told = ", ".join(ctx.others_told) if ctx.others_told else "nobody else yet"
        lines += ["", f"Also told: {told}."]
        if ctx.unreachable:
            lines.append(
                f"Could not be reached (every channel failed): {', '.join(ctx.unreachable)}. "
                "Please try them another way."
            )
        if ctx.next_step is not None:
            next_at, who = ctx.next_step
            lines.append(f"Next: {', '.join(who)} at {uk_time(next_at)} if still not live.")
        else:
            lines.append(_no_next_step(ctx))
        if ctx.ack_url:
            lines += [
                "",
                f"Acknowledge: {ctx.ack_url}",
                "(Stops reminders to you and tells the others you are on it; later alert steps "
                f"wait {delay_text(r.ack_timeout)}. The link opens a page with a button: "
                "nothing happens until you press it.)",
            ]
    if ctx.release_url:
        lines += ["", f"Status: {ctx.release_url}"]
    lines += ["", "-- releasewatch"]
    return "\n".join(lines)


def _breach_never_held(release: Release) -> list[str]:
    who = breach_notified(release)
    return [f"Breach notices to {who} are never held."] if who else []


def _sentence_start(text: str) -> str:
    return text[:1].upper() + text[1:]


def _no_next_step(ctx: MessageContext) -> str:
    """The chain has no later step: only this step's own repeat (if it has one) follows."""
    steps, index = ctx.release.steps, ctx.notification.step
    repeat = steps[index].repeat if index is not None and 0 <= index < len(steps) else None
    if repeat is not None:
        return (
            f"Next: a reminder to you every {delay_text(repeat)} until the page is live "
            "(the chain has no later step)."
        )
    return (
        "Next: no further alert is planned (the chain has no later step); releasewatch keeps "
        "checking and will tell you when the page is live."
    )
