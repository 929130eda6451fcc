"""Pure policy: (release record, newest check, deliveries, acknowledgements, now) → decision.

Nothing here does I/O or reads a clock, so every scenario can be replayed in a test. The service
gathers the inputs, calls `decide`, and applies what comes back (cosmicpython's
`determine_actions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .calendar import changes as calendar_changes
from .model import (
    WEBHOOK_CHANNELS,
    Channel,
    Check,
    Contact,
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
    Notification,
    NotificationKind,
    Release,
    ReleaseRecord,
    ReleaseState,
    counterpart,
)
from .readiness import policy as readiness
from .readiness import rota
from .readiness.rota_gaps import gap_times

REPORT_ROLES = ("head_of_profession", "lead_official")
_DONE = (DeliveryStatus.SENT, DeliveryStatus.FAILED, DeliveryStatus.CANCELLED)
_ESCALATION = (NotificationKind.ALERT, NotificationKind.BREACH)

# Sending again after a failed send: how many attempts in all, and the first wait, doubled each
# time up to the longest (the tick's retries and GOV.UK Notify's failed receipts alike).
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_RETRY_BACKOFF = timedelta(seconds=15)
MAX_RETRY_BACKOFF = timedelta(minutes=5)


@dataclass(frozen=True)
class Ack:
    contact_id: str
    step: int
    at: datetime


@dataclass(frozen=True)
class Decision:
    record: ReleaseRecord  # the record as it should be stored now
    previous_state: ReleaseState
    due: tuple[Notification, ...] = ()  # to claim and send now
    cancel: tuple[str, ...] = ()  # delivery keys overtaken by events
    page_lost: bool = False  # a page confirmed live no longer passes its rule
    notes: tuple[str, ...] = field(default=())

    @property
    def state_changed(self) -> bool:
        return self.record.state != self.previous_state


def derive_state(release: Release, live_at: datetime | None, now: datetime) -> ReleaseState:
    if release.stopped:  # cancelled, or its date taken back: nothing more is watched
        return ReleaseState.CANCELLED
    if live_at is not None:
        if live_at < release.due:
            return ReleaseState.EARLY
        if live_at <= release.due + release.grace:
            return ReleaseState.LIVE
        return ReleaseState.LIVE_LATE
    if now < release.due - release.pre_window:
        return ReleaseState.SCHEDULED
    if now <= release.due + release.grace:
        return ReleaseState.WATCHING
    return ReleaseState.LATE


MAX_CLOCK_SKEW = timedelta(minutes=2)


def live_time(check: Check, due: datetime) -> datetime:
    """When a live check shows the page went live: GOV.UK's first_published_at when it gives
    one no later than the answer (the better evidence, for early as for how late), else when
    the answer arrived. Never the request's start: "early" needs evidence from before due.

    A first_published_at after the answer means our clock is behind GOV.UK's. Its future time
    is not used for lateness, but it still rules out "early": an answer before due on our
    clock alone, for a document GOV.UK says was first published at or after due, is on time.
    (GOV.UK's scheduled publishing refuses to publish before the scheduled time by its own
    clock, so a first_published_at even a fraction of a second before due is an early
    publication, not skew: it is early.)"""
    published = check.published_at
    if published is not None and published <= check.at:
        return published
    if published is not None and published >= due > check.at:
        return due
    origin = check.origin_date
    if origin is not None and check.at < due <= origin and origin - check.at <= MAX_CLOCK_SKEW:
        # Answered before due by our clock, at or after it by the server's (its Date header,
        # to the second): our clock is behind. On time, not early. A Date further off than
        # MAX_CLOCK_SKEW is a broken server clock, not ours, and is not believed.
        return due
    return check.at


def lateness_unproven(release: Release, live_at: datetime | None, checks: Iterable[Check]) -> bool:
    """Whether a page first seen live after due + grace may still have gone live on time.

    Lateness needs evidence: a check after the grace period that found the page not live, or
    GOV.UK's first_published_at. Without either (the release was added after its due time, or
    the watchdog was down across it) nobody can tell when it went live, and no message or
    report may say it was late."""
    end = release.due + release.grace
    if live_at is None or live_at <= end:
        return False
    for c in checks:
        if c.live and c.published_at is not None and c.published_at == live_at:
            return False
        if not c.live and end < c.at <= live_at:
            return False
    return True


def page_cancellation(record: ReleaseRecord, check: Check | None) -> calendar_changes.Change | None:
    """The cancellation to record when a check finds the announcement cancelled (its page or
    Content API item): whenever it comes, a day before or seconds before due, it wins over the
    chain, told once like a calendar sync's (calendar/changes.py). None for a release already
    stopped or live, and for a page that is merely gone: a 404 is not a cancellation."""
    if check is None or check.live or check.cancellation is None:
        return None
    release = record.release
    if release.stopped or record.live_at is not None:
        return None
    return calendar_changes.Change(
        release.id,
        calendar_changes.CANCELLED,
        release.due,
        release.due,
        note=check.cancellation,
        source=calendar_changes.PAGE,
    )


def with_page_cancellation(record: ReleaseRecord, changes: Sequence[Event]) -> ReleaseRecord:
    """The record with its release cancelled when a probe recorded its cancellation (for this
    due time): the store's event is the truth, so a config applied again at a restart, which
    knows nothing of it, does not start the chain for a cancelled release."""
    release = record.release
    if release.stopped or record.live_at is not None:
        return record
    for e in changes:
        detail = e.detail
        if (
            e.kind == EventKind.CALENDAR_CHANGED
            and detail.get("change") == calendar_changes.CANCELLED
            and detail.get("source") == calendar_changes.PAGE
            and _same_time(detail.get("old_due", ""), release.due)
        ):
            cancelled = release.model_copy(update={"cancelled": True})
            return record.model_copy(update={"release": cancelled})
    return record


def _same_time(text: str, when: datetime) -> bool:
    try:
        return datetime.fromisoformat(text) == when
    except ValueError:
        return False


def acks_from(events: Iterable[Event]) -> list[Ack]:
    return [
        Ack(e.contact_id, int(e.detail.get("step", "0")), e.at)
        for e in events
        if e.kind == EventKind.ACKNOWLEDGED and e.contact_id is not None
    ]


def decide(
    record: ReleaseRecord,
    check: Check | None,
    now: datetime,
    deliveries: Sequence[Delivery] = (),
    acks: Sequence[Ack] = (),
    ready_confirmed: bool = False,
    changes: Sequence[Event] = (),
    probed_at: datetime | None = None,
) -> Decision:
    """`probed_at`: when the probe behind `check` was started. The next check is counted from
    it, not from `now`: a round's queue, answers and judging (seconds, for 300 releases at
    once) must not stretch every interval of the cadence by as much."""
    record = with_page_cancellation(record, changes)
    release = record.release
    live_at = record.live_at
    first_failure_at = record.first_failure_at
    page_lost = False
    lost_since, lost_episode = record.lost_since, record.lost_episode
    if check is not None:
        if check.live and live_at is None:
            live_at = live_time(check, release.due)
        elif check.live:
            lost_since = None
        elif live_at is not None:
            page_lost = True
            if lost_since is None:
                lost_since = lost_episode = check.at
        if not check.live and first_failure_at is None and check.at >= release.due:
            first_failure_at = check.at
    state = derive_state(release, live_at, now)
    by_key = {d.key: d for d in deliveries}

    wanted: list[Notification] = []
    # An observed release (no chain) is judged and recorded like any other, but nobody is
    # alerted, reminded or told of a change.
    if not release.observed:
        wanted += _wanted(release, state, live_at, now, deliveries, acks)
        round_ = readiness.round_of(changes)  # a moved release is asked again for its new date
        wanted += readiness.wanted(release, state, now, deliveries, ready_confirmed, round_)
        wanted += calendar_changes.notices(release, changes)  # moved, cancelled, gone: told once
        wanted += _rota_gaps(release, state, now)
        if state.is_live and lost_episode is not None:
            wanted += _page_lost_or_back(release, lost_since, lost_episode, deliveries)
    due = [n for n in wanted if _needs_sending(by_key.get(n.key), now)]
    wanted_keys = {n.key for n in wanted}
    # Deliveries left pending (a crashed claim, a transient failure) are finished unless the page
    # went live first, in which case alerts are cancelled rather than sent late.
    cancel: list[str] = []
    for d in deliveries:
        if d.key in wanted_keys or d.status in _DONE or d.notification.is_marker:
            continue
        if release.observed:
            cancel.append(d.key)  # planned while it had a chain: it alerts nobody now
        elif (state.is_live or state == ReleaseState.CANCELLED) and (
            d.notification.kind in _ESCALATION
        ):
            cancel.append(d.key)  # a cancelled release gets nothing more, not a late alert
        elif d.notification.kind in readiness.KINDS:
            cancel.append(d.key)  # no longer wanted: confirmed, live, or its time has passed
        elif _needs_sending(d, now):
            due.append(d.notification)

    lost = lost_since is not None
    active = lost or _still_active(record, state, live_at, now, due, deliveries)
    next_check = next_check_at(release, state, live_at, now, lost=lost) if active else None
    if next_check is not None and check is not None and probed_at is not None and probed_at < now:
        next_check = next_check_at(release, state, live_at, probed_at, lost=lost)
    if check is None and next_check is not None and record.next_check_at is not None:
        # No probe this tick: keep the appointment already made rather than pushing it back.
        next_check = min(next_check, record.next_check_at)
    new_record = record.model_copy(
        update={
            "state": state,
            "live_at": live_at,
            "first_failure_at": first_failure_at,
            "last_check": check if check is not None else record.last_check,
            "next_check_at": next_check,
            "active": active,
            "updated_at": now,
            "lost_since": lost_since,
            "lost_episode": lost_episode,
        }
    )
    return Decision(
        record=new_record,
        previous_state=record.state,
        due=tuple(due),
        cancel=tuple(cancel),
        page_lost=page_lost,
    )


def _needs_sending(delivery: Delivery | None, now: datetime) -> bool:
    return delivery is None or delivery.claimable(now)


def _wanted(
    release: Release,
    state: ReleaseState,
    live_at: datetime | None,
    now: datetime,
    deliveries: Sequence[Delivery],
    acks: Sequence[Ack],
) -> Iterable[Notification]:
    if state == ReleaseState.CANCELLED:
        return
    if state in (ReleaseState.LATE, ReleaseState.WATCHING):
        yield from escalation(release, now, acks, deliveries)
    if state == ReleaseState.EARLY and live_at is not None:
        yield from _early_notice(release, live_at)
    sent = [d for d in deliveries if d.status == DeliveryStatus.SENT]
    if state.is_live and live_at is not None:
        yield from _resolution(release, live_at, sent)
        if state in (ReleaseState.LIVE_LATE, ReleaseState.EARLY):
            yield from _report(release, live_at)
    yield from _ack_notices(release, acks, sent, state)
    yield from _fallbacks(release, deliveries, now)


def escalation(
    release: Release,
    now: datetime,
    acks: Sequence[Ack] = (),
    deliveries: Sequence[Delivery] = (),
) -> list[Notification]:
    """The latest occurrence of every chain step that has fired by `now`, at most one new
    message per contact and channel.

    Older occurrences are superseded rather than sent in a burst after an outage (or for a
    release added after its due time); an unsent claim for one is still finished by the sweep
    in `decide`. A contact on several fired steps hears the highest one: a lower step's
    occurrence is superseded by a higher step that fired at or after it, or that this contact
    was already sent (or is being sent) at or after it.
    """
    fired = list(_fired(release, now, acks))
    recorded = {d.key for d in deliveries}
    told = [
        (d.notification, d.sent_at or d.updated_at)
        for d in deliveries
        if d.notification.kind in _ESCALATION
        and d.notification.fallback_for is None
        and d.status not in (DeliveryStatus.FAILED, DeliveryStatus.CANCELLED)
    ]
    keep: set[str] = set()
    pairs: dict[tuple[str, Channel], list[Notification]] = {}
    for n in fired:
        pairs.setdefault((n.contact_id, n.channel), []).append(n)
    for group in pairs.values():
        fresh = []
        for n in group:
            if n.key in recorded:
                keep.add(n.key)  # in flight or done: policy's sweep and claims handle it
                continue
            step = n.step or 0
            if any((o.step or 0) > step and o.due_at >= n.due_at for o in group):
                continue
            if any(
                t.contact_id == n.contact_id
                and t.channel == n.channel
                and (t.step or 0) > step
                and when is not None
                and when >= n.due_at
                for t, when in told
            ):
                continue
            fresh.append(n)
        if fresh:
            keep.add(max(fresh, key=lambda n: n.step or 0).key)
    return [n for n in fired if n.key in keep]


def _fired(release: Release, now: datetime, acks: Sequence[Ack]) -> Iterable[Notification]:
    """Every step's latest occurrence by `now`, for every contact not held by an ack."""
    for index, step in enumerate(release.steps):
        fire = release.due + step.after
        if now < fire:
            continue
        occurrence = 0
        if step.repeat is not None:
            occurrence = int((now - fire) / step.repeat)
        at = fire + (step.repeat or timedelta(0)) * occurrence
        seen: set[str] = set()
        # A rota is resolved at this occurrence's own time, never when it is (re)sent.
        for contact_id, via, gap in rota.reach(release, step.notify, at):
            if step.kind == "alert" and _held(release, index, contact_id, now, acks):
                continue
            contact = release.contacts[contact_id]
            for channel in _channels(contact, step.channels):
                kind = NotificationKind.BREACH if step.kind == "breach" else NotificationKind.ALERT
                n = _notification(release, kind, contact_id, channel, at, index, occurrence)
                if n.key not in seen:
                    seen.add(n.key)
                    yield _on_call(n, via, gap)


