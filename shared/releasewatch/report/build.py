"""Breach report draft (Code of Practice for Statistics, T3.6 orderly release).

`build_report(store, release_id)` reads the store and fills the fields of the breach report
form (../shared/GOVUK.md) in the form's order; what only a person can say (the published
statement, impact, corrective actions) is left as a marked blank. render.py lays the same
`BreachReport` out as plain text, Markdown and Word.

Every time is UK local time with its zone named (BST or GMT). Contact details (email
addresses, phone numbers) appear only when asked for: the emailed attachment carries them, the
terminal does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Literal

from ..model import Check, Contact, Event, EventKind, ReleaseRecord
from ..policy import lateness_unproven
from ..readiness.policy import readiness_due
from ..store.base import Store
from ..timefmt import delay_text, uk, uk_datetime, uk_datetime_seconds
from .code_of_practice import EDITION_2, practice_for

BLANK = "[TO COMPLETE]"
PRACTICE = EDITION_2.full  # the Code 2.x wording; practice_for(due) picks the one in force


# The breach report form's fields, in its order (GOVUK.md, "Code of Practice for Statistics").
FIELDS: tuple[tuple[str, str], ...] = (
    ("output", "Title and link to the statistical output"),
    ("producer", "Producer organisation"),
    ("handler", "Person dealing with this report (name, contact)"),
    ("head", "Head of Profession or lead official (name, contact)"),
    ("statement", "Link to published statement about the breach"),
    ("report_date", "Date of report"),
    ("practices", "Relevant principle(s) and practice(s)"),
    ("occurred", "Date of occurrence"),
    ("account", "Account of what happened (roles, dates and times)"),
    ("impact", "Impact inside and outside the producer"),
    ("corrective", "Corrective actions, short and long term"),
)


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    what: str


@dataclass(frozen=True)
class ReportField:
    key: str
    label: str
    lines: tuple[str, ...]

    @property
    def blank(self) -> bool:
        return any(BLANK[:-1] in line for line in self.lines)


@dataclass(frozen=True)
class BreachReport:
    release_id: str
    title: str
    url: str
    producer: str
    breach: Literal["late", "early", "not live yet", "none"]
    due: datetime
    live_at: datetime | None
    published_at: datetime | None
    delay: timedelta | None  # live_at - due (negative: early)
    first_failure: Check | None
    report_date: datetime
    account: tuple[str, ...]  # the narrative paragraphs
    timeline: tuple[TimelineEntry, ...]
    fields: tuple[ReportField, ...]

    def field(self, key: str) -> ReportField:
        return next(f for f in self.fields if f.key == key)


# -- building ------------------------------------------------------------------------------------
def build_report(
    store: Store,
    release_id: str,
    now: datetime | None = None,
    *,
    contact_details: bool = False,
) -> BreachReport:
    """The draft for `release_id`. `now` dates the report (default: the record's last update,
    so a report rebuilt from the same store reads the same). Raises KeyError if unknown."""
    record = store.get_release(release_id)
    if record is None:
        raise KeyError(release_id)
    r = record.release
    checks = store.checks(release_id)
    events = store.events(release_id)
    report_date = now or record.updated_at or r.due
    first_failure = _first_failure(record, checks)
    live_check = _live_check(record, checks)
    published_at = next((c.published_at for c in checks if c.live and c.published_at), None)
    if published_at is None and live_check is not None:
        published_at = live_check.published_at
    delay = record.live_at - r.due if record.live_at is not None else None
    breach = _breach(record, delay)
    delivered = {
        d.key: d.delivered_at for d in store.deliveries(release_id) if d.delivered_at is not None
    }
    timeline = _timeline(record, events, first_failure, live_check, published_at, delivered)
    account = _account(record, breach, first_failure, events, delay, published_at, checks)

    def person(role: str, fallback_role: str | None = None) -> tuple[str, ...]:
        contact = _by_role(r.contacts.values(), role) or (
            _by_role(r.contacts.values(), fallback_role) if fallback_role else None
        )
        if contact is None:
            return (f"{BLANK}: name", f"{BLANK}: contact")
        detail = _contact_detail(contact) if contact_details else f"{BLANK}: contact"
        return (_named(contact), detail)

    occurred = uk(record.live_at if breach == "early" and record.live_at else r.due)
    fields = {
        "output": (r.title, r.url),
        "producer": (r.producer or f"{BLANK}: producer organisation",),
        "handler": person("lead_official"),
        "head": person("head_of_profession", "lead_official"),
        "statement": (f"{BLANK}: link to the published statement about the breach",),
        "report_date": (f"{uk(report_date):%A %d %B %Y} (draft generated {_t(report_date)})",),
        "practices": (practice_for(r.due).full,),
        "occurred": (f"{occurred:%A %d %B %Y}",),
        "account": (
            *account,
            "Timeline (UK local time):",
            *(f"{_t(e.at)}  {e.what}" for e in timeline),
        ),
        "impact": (
            f"{BLANK}: impact inside {r.producer or 'the producer'}",
            f"{BLANK}: impact outside (users, media, markets)",
        ),
        "corrective": (
            f"{BLANK}: short-term corrective actions",
            f"{BLANK}: long-term corrective actions",
        ),
    }
    return BreachReport(
        release_id=r.id,
        title=r.title,
        url=r.url,
        producer=r.producer,
        breach=breach,
        due=r.due,
        live_at=record.live_at,
        published_at=published_at,
        delay=delay,
        first_failure=first_failure,
        report_date=report_date,
        account=account,
        timeline=timeline,
        fields=tuple(ReportField(key, label, tuple(fields[key])) for key, label in FIELDS),
    )


def _t(when: datetime) -> str:
    return uk_datetime_seconds(when)


def _breach(
    record: ReleaseRecord, delay: timedelta | None
) -> Literal["late", "early", "not live yet", "none"]:
    if delay is None:
        return "not live yet"
    if delay < timedelta(0):
        return "early"
    if delay > record.release.grace:
        return "late"
    return "none"


def _first_failure(record: ReleaseRecord, checks: Sequence[Check]) -> Check | None:
    if record.first_failure_at is not None:
        exact = [c for c in checks if c.at == record.first_failure_at]
        if exact:
            return exact[0]
    due = record.release.due
    return next((c for c in checks if c.at >= due and not c.live), None)


def _live_check(record: ReleaseRecord, checks: Sequence[Check]) -> Check | None:
    if record.live_at is None:
        return None
    exact = [c for c in checks if c.live and c.at == record.live_at]
    if exact:
        return exact[0]
    live = [c for c in checks if c.live and c.at >= record.live_at]
    if live:
        return live[0]
    last = record.last_check
    return last if last is not None and last.live else None


def _by_role(contacts: Iterable[Contact], role: str | None) -> Contact | None:
    return next((c for c in contacts if role is not None and c.role == role), None)


def _role(contact: Contact) -> str:
    return contact.role.replace("_", " ") if contact.role else contact.id


def _contact_detail(contact: Contact) -> str:
    parts = [p for p in (contact.email, contact.phone) if p]
    return ", ".join(parts) if parts else f"{BLANK}: contact"


def _who(record: ReleaseRecord, contact_id: str | None) -> str:
    if contact_id is None:
        return "someone"
    contact = record.release.contacts.get(contact_id)
    return _named(contact) if contact else contact_id


def _named(contact: Contact) -> str:
    """'Alice Publisher (web publisher)'; just 'Lead official' when the name is the role."""
    role = _role(contact)
    return contact.name if contact.name.lower() == role.lower() else f"{contact.name} ({role})"


def _seen(check: Check) -> str:
    what = f"HTTP {check.status}" if check.status is not None else (check.error or "no answer")
    parts = [what, check.reason]
    if check.final_url:
        parts.append(f"final URL {check.final_url}")
    if check.judged_url and check.judged_url != check.final_url:
        parts.append(f"judged {check.judged_url}")
    cache = [f"{name} {value}" for name, value in check.cache_headers()]
    if cache:
        parts.append("cache: " + ", ".join(cache))
    if check.public is not None:  # the origin's answer above, what the public got here
        parts.append(f"public path (not cache-busted): {check.public.summary()}")
    return "; ".join(parts)


_KIND_WORDS = {
    "alert": "alert",
    "breach": "breach notice",
    "early": "early-release breach alert",
    "resolved": "resolution notice",
    "ack_notice": "acknowledgement notice",
    "report": "breach report draft",
    "page_lost": "page-lost notice",
    "page_back": "page-back notice",
    "ready_remind": "readiness reminder",
    "ready_escalate": "readiness escalation",
    "ready_last_call": "readiness last call",
}


_CHANNEL_WORDS = {
    "sms": "SMS",
    "email": "email",
    "notify_sms": "SMS (GOV.UK Notify)",
    "notify_email": "email (GOV.UK Notify)",
    "teams": "a Teams post",
    "slack": "a Slack post",
}


def _event_text(
    record: ReleaseRecord, event: Event, delivered: Mapping[str, datetime] | None = None
) -> str | None:
    d = event.detail
    kind = _KIND_WORDS.get(d.get("kind", ""), d.get("kind", "message"))
    channel = _CHANNEL_WORDS.get(d.get("channel", ""), "email")
    extra = ""
    # "reminder" is the count of earlier messages really sent (older events only carry the
    # schedule's occurrence number).
    reminder = d.get("reminder", d.get("occurrence", "0"))
    if reminder not in ("", "0"):
        extra += f" (reminder {reminder})"
    if d.get("fallback_for"):
        extra += " (fallback: the first channel failed)"
    match event.kind:
        case EventKind.NOTIFICATION_SENT:
            # GOV.UK Notify's receipt, when one came: when it reached the phone or inbox.
            at = (delivered or {}).get(d.get("key", ""))
            if at is not None:
                extra += f", delivered {uk(at):%H:%M:%S}"
            return (
                f"{kind.capitalize()} sent by {channel} to {_who(record, event.contact_id)}{extra}"
            )
        case EventKind.NOTIFICATION_FAILED:
            permanence = "permanently" if d.get("permanent") == "true" else "will retry"
            return (
                f"{kind.capitalize()} by {channel} to {_who(record, event.contact_id)} FAILED "
                f"({permanence}): {d.get('reason', 'no reason given')}"
            )
        case EventKind.FALLBACK | EventKind.UNREACHABLE:
            words = "Fallback" if event.kind == EventKind.FALLBACK else "Could not reach"
            reason = d.get("reason", "")
            return f"{words}: {_who(record, event.contact_id)}{f' ({reason})' if reason else ''}"
        case EventKind.ACKNOWLEDGED:
            step = int(d.get("step", "0")) + 1
            return f"Acknowledged by {_who(record, event.contact_id)} (chain step {step})"
        case EventKind.STATE_CHANGED:
            to = d.get("to", "")
            states = {
                "watching": "Watching began (the pre-window before the due time)",
                "late": "Marked late: not live when the grace period ended",
                "live": "State: live on time",
                "live_late": "State: live, late",
                "early": "State: live before its announced time (early)",
                "cancelled": "State: cancelled",
            }
            return states.get(to)
        case EventKind.READY_CONFIRMED:
            # The day before, on the page's own terms: who said it was uploaded and scheduled;
            # for a date the calendar later moved, that date (it did not count for the new one).
            line = f"Readiness confirmed by {_who(record, event.contact_id)} at {_t(event.at)}"
            given = readiness_due(event)
            if given is not None and given != record.release.due:
                line += f" (for the earlier due time {_t(given)})"
            return line
        case EventKind.PAGE_LOST:
            return f"Page stopped passing its live rule: {d.get('reason', '')}".rstrip(": ")
    return None


def _timeline(
    record: ReleaseRecord,
    events: Sequence[Event],
    first_failure: Check | None,
    live_check: Check | None,
    published_at: datetime | None,
    delivered: Mapping[str, datetime] | None = None,
) -> tuple[TimelineEntry, ...]:
    r = record.release
    entries: list[tuple[datetime, int, str]] = [(r.due, 0, "Announced release time")]
    if first_failure is not None:
        entries.append(
            (
                first_failure.at,
                1,
                f"First check after the due time: not live ({_seen(first_failure)})",
            )
        )
    for n, event in enumerate(events):
        text = _event_text(record, event, delivered)
        if text is not None:
            entries.append((event.at, 2 + n, text))
    if record.live_at is not None:
        seen = f" ({_seen(live_check)})" if live_check is not None else ""
        entries.append((record.live_at, 1, f"Confirmed live by releasewatch{seen}"))
    if published_at is not None:
        entries.append((published_at, 1, "GOV.UK first_published_at (publication time)"))
    entries.sort(key=lambda e: (e[0], e[1]))
    return tuple(TimelineEntry(at, what) for at, _, what in entries)


def _account(
    record: ReleaseRecord,
    breach: str,
    first_failure: Check | None,
    events: Sequence[Event],
    delay: timedelta | None,
    published_at: datetime | None,
    checks: Sequence[Check] = (),
) -> tuple[str, ...]:
    r = record.release
    out = [f"'{r.title}' was pre-announced for release at {uk_datetime(r.due)}."]
    out.append(_polling(record, checks))
    if breach == "early" and record.live_at is not None and delay is not None:
        out.append(
            f"releasewatch found it live at {_t(record.live_at)}, {delay_text(delay)} before "
            "the announced time: an early release."
        )
    elif first_failure is not None:
        out.append(
            f"The first check after the due time, at {_t(first_failure.at)}, found it not "
            f"live: {_seen(first_failure)}."
        )
    sent = [e for e in events if e.kind == EventKind.NOTIFICATION_SENT]
    failed = [e for e in events if e.kind == EventKind.NOTIFICATION_FAILED]
    people = list(dict.fromkeys(_who(record, e.contact_id) for e in sent))
    if sent:
        out.append(
            f"releasewatch sent {len(sent)} message(s), to {', '.join(people)}, starting "
            f"{_t(sent[0].at)}; each is listed below."
        )
    if failed:
        out.append(f"{len(failed)} send(s) failed; each is listed below with its reason.")
    acks = [e for e in events if e.kind == EventKind.ACKNOWLEDGED]
    for ack in acks:
        out.append(f"{_who(record, ack.contact_id)} acknowledged the alert at {_t(ack.at)}.")
    unproven = lateness_unproven(r, record.live_at, checks)
    if record.live_at is not None and delay is not None and breach == "late" and unproven:
        out.append(
            f"It was first seen live at {_t(record.live_at)}, {delay_text(delay)} after the "
            "announced time; releasewatch has no check between the due time and then, so it "
            f"cannot tell whether it was released late. {BLANK}: when it went live (if it was "
            "on time, there was no breach)."
        )
    elif record.live_at is not None and delay is not None and breach != "early":
        word = "late" if breach == "late" else "after the announced time (within the grace)"
        seen = next((c.at for c in sorted(checks, key=lambda c: c.at) if c.live), None)
        if published_at is not None and published_at == record.live_at and seen is not None:
            # live_at is GOV.UK's date, not when releasewatch confirmed it: say both, apart.
            out.append(
                f"GOV.UK gives its first publication as {_t(published_at)}, "
                f"{delay_text(delay)} {word}; releasewatch first saw it live at {_t(seen)}."
            )
            published_at = None  # said
        else:
            out.append(
                f"It was confirmed live at {_t(record.live_at)}, {delay_text(delay)} {word}."
                + _went_live_between(record.live_at, checks)
            )
    elif record.live_at is None:
        out.append(f"At the time of this draft it was still not confirmed live. {BLANK}")
    if published_at is not None:
        out.append(f"GOV.UK gives first_published_at {_t(published_at)}.")
    out.append(f"{BLANK}: why it happened, and who did what (roles), from those involved.")
    return tuple(out)


_NEAR_DUE = timedelta(minutes=15)


def _went_live_between(live_at: datetime, checks: Sequence[Check]) -> str:
    """The check before the one that confirmed it: the page went live between the two (the
    lateness above is an upper bound by that much)."""
    before = [c for c in checks if c.at < live_at and not c.live]
    if not before:
        return ""
    last = max(before, key=lambda c: c.at)
    return f" The check before, at {_t(last.at)}, found it not live: it went live between the two."


def _polling(record: ReleaseRecord, checks: Sequence[Check]) -> str:
    """What releasewatch really did, from the checks it recorded (never from the config: a
    release added late, or a watchdog that was down, polled less than the cadence says)."""
    due, grace = record.release.due, record.release.grace
    times = sorted(c.at for c in checks)
    if not times:
        return "releasewatch has no record of checking the page."
    text = (
        f"releasewatch checked the page {len(times)} time(s), from {_t(times[0])} "
        f"to {_t(times[-1])}"
    )
    pairs = list(pairwise(times))
    near = [b - a for a, b in pairs if abs(a - due) <= _NEAR_DUE and abs(b - due) <= _NEAR_DUE]
    if near:
        # "Around" only if it was polled on both sides of the due time; a watchdog that stopped
        # before it (or started after it) polled only on one side.
        before = any(due - _NEAR_DUE <= t < due for t in times)
        after = any(due <= t <= due + _NEAR_DUE for t in times)
        where = "around" if before and after else "before" if before else "after"
        text += f", every {delay_text(_median(near))} {where} the due time"
    elif pairs:
        text += f", typically {delay_text(_median([b - a for a, b in pairs]))} apart"
    if times[0] > due + grace:
        text += (
            f"; it was not checked before {_t(times[0])}, {delay_text(times[0] - due)} after "
            "the due time (added late, or releasewatch was not running)"
        )
    elif pairs:
        # A gap far longer than any polling interval: the watchdog was not running.
        c = record.release.cadence
        longest = max(c.scheduled, c.pre, c.hot, c.after, c.slow)
        a, b = max(pairs, key=lambda p: p[1] - p[0])
        if b - a > 2 * longest:
            text += f"; no check between {_t(a)} and {_t(b)} (releasewatch was not running)"
    return text + "."


def _median(values: Sequence[timedelta]) -> timedelta:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
