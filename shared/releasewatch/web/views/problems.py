"""Problems first: what needs a person now, shown at the top of every page.

Failed sends (a message that did not go, or is being retried), contacts nobody could reach,
and a watchdog that is unhealthy: its store failing (loophealth.TickHealth), a calendar sync
failing (calendar.resync), or its last tick too old (the poller's heartbeat on AWS, the run
loop's last good tick locally). Pure: the caller gathers the inputs."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

from ...model import Channel, Delivery, DeliveryStatus, NotificationKind, ReleaseRecord
from ...timefmt import delay_text
from .words import clock_time, day_time

# The same limit as the AWS /health: three missed schedule minutes.
STALE_AFTER = timedelta(minutes=3)
_ESCALATION = (NotificationKind.ALERT, NotificationKind.BREACH)
CHANNEL_WORDS: dict[Channel, str] = {
    "email": "email",
    "sms": "SMS",
    "notify_email": "email (GOV.UK Notify)",
    "notify_sms": "SMS (GOV.UK Notify)",
    "teams": "Teams",
    "slack": "Slack",
}


@dataclass(frozen=True)
class Problem:
    kind: str  # failed-send | unreachable | unhealthy (the DOM's data-problem)
    text: str
    release_id: str | None = None
    href: str | None = None  # relative to the board's home
    who: str | None = None  # unreachable: the contact's name


@dataclass(frozen=True)
class Health:
    """What is known about the watchdog itself; every field optional (None: not known here)."""

    store_failing: str | None = None  # the reason, while ticks fail
    store_failing_since: datetime | None = None
    store_attempts: int = 0
    sync_failing: Mapping[str, str] = field(default_factory=dict)  # source → why
    last_tick: datetime | None = None
    expect_ticks: bool = False  # a last tick is expected (AWS; a running local loop)
    unreadable: str | None = None  # the store could not be read for this page


def health_problems(health: Health, now: datetime) -> list[Problem]:
    out = []
    if health.unreadable:
        out.append(Problem("unhealthy", f"The store cannot be read: {health.unreadable}."))
    if health.store_failing:
        since = (
            f" since {day_time(health.store_failing_since)}" if health.store_failing_since else ""
        )
        out.append(
            Problem(
                "unhealthy",
                f"The watchdog is failing{since}: {health.store_failing}. "
                f"{health.store_attempts} attempt(s) failed; checks and alerts are not being "
                "recorded until it works again. It keeps retrying.",
            )
        )
    for source, why in health.sync_failing.items():
        what = "The calendar sync" if source.startswith("(") else f"The calendar source {source}"
        out.append(
            Problem("unhealthy", f"{what} is failing: {why}. The releases already imported stay.")
        )
    if health.expect_ticks:
        if health.last_tick is None:
            out.append(Problem("unhealthy", "The watchdog has not checked anything yet."))
        elif now - health.last_tick > STALE_AFTER:
            out.append(
                Problem(
                    "unhealthy",
                    f"The watchdog last ran at {clock_time(health.last_tick)}, "
                    f"{delay_text(now - health.last_tick)} ago: pages are not being checked "
                    "and nobody is being alerted.",
                )
            )
    return out


def delivery_problems(record: ReleaseRecord, deliveries: Iterable[Delivery]) -> list[Problem]:
    """Failed sends of one release, and the contacts nothing has reached since."""
    release = record.release
    href = f"r/{quote(release.id, safe='')}"
    out = []
    reached: set[str] = set()
    failed: dict[str, list[str]] = {}
    for d in deliveries:
        n = d.notification
        if n.is_marker:
            continue
        if d.status == DeliveryStatus.SENT:
            reached.add(n.contact_id)
            continue
        if d.status not in (DeliveryStatus.FAILED, DeliveryStatus.RETRY):
            continue
        contact = release.contacts.get(n.contact_id)
        name = contact.name if contact else "a contact no longer in the config"
        channel = CHANNEL_WORDS[n.channel]
        reason = d.error or "no reason given"
        when = clock_time(d.updated_at) if d.updated_at else "earlier"
        if d.status == DeliveryStatus.FAILED:
            text = f"{release.title}: the {channel} to {name} failed at {when}: {reason}."
            if n.kind in _ESCALATION:
                failed.setdefault(n.contact_id, []).append(channel)
        else:
            retry = (
                f", trying again at {clock_time(d.next_attempt_at)}" if d.next_attempt_at else ""
            )
            text = f"{release.title}: the {channel} to {name} failed at {when}{retry}: {reason}."
        out.append(Problem("failed-send", text, release.id, href))
    for contact_id, channels in failed.items():
        if contact_id in reached:
            continue
        contact = release.contacts.get(contact_id)
        name = contact.name if contact else "a contact no longer in the config"
        ways = " and ".join(dict.fromkeys(channels))
        out.append(
            Problem(
                "unreachable",
                f"{release.title}: {name} could not be reached ({ways} failed); try another way.",
                release.id,
                href,
                who=name,
            )
        )
    return out