def _on_call(n: Notification, via: str | None, gap: bool) -> Notification:
    if via is None:
        return n
    return n.model_copy(update={"on_call_for": via, "rota_gap": gap})


def _rota_gaps(release: Release, state: ReleaseState, now: datetime) -> list[Notification]:
    """Nobody on a rota at a step's or the readiness reminder's time: the chain's first step
    is told once, as soon as the gap is seen (days ahead), not when the step fires."""
    if state not in (ReleaseState.SCHEDULED, ReleaseState.WATCHING):
        return []
    gaps = [g for g in gap_times(release) if g[0] > now]
    if not gaps:
        return []
    first = release.steps[0]
    out = []
    for contact_id, _via, _gap in rota.reach(release, first.notify, now):
        contact = release.contacts[contact_id]
        for channel in _channels(contact, first.channels):
            out.append(_notification(release, NotificationKind.ROTA_GAP, contact_id, channel, now))
    return out


def _held(
    release: Release,
    step: int,
    contact_id: str,
    now: datetime,
    acks: Sequence[Ack],
) -> bool:
    """An acknowledgement holds repeats to the acknowledger and every later alert step, until
    the ack timeout runs out (then escalation resumes). Breach steps are never held.

    An occurrence that fell due just before the ack but was not sent yet is held too: the
    person has acknowledged, so a reminder arriving after that would only be noise."""
    for ack in acks:
        if now >= ack.at + release.ack_timeout:
            continue
        if contact_id == ack.contact_id or step > ack.step:
            return True
    return False


