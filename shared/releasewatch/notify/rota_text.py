"""The wording of rota messages: the gap notice sent days ahead, and the line an alert carries
when it reaches someone through a rota (or instead of a rota that had nobody on call)."""

from __future__ import annotations

from ..model import Release
from ..readiness.policy import day_phrase
from ..readiness.rota_gaps import gap_times
from ..timefmt import uk_time
from .context import MessageContext, fit_sms


def _when(release: Release, ctx: MessageContext) -> list[str]:
    return [
        f"{uk_time(at)[:5]} {day_phrase(at, ctx.now)} ({_name(release, rid)})"
        for at, rid in gap_times(release)
        if at > ctx.now
    ]


def _name(release: Release, contact_id: str) -> str:
    contact = release.contacts.get(contact_id)
    return contact.name if contact is not None else contact_id


def subject(ctx: MessageContext) -> str:
    return f"Nobody on call: {ctx.release.title} (due {uk_time(ctx.release.due)[:5]})"


def sms(ctx: MessageContext) -> str:
    r = ctx.release
    due = f"{uk_time(r.due)[:5]} {day_phrase(r.due, ctx.now)}"
    return fit_sms("RW NOBODY ON CALL for ", r.title, f" due {due}. Fix the rota.")


def email(ctx: MessageContext) -> str:
    r = ctx.release
    gaps = _when(r, ctx) or ["(none left: the rota has been filled since)"]
    return "\n".join(
        [
            f"Dear {ctx.contact.name},",
            "",
            f"'{r.title}' is due at {uk_time(r.due)[:5]} {day_phrase(r.due, ctx.now)}, and its "
            "chain names a rota with nobody on call at:",
            *[f"- {g}" for g in gaps],
            "",
            "Nobody would be told through that rota then. Put someone on the rota; until then "
            "the chain's first step is told in its place. This notice is sent once.",
        ]
    )


def on_call_line(ctx: MessageContext) -> list[str]:
    """What an alert says about the rota it came through, if any."""
    n = ctx.notification
    if n.on_call_for is None:
        return []
    rota = _name(ctx.release, n.on_call_for)
    if n.rota_gap:
        return [
            f"Nobody was on call for {rota} at {uk_time(n.due_at)[:5]}: you are told "
            "instead, as the chain's first step.",
            "",
        ]
    return [f"You are told as on call for {rota}.", ""]
