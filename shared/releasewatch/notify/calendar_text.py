"""The wording of calendar change notices (calendar/changes.py): a moved date, a cancellation,
an exact date taken back (provisional again), an announcement gone from its calendar. Times in
Europe/London; GOV.UK's own note quoted as given (cleaned of control characters), and its
absence said plainly."""

from __future__ import annotations

from datetime import datetime

from ..calendar.announcement import plain
from ..model import NotificationKind
from ..timefmt import uk_datetime
from .context import MessageContext, fit_sms


def _detail(ctx: MessageContext) -> tuple[datetime, datetime, str]:
    change = ctx.change
    if change is None:  # the event was not found: refuse rather than guess the dates
        raise ValueError("the calendar change this notice tells of is not recorded")
    old = datetime.fromisoformat(change["old_due"])
    new = datetime.fromisoformat(change["new_due"])
    return old, new, plain(change.get("note", ""))


def _wording(ctx: MessageContext) -> str:
    """What the calendar says instead of a date ("August to September 2026")."""
    return plain(ctx.release.unconfirmed or "") or "no exact date"


def _note(ctx: MessageContext, label: str, none: str) -> str:
    _, _, note = _detail(ctx)
    if note:
        return f"{label}: {note}"
    error = plain((ctx.change or {}).get("note_error", ""))
    return f"{label}: could not be read from GOV.UK ({error})." if error else none


def _from_page(ctx: MessageContext) -> bool:
    """Seen on the announcement itself by a probe, not in a calendar sync (changes.PAGE)."""
    return (ctx.change or {}).get("source") == "page"


def subject(ctx: MessageContext) -> str:
    old, new, _ = _detail(ctx)
    title, kind = ctx.release.title, ctx.notification.kind
    if kind == NotificationKind.DATE_CHANGED:
        return f"Date changed: {title} is now due {uk_datetime(new)}"
    if kind == NotificationKind.CANCEL_NOTICE:
        return f"Cancelled: {title} (was due {uk_datetime(old)})"
    if kind == NotificationKind.UNCONFIRMED_NOTICE:
        return f"Date no longer confirmed: {title} (was due {uk_datetime(old)})"
    return f"Gone from the calendar: {title} (due {uk_datetime(old)})"


def sms(ctx: MessageContext) -> str:
    old, new, _ = _detail(ctx)
    kind = ctx.notification.kind
    if kind == NotificationKind.DATE_CHANGED:
        head, tail = "RW DATE CHANGED: ", f" was {uk_datetime(old)}, now {uk_datetime(new)}."
    elif kind == NotificationKind.CANCEL_NOTICE:
        head, tail = "RW CANCELLED: ", f" (was due {uk_datetime(old)}). Not watched any more."
    elif kind == NotificationKind.UNCONFIRMED_NOTICE:
        head = "RW DATE NOT CONFIRMED: "
        wording = _wording(ctx)
        wording = wording if len(wording) <= 40 else wording[:37].rstrip() + "..."
        tail = f" was due {uk_datetime(old)}, now {wording}; not watched until it has a time."
    else:
        head, tail = "RW GONE FROM CALENDAR, not published: ", f" due {uk_datetime(old)}."
    return fit_sms(head, ctx.release.title, tail)


def email(ctx: MessageContext) -> str:
    old, new, _ = _detail(ctx)
    r, kind = ctx.release, ctx.notification.kind
    lines = [f"Dear {ctx.contact.name},", ""]
    if kind == NotificationKind.DATE_CHANGED:
        lines += [
            f"The release calendar has moved '{r.title}':",
            f"  was due: {uk_datetime(old)}",
            f"  now due: {uk_datetime(new)}",
            "",
            _note(ctx, "Change note", "The calendar gives no change note."),
            "",
            "releasewatch now watches for it at the new time.",
        ]
    elif kind == NotificationKind.CANCEL_NOTICE and _from_page(ctx):
        lines += [
            f"The announcement of '{r.title}', due {uk_datetime(old)}, now says the release "
            "is cancelled.",
            "",
            _note(ctx, "Reason given", "The announcement gives no reason."),
            "",
            "releasewatch has stopped watching it: no alerts will be sent about it.",
        ]
    elif kind == NotificationKind.CANCEL_NOTICE:
        lines += [
            f"The release calendar shows '{r.title}', due {uk_datetime(old)}, as cancelled.",
            "",
            _note(ctx, "Reason given", "The calendar gives no reason."),
            "",
            "releasewatch has stopped watching it: nothing more will be sent about it.",
        ]
    elif kind == NotificationKind.UNCONFIRMED_NOTICE:
        lines += [
            f"The release calendar no longer gives an exact date for '{r.title}', which was "
            f"due {uk_datetime(old)}: it now says {_wording(ctx)}.",
            "",
            _note(ctx, "Change note", "The calendar gives no change note."),
            "",
            "releasewatch has stopped watching it, and will watch it again once the calendar "
            "gives it an exact time.",
        ]
    else:
        lines += [
            f"'{r.title}', due {uk_datetime(old)}, is no longer in its release calendar, "
            "and releasewatch has not seen it published.",
            "It may have been withdrawn, or published at an address releasewatch does not "
            "watch. releasewatch keeps watching it at that time; please check it.",
        ]
    lines += ["", f"Announcement: {r.url}"]
    if ctx.release_url:
        lines.append(f"Release page: {ctx.release_url}")
    lines += [
        "",
        "The Code of Practice for Statistics (T3.2; standard 3.2 of edition 3.0) asks that "
        "changes to pre-announced release dates are agreed and announced with their reasons.",
    ]
    return "\n".join(lines) + "\n"