def _channels(contact: Contact, preferred: Sequence[Channel]) -> list[Channel]:
    usable = [c for c in preferred if contact.address(c) is not None]
    if usable:
        return usable
    # The step's channels are unavailable for this contact: use whatever they do have, by
    # the step's transport (a Notify step stays on Notify).
    if any(c.startswith("notify_") for c in preferred):
        notify: list[Channel] = ["notify_email", "notify_sms"]
        return [c for c in notify if contact.address(c) is not None][:1]
    first = contact.first_channel()
    return [first] if first is not None else []


def _notification(
    release: Release,
    kind: NotificationKind,
    contact_id: str,
    channel: Channel,
    due_at: datetime,
    step: int | None = None,
    occurrence: int = 0,
) -> Notification:
    return Notification(
        key=Notification.make_key(release.id, kind, contact_id, channel, step, occurrence),
        release_id=release.id,
        kind=kind,
        contact_id=contact_id,
        channel=channel,
        due_at=due_at,
        step=step,
        occurrence=occurrence,
    )


def _early_notice(release: Release, live_at: datetime) -> Iterable[Notification]:
    breach_steps = [s for s in release.steps if s.kind == "breach"] or [release.steps[-1]]
    for step in breach_steps:
        for contact_id, via, gap in rota.reach(release, step.notify, live_at):
            contact = release.contacts[contact_id]
            for channel in _channels(contact, step.channels):
                n = _notification(release, NotificationKind.EARLY, contact_id, channel, live_at)
                yield _on_call(n, via, gap)


