"""The watchdog's tick: gather inputs, let policy decide, apply the decision.

A tick (1) finds the releases due (`store.due_releases`: those whose wake_at has come, so a
tick costs what is due, not what is watched), (2) probes those whose next check is due,
concurrently, (3) records the checks, (4) for every due release runs `policy.decide` and stores
the new state, with its next wake_at (`policy.wake_at`), under an optimistic version check, and
(5) delivers each due notification with claim → send → mark, so overlapping ticks and retried
invocations never both send it.

Every notification gets at most `max_attempts` sends (default 3), with a backoff between them
(`retry_backoff`, doubling, stored on the RETRY record as next_attempt_at); after the last one
it is FAILED, which runs the same fallback and "could not reach" paths as a permanent error.
So a channel that accepts a message and then reports failure (an SMTP server dropping the
connection) causes at most `max_attempts` copies, never a stream of them. A message that
cannot be rendered fails for good at once: retrying the same text cannot help.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING

from .acks.by_reply import code_for
from .acks.holds import held_steps
from .calendar.changes import KINDS as CHANGE_KINDS
from .calendar.changes import change_of, to_record
from .clock import Clock
from .errors import AlreadyClaimed, SendError, VersionConflict
from .links.urls import Links, NoLinks
from .model import (
    Channel,
    Check,
    Delivery,
    DeliveryStatus,
    Event,
    EventKind,
    Notification,
    NotificationKind,
    ReleaseRecord,
    ReleaseState,
    live_evidence,
    medium,
    notification_detail,
)
from .notify.base import Attachment, Notifier
from .notify.context import MessageContext
from .notify.messages import render
from .policy import (
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_RETRY_BACKOFF,
    MAX_RETRY_BACKOFF,
    Ack,
    Decision,
    acks_from,
    decide,
    lateness_unproven,
    next_check_at,
    page_cancellation,
    wake_at,
)
from .readiness.policy import KINDS as READINESS_KINDS
from .readiness.policy import confirmation
from .report.drafts import build_report_for_email
from .store.base import Store
from .store.health import store_failed

if TYPE_CHECKING:  # the probe package (httpx, selectolax) loads when a page is first probed
    from .probe.base import Prober

log = logging.getLogger("releasewatch.service")

ReportBuilder = Callable[[Store, str], tuple[str, tuple[Attachment, ...]]]


@dataclass
class TickReport:
    at: datetime
    releases: int = 0
    probed: int = 0
    checks: list[Check] = field(default_factory=list)
    transitions: list[tuple[str, ReleaseState, ReleaseState]] = field(default_factory=list)
    sent: list[Notification] = field(default_factory=list)
    failed: list[tuple[Notification, str]] = field(default_factory=list)
    # Of `failed`, those that will not be retried (rejected, or out of attempts): the AWS
    # poller's Problems metric and its alarm.
    failed_permanently: int = 0
    # Of `failed`, retries that failed again and will be retried once more: the fault has
    # outlived a backoff, so alerts are late (the AWS poller counts these as problems).
    failed_retries: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Watchdog:
    def __init__(
        self,
        store: Store,
        prober: Prober,
        notifiers: Mapping[Channel, Notifier],
        clock: Clock,
        *,
        links: Links | None = None,
        report_builder: ReportBuilder | None = None,
        owner: str | None = None,
        lease: timedelta = timedelta(minutes=2),
        observers: Sequence[Callable[[str, object], None]] = (),
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_backoff: timedelta = DEFAULT_RETRY_BACKOFF,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.retry_backoff = retry_backoff
        self.store = store
        self.prober = prober
        self.notifiers = dict(notifiers)
        self.clock = clock
        self.links = links or NoLinks()
        self.report_builder = report_builder or build_report_for_email
        self.owner = owner or default_owner()
        self.lease = lease
        self.observers = list(observers)
        # When each release was last probed (and whether it was live), kept here and not only
        # in the store: if recording fails, the stored next_check_at never advances, and
        # without this every tick would probe again at once (370 requests a second on a full
        # disk). Bounded by the number of releases.
        self._probed: dict[str, tuple[datetime, bool | None]] = {}
        # How long a tick waits for its probes (seconds); None: for all of them (`run --once`,
        # the Lambda). run_loop sets it, so that one slow origin (a body trickled a byte at a
        # time until the 20 s total timeout) does not hold up every other release's check and
        # alert: a probe still running then is recorded by the first tick after it ends, and
        # its release is not probed again meanwhile.
        self.probe_wait: float | None = None
        self._inflight: dict[str, tuple[datetime, asyncio.Task[Check]]] = {}
        # Probes that have ended, as their done callbacks report them (release, task): a
        # tick drains what ended instead of re-scanning every probe in flight at each wake-up
        # (at 09:30, a thousand probes and hundreds of wake-ups). `_wake` is set by each.
        self._ended: list[tuple[str, asyncio.Task[Check]]] = []
        self._wake: asyncio.Event | None = None
        # Run after every tick, in a worker thread, with the store and the time: reading back
        # GOV.UK Notify's receipts and received texts (notify/receipts.py, acks/by_reply.py).
        # A failing one is logged and never fails the tick.
        self.after_tick: list[Callable[[Store, datetime], object]] = []

    # -- the tick -----------------------------------------------------------------------------
    async def tick(
        self,
        only: Callable[[ReleaseRecord], bool] | None = None,
        *,
        due: tuple[datetime, Sequence[ReleaseRecord]] | None = None,
    ) -> TickReport:
        """One pass over the releases due. `only` narrows it (the Lambda's hot re-polls, a
        shard of the hot window). `due`: the time the tick starts at and the releases due then,
        when the caller has read them (the AWS poller, which makes its watchdog only once
        something is due: aws/poller.py)."""
        start = self.clock.now() if due is None else due[0]
        report = TickReport(at=start)
        read = self.store.due_releases(start) if due is None else due[1]
        # By id, in the order read: each batch of checks finds its releases without a scan.
        records = {r.id: r for r in read if only is None or only(r)}
        to_probe = [
            r
            for r in records.values()
            if probe_due(r, start)
            and self.probe_not_before(r) <= start
            and r.id not in self._inflight
        ]
        for r in to_probe:
            self._probed[r.id] = (start, None)
        settled: set[str] = set()
        if self.probe_wait is None:
            probed = [r.release for r in to_probe]
            answers = await self.prober.probe_many(probed) if to_probe else []
            await self._judge([(start, c) for c in answers], records, only, report, settled)
        else:
            # Each check is recorded and judged as soon as its probe ends, not when the
            # round's last one does: at the busiest minute a round of 300 probes spreads over
            # seconds of the hosts' politeness budgets, and a page seen live at its start must
            # not wait for the rest (nor for probe_wait) to be known.
            loop = asyncio.get_running_loop()
            until = loop.time() + self.probe_wait
            wake = self._wake = asyncio.Event()
            try:
                left = set(self._start_probes(to_probe, start))
                while True:
                    wake.clear()  # before draining: a probe ending after it wakes us again
                    finished, ended = self._finished_probes()
                    left.difference_update(ended)
                    await self._judge(finished, records, only, report, settled)
                    if not left or loop.time() >= until:
                        break
                    with suppress(TimeoutError):
                        async with asyncio.timeout_at(until):
                            await wake.wait()
            finally:
                self._wake = None
        for record in records.values():
            if record.id not in settled:
                await self._settle_one(record, None, report, None)
        report.releases = len(records)
        for task in self.after_tick:
            try:
                await asyncio.to_thread(task, self.store, self.clock.now())
            except Exception as exc:
                if store_failed(exc):
                    raise
                log.exception("after the tick: %s failed", type(task).__name__)
        return report

    def _others(
        self,
        checks: Sequence[Check],
        records: Mapping[str, ReleaseRecord],
        only: Callable[[ReleaseRecord], bool] | None,
    ) -> list[ReleaseRecord]:
        """The active releases these checks are for that the tick has not read."""
        out = []
        for release_id in dict.fromkeys(
            c.release_id for c in checks if c.release_id not in records
        ):
            record = self.store.get_release(release_id)
            if record is not None and record.active and (only is None or only(record)):
                out.append(record)
        return out

    async def _judge(
        self,
        checks: Sequence[tuple[datetime, Check]],
        records: dict[str, ReleaseRecord],
        only: Callable[[ReleaseRecord], bool] | None,
        report: TickReport,
        settled: set[str],
    ) -> None:
        """Record these checks (each with when its probe began) and settle their releases;
        `records` gains those the tick had not read, `settled` every release settled."""
        if not checks:
            return
        for began, c in checks:
            self._probed[c.release_id] = (began, c.live)
        checks_only = [c for _, c in checks]
        # A probe that outlived an earlier tick is judged by this one, due or not.
        for other in self._others(checks_only, records, only):
            records[other.id] = other
        report.probed += len(checks_only)
        report.checks += checks_only
        self.store.record_checks(checks_only)
        for check in checks_only:
            self._emit("check", check)
        by_id = {c.release_id: (began, c) for began, c in checks}  # the last, if twice
        for release_id, (began, check) in by_id.items():
            record = records.get(release_id)
            if record is not None and release_id not in settled:
                await self._settle_one(record, check, report, began)
                settled.add(release_id)

    async def _settle_one(
        self,
        record: ReleaseRecord,
        check: Check | None,
        report: TickReport,
        probed_at: datetime | None,
    ) -> None:
        try:
            await self._settle(record, check, report, probed_at)
        except Exception as exc:  # one bad release must never stop the others
            if store_failed(exc):  # ...but a store that cannot write fails them all:
                raise  # the whole tick fails, and the runner backs off and logs it once
            log.exception("release %s: tick failed", record.id)
            report.errors.append((record.id, f"{type(exc).__name__}: {exc}"))

    def _start_probes(
        self, records: Sequence[ReleaseRecord], start: datetime
    ) -> list[asyncio.Task[Check]]:
        """Start these releases' probes, each remembered as in flight until it is recorded."""
        started = []
        for r in records:
            task = asyncio.ensure_future(self.prober.probe(r.release))
            self._inflight[r.id] = (start, task)
            task.add_done_callback(partial(self._probe_ended, r.id))
            started.append(task)
        return started

    def _probe_ended(self, release_id: str, task: asyncio.Task[Check]) -> None:
        self._ended.append((release_id, task))
        if self._wake is not None:
            self._wake.set()

    def _finished_probes(
        self,
    ) -> tuple[list[tuple[datetime, Check]], list[asyncio.Task[Check]]]:
        """Every probe that has ended since the last call (this tick's, and earlier ones that
        outlived their tick) with its start, forgotten as in flight; and every task that
        ended, answered or not."""
        finished: list[tuple[datetime, Check]] = []
        ended, self._ended = self._ended, []
        for release_id, task in ended:
            entry = self._inflight.get(release_id)
            if entry is None or entry[1] is not task:  # cancelled and forgotten meanwhile
                continue
            del self._inflight[release_id]
            if task.cancelled() or task.exception() is not None:  # probe() never raises
                continue
            finished.append((entry[0], task.result()))
        return finished, [task for _, task in ended]

    def inflight_tasks(self) -> list[asyncio.Task[Check]]:
        """Probes started by a tick that had not finished when it stopped waiting."""
        return [task for _, task in self._inflight.values() if not task.done()]

    def probing(self) -> set[str]:
        """Releases whose probe, started by an earlier tick, is still running."""
        return {rid for rid, (_, task) in self._inflight.items() if not task.done()}

    def finished_inflight(self) -> set[str]:
        """Releases whose outliving probe has finished, for the next tick to record."""
        return {rid for rid, (_, task) in self._inflight.items() if task.done()}

    async def cancel_inflight(self) -> None:
        """Cancel the probes still running (the Lambda, before it is frozen) and forget them:
        their releases are probed afresh by a later tick, when their cadence allows."""
        running = [task for _, task in self._inflight.values() if not task.done()]
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        self._inflight = {
            rid: (began, task)
            for rid, (began, task) in self._inflight.items()
            if task.done() and not task.cancelled()
        }

    def probe_not_before(self, record: ReleaseRecord) -> datetime:
        """The earliest time this process may probe the release again: what the cadence would
        have scheduled after its last probe here, whatever the store says."""
        last = self._probed.get(record.id)
        if last is None:
            return datetime.min.replace(tzinfo=UTC)
        at, live = last
        state, live_at = record.state, record.live_at
        if live and not state.is_live:
            state, live_at = ReleaseState.LIVE, live_at or at
        lost = record.lost_since is not None or (state.is_live and live is False)
        nxt = next_check_at(record.release, state, live_at, at, lost=lost)
        # None: the policy would stop probing; if the store still asks, not faster than hot.
        return nxt if nxt is not None else at + record.release.cadence.hot

    async def _settle(
        self,
        record: ReleaseRecord,
        check: Check | None,
        report: TickReport,
        probed_at: datetime | None = None,
    ) -> None:
        decision, saved = self._decide_and_save(record, check, probed_at)
        if saved is None:
            return
        now = decision.record.updated_at or self.clock.now()
        if decision.state_changed:
            report.transitions.append((record.id, decision.previous_state, saved.state))
            self.store.add_event(
                Event(
                    release_id=record.id,
                    at=now,
                    kind=EventKind.STATE_CHANGED,
                    detail={
                        "from": decision.previous_state.value,
                        "to": saved.state.value,
                        **(
                            live_evidence(check, record.last_check)
                            if saved.state.is_live and not decision.previous_state.is_live
                            else {}
                        ),
                    },
                )
            )
            self._emit("state", (saved, decision.previous_state))
        if decision.page_lost and record.last_check is not None and record.last_check.live:
            self.store.add_event(
                Event(
                    release_id=record.id,
                    at=now,
                    kind=EventKind.PAGE_LOST,
                    detail={"reason": check.reason if check else ""},
                )
            )
        why = (
            saved.release.stopped_because
            if saved.state == ReleaseState.CANCELLED
            else "overtaken: the page went live first"
        )
        for key in decision.cancel:
            self.store.cancel(key, now, why)
        for notification in decision.due:
            await self._deliver(notification, saved, report)

    def _decide_and_save(
        self, record: ReleaseRecord, check: Check | None, probed_at: datetime | None = None
    ) -> tuple[Decision, ReleaseRecord | None]:
        for _ in range(5):
            now = self.clock.now()
            deliveries = self.store.deliveries(record.id)
            events = self.store.events(record.id)
            acks = acks_from(events)
            confirmed = confirmation(events, record.release.due) is not None
            cancelled = page_cancellation(record, check)
            if cancelled is not None:
                # Recorded first, then applied (decide): as a calendar sync does, so that a
                # crash in between loses no notice and a second sight of it tells nothing.
                event = to_record(cancelled, events, now)
                if event is not None:
                    self.store.add_event(event)
                    events = [*events, event]
            changes = [e for e in events if e.kind == EventKind.CALENDAR_CHANGED]
            decision = decide(
                record,
                check,
                now,
                deliveries,
                acks,
                ready_confirmed=confirmed,
                changes=changes,
                probed_at=probed_at,  # the cadence counts from when this tick sent the probe
            )
            acting = bool(decision.due or decision.cancel)
            wake = wake_at(decision.record, now, deliveries, acks, acting=acting)
            decision = replace(
                decision, record=decision.record.model_copy(update={"wake_at": wake})
            )
            if decision.record.model_copy(update={"updated_at": record.updated_at}) == record:
                # Nothing but the timestamp would change: skip the write (on DynamoDB an idle
                # release would otherwise cost a write every minute).
                return decision, record
            try:
                return decision, self.store.update_release(decision.record)
            except VersionConflict:
                fresh = self.store.get_release(record.id)
                if fresh is None:
                    return decision, None
                record = fresh
        log.warning("release %s: gave up after repeated version conflicts", record.id)
        return decision, None

    # -- delivery -----------------------------------------------------------------------------
    async def _deliver(
        self, notification: Notification, record: ReleaseRecord, report: TickReport
    ) -> None:
        now = self.clock.now()
        try:
            claimed = self.store.claim(notification, self.owner, now, self.lease)
        except AlreadyClaimed:
            return
        key = notification.key
        attempt = claimed.attempts
        if attempt > self.max_attempts:
            # The last attempt died mid-send (its lease ran out unmarked): the bound still holds.
            last = claimed.error or "the sender stopped mid-send"
            self._failed(notification, record, last, False, report, attempt=attempt)
            return
        notifier = self.notifiers.get(notification.channel)
        if notifier is None:
            reason = f"no {notification.channel} notifier"
            self._failed(notification, record, reason, True, report, attempt=attempt)
            return
        try:
            context = self._context(notification, record, now)
        except Exception as exc:  # a store read or the report failed: worth another attempt
            log.exception("notification %s: could not gather its details", key)
            reason = f"could not gather the message's details ({type(exc).__name__})"
            self._failed(notification, record, reason, False, report, attempt=attempt)
            return
        try:
            message = render(context)
        except Exception as exc:  # the same text will never render: fail for good, say why
            reason = f"the message could not be built ({type(exc).__name__}: {exc})"
            self._failed(notification, record, reason, True, report, attempt=attempt)
            return
        try:
            provider_id = await asyncio.to_thread(notifier.send, message)
        except SendError as exc:
            self._failed(
                notification,
                record,
                exc.reason,
                exc.permanent,
                report,
                attempt=attempt,
                retry_after=exc.retry_after,
            )
            return
        except Exception as exc:  # a bug in a notifier: retry within the bound, do not lose it
            log.exception("notification %s: unexpected failure", key)
            reason = f"unexpected {type(exc).__name__} in the {notification.channel} notifier"
            self._failed(notification, record, reason, False, report, attempt=attempt)
            return
        sent_at = self.clock.now()
        self.store.mark_sent(key, self.owner, sent_at, provider_id)
        detail = notification_detail(notification)
        if notification.kind in _ESCALATION:
            # The report counts reminders as the message did: those really sent before it.
            detail["reminder"] = str(context.reminder)
        self.store.add_event(
            Event(
                release_id=record.id,
                at=sent_at,
                kind=EventKind.NOTIFICATION_SENT,
                contact_id=notification.contact_id,
                detail=detail,
            )
        )
        report.sent.append(notification)
        self._emit("sent", (notification, message))

    def _failed(
        self,
        notification: Notification,
        record: ReleaseRecord,
        reason: str,
        permanent: bool,
        report: TickReport,
        *,
        attempt: int = 1,
        retry_after: timedelta | None = None,
    ) -> None:
        now = self.clock.now()
        retry_at = None
        if not permanent and attempt >= self.max_attempts:
            # The bound: no more sends, and the fallback/"could not reach" paths take over.
            permanent = True
            reason = f"{reason} (gave up after {self.max_attempts} attempts)"
        elif not permanent:
            # A provider's Retry-After is honoured up to the longest backoff: an alert must not
            # wait an hour because a webhook said so, and the attempt bound still holds.
            wait = max(self.retry_backoff * 2 ** (attempt - 1), retry_after or timedelta(0))
            retry_at = now + min(wait, MAX_RETRY_BACKOFF)
        self.store.mark_failed(
            notification.key, self.owner, now, reason, permanent=permanent, retry_at=retry_at
        )
        detail = notification_detail(notification) | {
            "reason": reason,
            "permanent": str(permanent).lower(),
        }
        self.store.add_event(
            Event(
                release_id=record.id,
                at=now,
                kind=EventKind.NOTIFICATION_FAILED,
                contact_id=notification.contact_id,
                detail=detail,
            )
        )
        report.failed.append((notification, reason))
        report.failed_permanently += 1 if permanent else 0
        report.failed_retries += 1 if not permanent and attempt >= 2 else 0
        self._emit("failed", (notification, reason))

    def _context(
        self, notification: Notification, record: ReleaseRecord, now: datetime
    ) -> MessageContext:
        release = record.release
        deliveries = self.store.deliveries(release.id)
        contact = release.contacts[notification.contact_id]
        others = _others_told(record, deliveries, notification.contact_id)
        acked_by, acked_at = None, None
        held: tuple[int, ...] = ()
        if notification.kind == NotificationKind.ACK_NOTICE:
            acks = sorted(acks_from(self.store.events(release.id)), key=lambda a: a.at)
            ack: Ack | None = acks[notification.step or 0] if acks else None
            if ack is not None:
                acker = release.contacts.get(ack.contact_id)
                acked_by = acker.name if acker else ack.contact_id
                if acker is not None and acker.email is None and acker.phone is None:
                    # A chat channel's card was acknowledged: by whoever pressed its button,
                    # not by the channel; say no more than is known.
                    acked_by = f"someone in {acker.name}"
                acked_at = ack.at
                held = held_steps(release, ack.step, ack.at)
        report_text: str | None = None
        attachments: tuple[Attachment, ...] = ()
        if notification.kind == NotificationKind.REPORT:
            report_text, attachments = self.report_builder(self.store, release.id)
        ack_url = None
        if notification.kind in (NotificationKind.ALERT, NotificationKind.BREACH):
            ack_url = self.links.ack_url(
                release.id, notification.contact_id, notification.step or 0, now
            )
        confirm_url = None
        if notification.kind in READINESS_KINDS:
            confirm_url = self.links.confirm_url(
                release.id, notification.contact_id, now, release.due
            )
        change = None
        if notification.kind in CHANGE_KINDS:
            told = change_of(self.store.events(release.id), notification)
            change = dict(told.detail) if told is not None else None
        reply_code = None
        replies_locked = False
        notifier = self.notifiers.get(notification.channel)
        if (
            notification.kind in _ESCALATION
            and medium(notification.channel) == "sms"
            and getattr(notifier, "accepts_replies", False)
        ):
            reply_code = code_for(
                self.store, record, notification.contact_id, notification.step or 0, now
            )
            replies_locked = reply_code is None  # too many wrong codes (acks/by_reply.py)
        reminder, first_alerted_at = _earlier_sent(deliveries, notification)
        late_unproven = False
        if notification.kind in (NotificationKind.RESOLVED, NotificationKind.REPORT):
            checks = self.store.checks(release.id)
            late_unproven = lateness_unproven(release, record.live_at, checks)
        return MessageContext(
            late_unproven=late_unproven,
            reminder=reminder,
            first_alerted_at=first_alerted_at,
            first_checked_late_at=_first_checked_late(record),
            notification=notification,
            release=release,
            contact=contact,
            now=now,
            last_check=record.last_check,
            first_failure_at=record.first_failure_at,
            live_at=record.live_at,
            others_told=others,
            unreachable=_unreachable(record, deliveries, notification.contact_id),
            next_step=_next_step(record, now, acks_from(self.store.events(release.id))),
            ack_url=ack_url,
            confirm_url=confirm_url,
            release_url=self.links.release_url(release.id),
            acked_by=acked_by,
            acked_at=acked_at,
            held_steps=held,
            report_text=report_text,
            report_attachments=attachments,
            change=change,
            reply_code=reply_code,
            replies_locked=replies_locked,
        )

    def _emit(self, what: str, payload: object) -> None:
        for observer in self.observers:
            try:
                observer(what, payload)
            except Exception:  # an observer (console printer, metrics) must not break a tick
                log.exception("observer failed on %s", what)


