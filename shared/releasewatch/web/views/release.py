"""One release's page: the escalation ladder (who, how, when, and whether it reached them),
the next step, acknowledgements, readiness, the checks as a timeline with runs of identical
checks collapsed, and links to the page, the breach report and the announcement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from ... import rota
from ...model import (
    Channel,
    Check,
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
    NotificationKind,
    Release,
    ReleaseRecord,
    ReleaseState,
)
from ...policy import Ack, acks_from
from ...readiness import confirmation, schedule
from ...timefmt import delay_text, uk_datetime
from .board import StateTag, shown_state, state_tag
from .problems import CHANNEL_WORDS, Problem
from .words import check_verdict, clock_time, minutes, zone

TIMES, EN_DASH = "\u00d7", "\u2013"  # as in the board's '404 x 42, 09:15:00-09:29:50'
_ESCALATION = (NotificationKind.ALERT, NotificationKind.BREACH)
_LIVE_OR_OVER = (
    ReleaseState.LIVE,
    ReleaseState.LIVE_LATE,
    ReleaseState.EARLY,
    ReleaseState.CANCELLED,
)


@dataclass(frozen=True)
class LadderRow:
    step: int  # 1 for the chain's first step
    fires_at: datetime
    fires_text: str  # '09:40:00 (10 min after due)'
    kind: str  # 'Alert' or 'Breach notice'
    who: str  # a name, never an address
    channel: str  # 'SMS' or 'Email'
    delivery: str  # delivered | failed | held | sending | pending | sent (the DOM's data-delivery)
    text: str  # the delivery in words


@dataclass(frozen=True)
class NextStep:
    at: datetime
    time: str  # '10:00:00'
    within: str  # 'in 18 min'
    who: tuple[str, ...]
    held: bool  # moved later by an acknowledgement


@dataclass(frozen=True)
class AckLine:
    who: str
    at: datetime
    time: str
    text: str


@dataclass(frozen=True)
class TimelineEntry:
    kind: str  # 'checks', 'due' or 'live'
    text: str  # '404 x 42' (a multiplication sign) / 'Due' / 'Went live'
    span: str  # '09:15:00-09:29:50' (an en dash) / '09:30:00'
    verdict: str  # what the checks saw, in words ('' for a marker)
    live: bool
    count: int
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Link:
    label: str
    href: str
    download: bool = False


@dataclass(frozen=True)
class ReleasePage:
    release_id: str
    title: str
    producer: str
    now: datetime
    updated: str
    zone: str
    due: datetime
    due_text: str
    tag: StateTag
    live_at: datetime | None
    live_text: str
    minutes_late: int | None  # counting up while late and not live
    ladder: tuple[LadderRow, ...]
    next_step: NextStep | None
    next_step_text: str  # why there is none, when there is none
    acknowledgements: tuple[AckLine, ...]
    readiness: str
    timeline: tuple[TimelineEntry, ...]
    checks_shown: int
    judged_url: str | None
    cache_headers: tuple[tuple[str, str], ...]
    links: tuple[Link, ...]
    problems: tuple[Problem, ...]


def _name(release: Release, contact_id: str | None) -> str:
    contact = release.contacts.get(contact_id or "")
    return contact.name if contact else "a contact no longer in the config"


def _who(release: Release, contact_id: str, via: str | None, gap: bool) -> str:
    """'Alice Publisher (on call for Web publishers)'; a rota with nobody on call says so."""
    name = _name(release, contact_id)
    if via is None:
        return name
    rota_name = _name(release, via)
    if gap:
        return f"{name} (nobody was on call for {rota_name})"
    return f"{name} (on call for {rota_name})"


def _channels(release: Release, contact_id: str, preferred: Sequence[Channel]) -> list[Channel]:
    """The channels policy uses for this contact (policy._channels): the step's where the
    contact has an address, else whichever one they have."""
    contact = release.contacts.get(contact_id)
    if contact is None:
        return []
    usable = [c for c in preferred if contact.address(c) is not None]
    if usable:
        return usable
    return [c for c in ("email", "sms") if contact.address(c) is not None][:1]


def _holding(
    release: Release, step: int, contact_id: str, at: datetime, acks: Sequence[Ack]
) -> Ack | None:
    """The acknowledgement holding this alert step for this contact at `at` (policy._held)."""
    for ack in acks:
        if ack.at > at or at >= ack.at + release.ack_timeout:
            continue
        if contact_id == ack.contact_id or step > ack.step:
            return ack
    return None


def _sent_text(d: Delivery) -> tuple[str, str]:
    # A delivery receipt (a later notify change may add one) beats "sent".
    delivered = getattr(d, "delivered_at", None)
    reminder = f" (reminder {d.notification.occurrence})" if d.notification.occurrence else ""
    if isinstance(delivered, datetime):
        return "delivered", f"Delivered {clock_time(delivered)}{reminder}"
    when = d.sent_at or d.updated_at
    return "sent", f"Sent {clock_time(when)}{reminder}" if when else f"Sent{reminder}"


def _fallback_text(d: Delivery, deliveries: Sequence[Delivery]) -> str:
    for f in deliveries:
        if f.notification.fallback_for != d.key:
            continue
        channel = CHANNEL_WORDS[f.notification.channel]
        if f.status == DeliveryStatus.SENT and f.sent_at:
            return f"; sent by {channel} instead at {clock_time(f.sent_at)}"
        if f.status == DeliveryStatus.FAILED:
            return f"; the {channel} instead failed too: {f.error or 'no reason given'}"
        return f"; trying {channel} instead"
    return ""


def _delivery(d: Delivery, deliveries: Sequence[Delivery]) -> tuple[str, str]:
    when = clock_time(d.updated_at) if d.updated_at else "earlier"
    match d.status:
        case DeliveryStatus.SENT:
            return _sent_text(d)
        case DeliveryStatus.FAILED:
            reason = d.error or "no reason given"
            return "failed", f"Failed at {when}: {reason}{_fallback_text(d, deliveries)}"
        case DeliveryStatus.RETRY:
            again = (
                f"; trying again at {clock_time(d.next_attempt_at)}" if d.next_attempt_at else ""
            )
            return "sending", f"Failed at {when}: {d.error or 'no reason given'}{again}"
        case DeliveryStatus.CLAIMED:
            return "sending", f"Sending now (attempt {d.attempts})"
    return "pending", "Not sent: the page went live or the release changed first"


def _ladder(
    record: ReleaseRecord,
    state: ReleaseState,
    deliveries: Sequence[Delivery],
    acks: Sequence[Ack],
    now: datetime,
) -> list[LadderRow]:
    release = record.release
    rows = []
    escalation = [
        d
        for d in deliveries
        if d.notification.kind in _ESCALATION and d.notification.fallback_for is None
    ]
    for index, step in enumerate(release.chain.steps):
        fires = release.due + step.after
        # (person, channel) → the rota they are told for, and whether it had nobody on call
        pairs: dict[tuple[str, Channel], tuple[str | None, bool]] = {}
        for contact_id, via, gap in rota.reach(release, step.notify, fires):
            for channel in _channels(release, contact_id, step.channels):
                pairs[(contact_id, channel)] = (via, gap)
        mine = [d for d in escalation if d.notification.step == index]
        for d in mine:
            n = d.notification
            pairs[(n.contact_id, n.channel)] = (n.on_call_for, n.rota_gap)
        kind = "Breach notice" if step.kind == "breach" else "Alert"
        fires_text = f"{clock_time(fires)} ({delay_text(step.after)} after due)"
        for (contact_id, channel), (via, gap) in pairs.items():
            ours = [
                d
                for d in mine
                if d.notification.contact_id == contact_id and d.notification.channel == channel
            ]
            latest = max(ours, key=lambda d: d.notification.occurrence, default=None)
            hold_at = max(now, fires)
            ack = (
                _holding(release, index, contact_id, hold_at, acks)
                if step.kind == "alert" and state not in _LIVE_OR_OVER
                else None
            )
            delivery, text = _row_delivery(release, state, latest, deliveries, ack, fires, now)
            rows.append(
                LadderRow(
                    step=index + 1,
                    fires_at=fires,
                    fires_text=fires_text,
                    kind=kind,
                    who=_who(release, contact_id, via, gap),
                    channel=CHANNEL_WORDS[channel].capitalize()
                    if channel == "email"
                    else CHANNEL_WORDS[channel],
                    delivery=delivery,
                    text=text,
                )
            )
    return rows


def _row_delivery(
    release: Release,
    state: ReleaseState,
    latest: Delivery | None,
    deliveries: Sequence[Delivery],
    ack: Ack | None,
    fires: datetime,
    now: datetime,
) -> tuple[str, str]:
    held = ""
    if ack is not None:
        held = (
            f"held until {clock_time(ack.at + release.ack_timeout)}: "
            f"{_name(release, ack.contact_id)} acknowledged at {clock_time(ack.at)}"
        )
    if latest is not None and latest.status != DeliveryStatus.CANCELLED:
        delivery, text = _delivery(latest, deliveries)
        if held and delivery in ("sent", "delivered"):
            text += f"; reminders {held}"
        return delivery, text
    if held:
        return "held", held[0].upper() + held[1:]
    if state == ReleaseState.CANCELLED:
        return "pending", "Not needed: the release was cancelled"
    if state in _LIVE_OR_OVER:
        return "pending", "Not needed: the page went live first"
    if fires > now:
        return "pending", f"Not yet: at {clock_time(fires)} if the page is still not live"
    return "pending", "Due now: sending on the next check"


def next_step(record: ReleaseRecord, now: datetime, acks: Sequence[Ack]) -> NextStep | None:
    """The next chain step still to fire, at the time it really will (an acknowledgement
    holds later alert steps until its timeout), as service._next_step tells people."""
    release = record.release
    upcoming = []
    for index, step in enumerate(release.chain.steps):
        when = release.due + step.after
        if when <= now:
            continue
        held = False
        if step.kind == "alert":
            for ack in acks:
                if index > ack.step and ack.at <= now and ack.at + release.ack_timeout > when:
                    when, held = ack.at + release.ack_timeout, True
        upcoming.append((when, index, held))
    if not upcoming:
        return None
    when, index, held = min(upcoming)
    step = release.chain.steps[index]
    names = tuple(
        dict.fromkeys(_name(release, c) for c, _v, _g in rota.reach(release, step.notify, when))
    )
    return NextStep(when, clock_time(when), f"in {delay_text(when - now)}", names, held)


def collapse(
    checks: Sequence[Check], due: datetime, live_at: datetime | None
) -> list[TimelineEntry]:
    """Runs of identical checks as one entry ('404 x 42, 09:15:00-09:29:50'), with the due time
    and the go-live marked where they fall (a run is split there)."""
    markers = [(due, "due", "Due")]
    if live_at is not None:
        markers.append((live_at, "live", "Went live"))
    markers.sort(key=lambda m: m[0])
    out: list[TimelineEntry] = []
    placed = 0

    def place_until(at: datetime | None) -> None:
        nonlocal placed
        while placed < len(markers) and (at is None or markers[placed][0] <= at):
            when, kind, text = markers[placed]
            out.append(
                TimelineEntry(kind, text, clock_time(when), "", kind == "live", 0, when, when)
            )
            placed += 1

    run: list[Check] = []

    def flush() -> None:
        if not run:
            return
        first, last = run[0], run[-1]
        seen = (
            str(first.status)
            if first.status is not None
            else (first.error or "no answer").replace("_", " ")
        )
        text = f"{seen} {TIMES} {len(run)}" if len(run) > 1 else seen
        span = (
            f"{clock_time(first.at)}{EN_DASH}{clock_time(last.at)}"
            if len(run) > 1
            else clock_time(first.at)
        )
        out.append(
            TimelineEntry(
                "checks", text, span, check_verdict(first), first.live, len(run), first.at, last.at
            )
        )
        run.clear()

    for check in checks:
        if placed < len(markers) and markers[placed][0] <= check.at:
            flush()
            place_until(check.at)
        if run and _key(run[0]) != _key(check):
            flush()
        run.append(check)
    flush()
    place_until(None)
    return out


def _key(check: Check) -> tuple[object, ...]:
    return (check.live, check.status, check.error, check.reason)


def _links(record: ReleaseRecord, state: ReleaseState, href: str) -> list[Link]:
    release = record.release
    announcement = release.rule.govuk or "gov.uk/" in release.url
    links = [Link("GOV.UK announcement" if announcement else "The release page", release.url)]
    if release.publication_url:
        links.append(Link("The publication", release.publication_url))
    if state in (ReleaseState.LIVE_LATE, ReleaseState.EARLY):
        links.append(Link("Breach report draft (Markdown)", f"{href}/report.md", True))
        links.append(Link("Breach report draft (Word)", f"{href}/report.docx", True))
    return links


def _readiness(record: ReleaseRecord, events: Sequence[Event], now: datetime) -> str:
    """Confirmed by whom and when, or when the team is (was) asked (the old page's words)."""
    done = confirmation(events)
    if done is not None:
        who = _name(record.release, done.contact_id)
        return f"Readiness confirmed by {who} at {uk_datetime(done.at)}."
    plan = schedule(record.release)
    if plan is None:
        return "No readiness check is set up for this release."
    if record.state.is_live or record.release.cancelled:
        return "Readiness was not confirmed."
    verb = "is asked" if now < plan.remind else "was asked"
    return f"Readiness not confirmed yet: the team {verb} at {uk_datetime(plan.remind)}."


def build_release_page(
    record: ReleaseRecord,
    events: Sequence[Event],
    deliveries: Sequence[Delivery],
    checks: Sequence[Check],
    now: datetime,
    problems: Sequence[Problem] = (),
) -> ReleasePage:
    release = record.release
    state = shown_state(record, now)
    acks = acks_from(events)
    ack_lines = []
    for e in events:
        if e.kind != EventKind.ACKNOWLEDGED:
            continue
        who = _name(release, e.contact_id)
        until = clock_time(e.at + release.ack_timeout)
        ack_lines.append(
            AckLine(
                who,
                e.at,
                clock_time(e.at),
                f"{who} at {clock_time(e.at)}: later alerts held until {until}",
            )
        )
    upcoming = None if state in _LIVE_OR_OVER else next_step(record, now, acks)
    if upcoming is not None:
        why_none = ""
    elif state in _LIVE_OR_OVER:
        why_none = (
            "No next step: the page is live."
            if state != ReleaseState.CANCELLED
            else "No next step: the release was cancelled."
        )
    else:
        why_none = "No next step: every step has fired."
    last = checks[-1] if checks else record.last_check
    judged = (last.judged_url or last.final_url) if last else None
    with_headers = next((c for c in reversed(checks) if c.cache_headers()), None)
    href = f"r/{quote(release.id, safe='')}"
    return ReleasePage(
        release_id=release.id,
        title=release.title,
        producer=release.producer,
        now=now,
        updated=clock_time(now),
        zone=zone(now),
        due=release.due,
        due_text=uk_datetime(release.due),
        tag=state_tag(record, events, now),
        live_at=record.live_at,
        live_text=clock_time(record.live_at) if record.live_at else "",
        minutes_late=minutes(now - release.due) if state == ReleaseState.LATE else None,
        ladder=tuple(_ladder(record, state, deliveries, acks, now)),
        next_step=upcoming,
        next_step_text=why_none,
        acknowledgements=tuple(ack_lines),
        readiness=_readiness(record, events, now),
        timeline=tuple(collapse(checks, release.due, record.live_at)),
        checks_shown=len(checks),
        judged_url=judged,
        cache_headers=tuple(with_headers.cache_headers()) if with_headers else (),
        links=tuple(_links(record, state, href)),
        problems=tuple(problems),
    )