def _resolution(
    release: Release, live_at: datetime, sent: Sequence[Delivery]
) -> Iterable[Notification]:
    """Everybody alerted hears it is over, on each channel they were alerted on."""
    seen: set[tuple[str, Channel]] = set()
    for d in sent:
        n = d.notification
        if n.kind in _ESCALATION and (n.contact_id, n.channel) not in seen:
            seen.add((n.contact_id, n.channel))
            yield _notification(
                release, NotificationKind.RESOLVED, n.contact_id, n.channel, live_at
            )


def _page_lost_or_back(
    release: Release,
    lost_since: datetime | None,
    episode: datetime,
    deliveries: Sequence[Delivery],
) -> list[Notification]:
    """A page confirmed live that stops passing its rule is not "resolved" any more: tell the
    people who were told it was (and the chain's first step, who own the release), then tell
    them again when it is back. One notice each way per loss, keyed by when the loss began."""
    occurrence = int(episode.timestamp())
    if lost_since is None:
        told = {
            (d.notification.contact_id, d.notification.channel)
            for d in deliveries
            if d.status == DeliveryStatus.SENT
            and d.notification.kind == NotificationKind.PAGE_LOST
            and d.notification.occurrence == occurrence
        }
        kind, pairs = NotificationKind.PAGE_BACK, sorted(told)
    else:
        kind, pairs = NotificationKind.PAGE_LOST, _lost_recipients(release, deliveries, episode)
    return [
        _notification(release, kind, contact_id, channel, episode, None, occurrence)
        for contact_id, channel in pairs
    ]