def probe_due(record: ReleaseRecord, now: datetime) -> bool:
    """Whether a tick at `now` should probe this release."""
    release = record.release
    if release.stopped or not record.active:
        return False
    if record.next_check_at is not None:
        return record.next_check_at <= now
    if record.state.is_live:
        return False
    return now >= release.due - release.cadence.lookahead


def _others_told(
    record: ReleaseRecord, deliveries: Sequence[Delivery], contact_id: str
) -> tuple[str, ...]:
    names: dict[str, None] = {}
    for d in deliveries:
        n = d.notification
        escalation = n.kind in (NotificationKind.ALERT, NotificationKind.BREACH)
        if d.status == DeliveryStatus.SENT and n.contact_id != contact_id and escalation:
            contact = record.release.contacts.get(n.contact_id)
            names[contact.name if contact else n.contact_id] = None
    return tuple(names)


def _unreachable(
    record: ReleaseRecord, deliveries: Sequence[Delivery], contact_id: str
) -> tuple[str, ...]:
    """Contacts an escalation message failed for good and nothing has reached since: the next
    step's people are told, so someone can try another way."""
    failed: dict[str, None] = {}
    reached: set[str] = set()
    for d in deliveries:
        n = d.notification
        if d.status == DeliveryStatus.SENT:
            reached.add(n.contact_id)
        elif d.status == DeliveryStatus.FAILED and n.kind in _ESCALATION:
            failed[n.contact_id] = None
    names = []
    for cid in failed:
        if cid not in reached and cid != contact_id:
            contact = record.release.contacts.get(cid)
            names.append(contact.name if contact else cid)
    return tuple(names)


