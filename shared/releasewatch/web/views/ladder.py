"""One release's escalation ladder: for each step, who is told (names, never addresses), how and
when, and whether it reached them (sent, delivered, failed and why, retrying, held by an
acknowledgement); and the next step, at the time it will really fire."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ...acks.holds import fires_between
from ...model import (
    Channel,
    Delivery,
    DeliveryStatus,
    NotificationKind,
    Release,
    ReleaseRecord,
    ReleaseState,
)
from ...policy import Ack
from ...readiness import rota
from ...timefmt import delay_text
from .problems import CHANNEL_WORDS
from .words import clock_time

_ESCALATION = (NotificationKind.ALERT, NotificationKind.BREACH)
LIVE_OR_OVER = (
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


def name_of(release: Release, contact_id: str | None) -> str:
    contact = release.contacts.get(contact_id or "")
    return contact.name if contact else "a contact no longer in the config"


def _who(release: Release, contact_id: str, via: str | None, gap: bool) -> str:
    """'Alice Publisher (on call for Web publishers)'; a rota with nobody on call says so."""
    name = name_of(release, contact_id)
    if via is None:
        return name
    rota_name = name_of(release, via)
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
    # A delivery receipt (GOV.UK Notify's) beats "sent"; SES, SNS and SMTP send none.
    reminder = f" (reminder {d.notification.occurrence})" if d.notification.occurrence else ""
    if d.delivered_at is not None:
        return "delivered", f"Delivered {clock_time(d.delivered_at)}{reminder}"
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


def ladder(
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
    for index, step in enumerate(release.steps):
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
                if step.kind == "alert" and state not in LIVE_OR_OVER
                else None
            )
            # "reminders held" only when this step repeats inside the hold: a step that fired
            # once has no reminder to hold.
            repeats = (
                ack is not None
                and step.repeat is not None
                and fires_between(fires, step.repeat, max(now, fires), ack.at + release.ack_timeout)
            )
            delivery, text = _row_delivery(
                release, state, latest, deliveries, ack, fires, now, repeats=repeats
            )
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
    *,
    repeats: bool = True,
) -> tuple[str, str]:
    held = ""
    if ack is not None:
        held = (
            f"held until {clock_time(ack.at + release.ack_timeout)}: "
            f"{name_of(release, ack.contact_id)} acknowledged at {clock_time(ack.at)}"
        )
    if latest is not None and latest.status != DeliveryStatus.CANCELLED:
        delivery, text = _delivery(latest, deliveries)
        if held and repeats and delivery in ("sent", "delivered"):
            text += f"; reminders {held}"
        return delivery, text
    if held:
        return "held", held[0].upper() + held[1:]
    if state == ReleaseState.CANCELLED:
        return "pending", f"Not needed: {release.stopped_because}"
    if state in LIVE_OR_OVER:
        return "pending", "Not needed: the page went live first"
    if fires > now:
        return "pending", f"Not yet: at {clock_time(fires)} if the page is still not live"
    return "pending", "Due now: sending on the next check"


def next_step(record: ReleaseRecord, now: datetime, acks: Sequence[Ack]) -> NextStep | None:
    """The next chain step still to fire, at the time it really will (an acknowledgement
    holds later alert steps until its timeout), as service._next_step tells people."""
    release = record.release
    upcoming = []
    for index, step in enumerate(release.steps):
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
    step = release.steps[index]
    names = tuple(
        dict.fromkeys(name_of(release, c) for c, _v, _g in rota.reach(release, step.notify, when))
    )
    return NextStep(when, clock_time(when), f"in {delay_text(when - now)}", names, held)