def _lost_recipients(
    release: Release, deliveries: Sequence[Delivery], lost_at: datetime
) -> list[tuple[str, Channel]]:
    pairs: dict[tuple[str, Channel], None] = {}
    first = release.steps[0]
    for contact_id, _via, _gap in rota.reach(release, first.notify, lost_at):
        contact = release.contacts[contact_id]
        for channel in _channels(contact, first.channels):
            pairs[(contact_id, channel)] = None
    for d in deliveries:
        n = d.notification
        told = n.kind in (
            *_ESCALATION,
            NotificationKind.EARLY,
            NotificationKind.RESOLVED,
            NotificationKind.REPORT,
        )
        if d.status == DeliveryStatus.SENT and told and n.fallback_for is None:
            pairs[(n.contact_id, n.channel)] = None
    return list(pairs)


def report_recipients(release: Release) -> list[str]:
    by_role = [c.id for c in release.contacts.values() if c.role in REPORT_ROLES and c.email]
    return by_role or [c for c in release.breach_contacts() if release.contacts[c].email]


def _report(release: Release, live_at: datetime) -> Iterable[Notification]:
    for contact_id in report_recipients(release):
        yield _notification(release, NotificationKind.REPORT, contact_id, "email", live_at)


def _ack_notices(
    release: Release, acks: Sequence[Ack], sent: Sequence[Delivery], state: ReleaseState
) -> Iterable[Notification]:
    if state.is_live or state == ReleaseState.CANCELLED:
        return
    for number, ack in enumerate(sorted(acks, key=lambda a: a.at)):
        told: set[str] = set()
        for d in sent:
            n = d.notification
            if (
                n.kind in _ESCALATION
                and n.contact_id != ack.contact_id
                and n.contact_id not in told
            ):
                told.add(n.contact_id)
                contact = release.contacts.get(n.contact_id)
                if contact is None:
                    continue
                channel = contact.first_channel()
                if channel is None:
                    continue
                yield _notification(
                    release, NotificationKind.ACK_NOTICE, n.contact_id, channel, ack.at, number
                )