_ESCALATION = (NotificationKind.ALERT, NotificationKind.BREACH)


def _earlier_sent(deliveries: Sequence[Delivery], n: Notification) -> tuple[int, datetime | None]:
    """How many earlier alerts reached this contact (any step, any channel; the same step and
    occurrence on another channel is this message, not an earlier one), and when the first did:
    a reminder count only ever counts messages really sent, and a contact on two steps was
    first alerted by the first of them."""
    if n.kind not in _ESCALATION or n.step is None:
        return 0, None
    this = (n.step, n.occurrence)
    earlier = [
        d
        for d in deliveries
        if d.status == DeliveryStatus.SENT
        and d.notification.kind in _ESCALATION
        and d.notification.contact_id == n.contact_id
        and (d.notification.step, d.notification.occurrence) != this
    ]
    times = [d.sent_at for d in earlier if d.sent_at is not None]
    seen = {(d.notification.step, d.notification.occurrence) for d in earlier}
    return len(seen), min(times, default=None)


def _first_checked_late(record: ReleaseRecord) -> datetime | None:
    """The first check after the due time, if it came after the grace period: releasewatch was
    not watching at the due time (the release was added late, or the watchdog was down)."""
    first = record.first_failure_at
    release = record.release
    if first is not None and first - release.due > release.grace:
        return first
    return None


def _next_step(
    record: ReleaseRecord, now: datetime, acks: Sequence[Ack] = ()
) -> tuple[datetime, tuple[str, ...]] | None:
    """The next chain step still to fire, and when it really will: an acknowledgement holds a
    later alert step until its timeout, so the message names that time, not the step's own."""
    release = record.release
    upcoming = []
    for index, step in enumerate(release.steps):
        when = release.due + step.after
        if when <= now:
            continue
        if step.kind == "alert":
            for ack in acks:
                if index > ack.step and ack.at <= now and ack.at + release.ack_timeout > when:
                    when = ack.at + release.ack_timeout
        upcoming.append((when, step))
    if not upcoming:
        return None
    when, step = min(upcoming, key=lambda pair: pair[0])
    names = tuple(release.contacts[c].name for c in step.notify if c in release.contacts)
    return when, names
