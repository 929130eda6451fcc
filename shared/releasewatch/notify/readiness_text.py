"""The wording of the readiness messages (the working day before; see readiness/policy.py).

Every day is named relative to the moment the message is built, in Europe/London: "tomorrow"
only when it is, "on Monday 7 April" otherwise. Each message carries the confirm link.
"""

from __future__ import annotations

from datetime import datetime

from ..model import NotificationKind, Release
from ..readiness.policy import day_phrase, schedule
from ..timefmt import uk_time
from .context import MessageContext, fit_sms


def _hhmm(when: datetime) -> str:
    return uk_time(when)[:5]


def when(at: datetime, now: datetime) -> str:
    """'09:30 tomorrow', '16:00 today', '09:30 on Monday 7 April'."""
    return f"{_hhmm(at)} {day_phrase(at, now)}"


def _names(release: Release, ids: tuple[str, ...]) -> str:
    names = [release.contacts[c].name for c in ids if c in release.contacts]
    return ", ".join(names)


def subject(ctx: MessageContext) -> str:
    r, kind = ctx.release, ctx.notification.kind
    due = when(r.due, ctx.now)
    if kind == NotificationKind.READY_REMIND:
        return f"Is it scheduled? {r.title} is due at {due}"
    if kind == NotificationKind.READY_ESCALATE:
        return f"Not confirmed ready: {r.title} (due {due})"
    return f"Last call, not confirmed ready: {r.title} (due {due})"


def sms(ctx: MessageContext) -> str:
    r, kind = ctx.release, ctx.notification.kind
    due = when(r.due, ctx.now)
    link = f" Confirm: {ctx.confirm_url}" if ctx.confirm_url else ""
    if kind == NotificationKind.READY_REMIND:
        head, tail = "RW READY? ", f" due {due}. Uploaded and scheduled?{link}"
    elif kind == NotificationKind.READY_ESCALATE:
        head, tail = "RW NOT CONFIRMED READY: ", f" due {due}.{link}"
    else:
        head, tail = "RW LAST CALL, not confirmed ready: ", f" due {due}.{link}"
    return fit_sms(head, r.title, tail)


def email(ctx: MessageContext) -> str:
    r, kind, now = ctx.release, ctx.notification.kind, ctx.now
    plan = schedule(r)
    readiness = r.readiness
    due = when(r.due, now)
    from .rota_text import on_call_line

    lines = [f"Dear {ctx.contact.name},", "", *on_call_line(ctx)]
    if kind == NotificationKind.READY_REMIND:
        lines.append(f"{r.title} is due at {due}: confirm the page is uploaded and scheduled.")
    elif kind == NotificationKind.READY_ESCALATE:
        asked = _names(r, readiness.notify) if readiness else ""
        lines.append(
            f"Nobody has confirmed that {r.title}, due at {due}, is uploaded and scheduled."
        )
        if plan is not None and asked:
            lines.append(f"{asked} were asked at {when(plan.remind, now)}.")
        lines.append("Please make sure someone uploads and schedules it, then confirm.")
    else:
        lines.append(
            f"{r.title} is due at {due} and nobody has confirmed that the page is uploaded "
            "and scheduled. Please check now, before it is due."
        )
    lines += ["", f"Page: {r.publication_url or r.url}"]
    if ctx.confirm_url:
        lines.append(f"Confirm it is ready (opens a page with a Confirm button): {ctx.confirm_url}")
    if plan is not None and readiness is not None:
        if kind == NotificationKind.READY_REMIND and now < plan.escalate:
            told = _names(r, readiness.escalate_to)
            if told:
                lines += [
                    "",
                    f"If nobody confirms by {when(plan.escalate, now)}, {told} will be told.",
                ]
        if kind in (NotificationKind.READY_REMIND, NotificationKind.READY_ESCALATE):
            first = _names(r, r.steps[0].notify)
            if now < plan.last_call and first:
                lines.append(
                    f"If nobody confirms by {when(plan.last_call, now)}, {first} will be alerted."
                )
    if ctx.release_url:
        lines += ["", f"Release page: {ctx.release_url}"]
    lines += ["", "releasewatch"]
    return "\n".join(lines)