def _fallbacks(
    release: Release, deliveries: Sequence[Delivery], now: datetime
) -> Iterable[Notification]:
    """A message whose channel failed for good is sent once on the contact's other channel,
    unless the same message already reaches them there (a step on both SMS and email): a
    second copy by email would only be a duplicate."""
    by_key = {d.key: d for d in deliveries}
    for d in deliveries:
        n = d.notification
        if d.status != DeliveryStatus.FAILED or n.fallback_for is not None:
            continue
        contact = release.contacts.get(n.contact_id)
        if contact is None:
            continue
        other = _fallback_channel(contact, n.channel)
        if other is None:
            continue
        sibling = by_key.get(
            Notification.make_key(release.id, n.kind, n.contact_id, other, n.step, n.occurrence)
        )
        if sibling is not None and sibling.status not in (
            DeliveryStatus.FAILED,
            DeliveryStatus.CANCELLED,
        ):
            continue
        yield n.model_copy(
            update={"key": f"{n.key}>{other}", "channel": other, "fallback_for": n.key}
        )


def _fallback_channel(contact: Contact, failed: Channel) -> Channel | None:
    """The contact's other channel for a message that failed for good: SMS and email stand in
    for each other, on the same transport (Notify's text falls back to Notify's email); a chat
    post that failed falls back to email, else SMS (a person, not a channel, is then reached)."""
    chat = failed in WEBHOOK_CHANNELS
    order: tuple[Channel, ...] = ("email", "sms") if chat else (counterpart(failed),)
    return next((c for c in order if contact.address(c) is not None), None)


def _still_active(
    record: ReleaseRecord,
    state: ReleaseState,
    live_at: datetime | None,
    now: datetime,
    due: Sequence[Notification],
    deliveries: Sequence[Delivery],
) -> bool:
    if due or any(d.status not in _DONE and not d.notification.is_marker for d in deliveries):
        return True
    if state == ReleaseState.CANCELLED:
        return False
    if state.is_live and live_at is not None:
        return now < live_at + record.release.cadence.watch_after_live
    return True


