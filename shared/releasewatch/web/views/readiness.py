"""A release's readiness as the board shows it the day before: who confirmed, who was asked and
when, and who was on call for it. Only what was recorded: a confirmation event, a reminder the
watchdog sent (or failed to send). Nobody is said to be asked before a reminder went, whatever
the readiness schedule says."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ...model import Delivery, DeliveryStatus, Event, NotificationKind, ReleaseRecord
from ...readiness.policy import confirmation
from .ladder import name_of
from .problems import CHANNEL_WORDS
from .words import day_time

_ASKED = {
    NotificationKind.READY_REMIND: "Asked",
    NotificationKind.READY_ESCALATE: "Escalated to",
    NotificationKind.READY_LAST_CALL: "Last call to",
}


@dataclass(frozen=True)
class ReadinessLines:
    set_up: bool  # the release has a readiness check in its config
    confirmed: str | None  # 'Confirmed by Alice Publisher at Wed 16 Jul 14:20'
    asked: tuple[str, ...]  # 'Asked Labour market statistics team by email at Wed 16 Jul 14:00'
    on_call: tuple[str, ...]  # 'Alice Publisher, on call for Web publishers'
    text: str  # one line for a narrow cell: the confirmation, else how far the asking got


def readiness_lines(
    record: ReleaseRecord, events: Sequence[Event], deliveries: Sequence[Delivery]
) -> ReadinessLines:
    release = record.release
    done = confirmation(events, release.due)
    confirmed = (
        f"Confirmed by {name_of(release, done.contact_id)} at {day_time(done.at)}"
        if done is not None
        else None
    )
    asked: list[str] = []
    on_call: list[str] = []
    for d in sorted(deliveries, key=lambda d: d.sent_at or d.updated_at or release.due):
        n = d.notification
        if n.kind not in _ASKED or n.is_marker:
            continue
        who = name_of(release, n.contact_id)
        how = CHANNEL_WORDS[n.channel]
        if d.status == DeliveryStatus.SENT and d.sent_at is not None:
            asked.append(f"{_ASKED[n.kind]} {who} by {how} at {day_time(d.sent_at)}")
        elif d.status in (DeliveryStatus.FAILED, DeliveryStatus.RETRY) and d.updated_at:
            why = d.error or "no reason given"
            asked.append(f"{_ASKED[n.kind]} {who} by {how}: failed at {day_time(d.updated_at)}")
            asked[-1] += f" ({why})"
        else:
            continue
        if n.on_call_for is not None:
            rota = name_of(release, n.on_call_for)
            line = (
                f"Nobody was on call for {rota}: {who} was asked instead"
                if n.rota_gap
                else f"{who}, on call for {rota}"
            )
            if line not in on_call:
                on_call.append(line)
    set_up = release.readiness is not None
    if confirmed:
        text = confirmed
    elif asked:
        text = f"Not confirmed. {asked[-1]}"
    elif set_up:
        text = "Not confirmed. Nobody asked yet"
    else:
        text = "No readiness check"
    return ReadinessLines(set_up, confirmed, tuple(asked), tuple(on_call), text)