def next_check_at(
    release: Release,
    state: ReleaseState,
    live_at: datetime | None,
    now: datetime,
    *,
    lost: bool = False,
) -> datetime | None:
    """When to probe next: sparse far ahead, dense around the due time, slower after hours,
    never stopping before the page is confirmed live (or while a live page is lost)."""
    c = release.cadence
    due = release.due
    if state == ReleaseState.CANCELLED:
        return None
    if state.is_live and lost:
        return now + c.after
    if state.is_live and live_at is not None:
        end = live_at + c.watch_after_live
        return min(now + c.after, end) if now < end else None
    boundaries = [
        due - c.lookahead,
        due - release.pre_window,
        due - c.hot_before,
        due,
        due + c.hot_after,
        due + c.slow_after,
    ]
    if now < due - c.lookahead:
        interval = None
    elif now < due - release.pre_window:
        interval = c.scheduled
    elif now < due - c.hot_before:
        interval = c.pre
    elif now < due + c.hot_after:
        interval = c.hot
    elif now < due + c.slow_after:
        interval = c.after
    else:
        interval = c.slow
    candidates = [b for b in boundaries if b > now]
    if interval is not None:
        candidates.append(now + interval)
    return min(candidates)


# -- wake time: when a tick must look at the release again ---------------------------------------

# derive_state turns WATCHING into LATE strictly after due + grace: a tick at that very instant
# changes nothing, so the release wakes a moment after it.
_JUST_AFTER = timedelta(microseconds=1)


def wake_at(
    record: ReleaseRecord,
    now: datetime,
    deliveries: Sequence[Delivery] = (),
    acks: Sequence[Ack] = (),
    *,
    acting: bool = False,
) -> datetime | None:
    """The earliest moment anything can happen to this record without outside input: its next
    probe, a state boundary, a chain step's next occurrence, an ack hold running out, a
    readiness time, a rota gap or hand-over, a delivery's retry or lease. `decide` at any time
    before it gives the same record and nothing to send; a tick at or after it must settle the
    release. `record` is the decided one (decide's `record`), `acting` whether that decision
    sends or cancels something: then `now`, so the next tick sees what the sends left (a
    fallback, a retry) before computing a later time. None: nothing will ever happen (an
    inactive release). Outside inputs (an ack, a confirmation, a receipt, a calendar or config
    change) wake the release themselves (the stores set wake_at to their time)."""
    if not record.active:
        return None
    if acting:
        return now
    release = record.release
    # Times that are due however long ago they passed (an appointment not kept yet).
    times: list[datetime] = []
    if record.next_check_at is not None:
        times.append(record.next_check_at)
    elif not release.stopped and not record.state.is_live:
        times.append(release.due - release.cadence.lookahead)  # service.probe_due's rule
    for d in deliveries:
        if d.status in _DONE or d.notification.is_marker:
            continue
        if d.status == DeliveryStatus.RETRY:
            times.append(d.next_attempt_at or now)
        elif d.status == DeliveryStatus.CLAIMED and d.lease_until is not None:
            times.append(d.lease_until)
    # Moments at which the passing of time alone changes the decision: only those to come.
    if not release.stopped and record.live_at is None:
        edges = [
            release.due - release.pre_window,
            release.due,
            release.due + release.grace + _JUST_AFTER,
            *_step_times(release, now),
            *(ack.at + release.ack_timeout for ack in acks),
            *readiness.wake_times(release, now),
            *_rota_gap_times(release, now),
        ]
        times += [t for t in edges if t > now]
    return min(times, default=None)


def _step_times(release: Release, now: datetime) -> Iterable[datetime]:
    """Each chain step's first occurrence, or its next repeat once it has fired."""
    for step in release.steps:  # none for an observed release
        fire = release.due + step.after
        if fire > now or step.repeat is None:
            yield fire
        else:
            yield fire + step.repeat * (int((now - fire) / step.repeat) + 1)


def _rota_gap_times(release: Release, now: datetime) -> list[datetime]:
    """While a rota gap is still ahead, the gap notice goes to whoever the chain's first step
    reaches now (_rota_gaps): wake at each gap and whenever a rota it names changes hands."""
    gaps = [at for at, _ in gap_times(release) if at > now]
    if not gaps or not release.steps:
        return [min(gaps)] if gaps else []
    out = [min(gaps)]
    for cid in release.steps[0].notify:
        contact = release.contacts.get(cid)
        if contact is not None and contact.rota is not None:
            out += rota.changes_after(contact.rota, now)
    return out
