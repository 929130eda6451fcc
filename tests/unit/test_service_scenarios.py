"""The watchdog end to end in memory: a fake clock, a scripted page, recording notifiers."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import timedelta

import pytest

from releasewatch.errors import SendError, StoreError
from releasewatch.model import (
    Chain,
    DeliveryStatus,
    EventKind,
    NotificationKind,
    Release,
    ReleaseState,
)
from releasewatch.service import Watchdog
from tests.factories import DEFAULT_CHAIN, DUE, make_release
from tests.fakes import FixedClock, InMemoryStore, RecordingNotifier, ScriptedProber

M = timedelta(minutes=1)
SEC = timedelta(seconds=1)


def build(live_from, *, email=None, sms=None, release=None):  # type: ignore[no-untyped-def]
    clock = FixedClock(DUE - 20 * M)
    store = InMemoryStore()
    release = release or make_release()
    store.apply_releases([release], clock.now())
    email = email or RecordingNotifier()
    sms = sms or RecordingNotifier()
    prober = ScriptedProber(clock, lambda now: live_from is not None and now >= live_from)
    dog = Watchdog(store, prober, {"email": email, "sms": sms}, clock)
    return clock, store, dog, email, sms


def run_until(clock, dog, end, step=timedelta(seconds=10)):  # type: ignore[no-untyped-def]
    while clock.now() < end:
        asyncio.run(dog.tick())
        clock.advance(step)


def summary(notifier):  # type: ignore[no-untyped-def]
    return [(m.contact_id, m.key.split("|")[1]) for m in notifier.sent]


def test_a_release_live_on_time_sends_nothing_at_all():
    clock, store, dog, email, sms = build(DUE + timedelta(seconds=20))
    run_until(clock, dog, DUE + 60 * M)
    assert email.sent == [] and sms.sent == []
    assert store.get_release("lms-2025-07").state == ReleaseState.LIVE  # type: ignore[union-attr]


def test_the_incident_escalates_in_order_and_resolves_when_live_at_noon():
    live_at = DUE + timedelta(hours=2, minutes=30)
    clock, store, dog, email, sms = build(live_at)
    run_until(clock, dog, live_at + 10 * M)
    record = store.get_release("lms-2025-07")
    assert record is not None and record.state == ReleaseState.LIVE_LATE
    firsts = {}
    for m in email.sent + sms.sent:
        firsts.setdefault((m.contact_id, m.channel), m)
    order = [k for k in firsts]
    assert order.index(("stats_team", "email")) < order.index(("web_publisher", "sms"))
    # the web publisher was paged by SMS every 10 minutes until live, never twice per slot
    pages = [m.key for m in sms.sent if m.contact_id == "web_publisher" and "|alert|" in m.key]
    assert len(pages) == len(set(pages)) == 14  # 09:40, 09:50, ... 11:50
    assert all(len(m.text) <= 160 for m in sms.sent)
    resolved = {(m.contact_id, m.channel) for m in email.sent + sms.sent if "|resolved|" in m.key}
    assert resolved == {
        ("stats_team", "email"),
        ("web_publisher", "sms"),
        ("web_publisher", "email"),
        ("lead_official", "email"),
        ("head_of_profession", "email"),
    }
    reports = {m.contact_id for m in email.sent if "|report|" in m.key}
    assert reports == {"head_of_profession", "lead_official"}
    report = next(m for m in email.sent if "|report|" in m.key)
    assert report.attachments and "T3.6" in report.text
    # nothing escalates after the page went live
    after = [m for m in email.sent + sms.sent if "|alert|" in m.key or "|breach|" in m.key]
    assert all("RESOLVED" not in m.subject for m in after)


def test_eight_minutes_late_alerts_the_stats_team_only_then_reports_the_breach():
    clock, _store, dog, email, sms = build(DUE + 8 * M)
    run_until(clock, dog, DUE + 90 * M)
    assert sorted(set(summary(email))) == [
        ("head_of_profession", "report"),
        ("lead_official", "report"),
        ("stats_team", "alert"),
        ("stats_team", "resolved"),
    ]
    assert len(email.sent) == 4
    assert summary(sms) == []  # the web publisher's step is +10m: never reached


def sms_only_paging() -> Release:
    """The default chain, but the web publisher is paged by SMS alone."""
    steps = list(DEFAULT_CHAIN.steps)
    steps[1] = steps[1].model_copy(update={"channels": ("sms",)})
    return make_release(chain=Chain(id="sms-only", steps=tuple(steps)))


def test_an_sms_that_fails_for_good_falls_back_to_email_and_is_recorded():
    sms = RecordingNotifier(fail=lambda m: SendError("number opted out", permanent=True))
    clock, store, dog, email, _ = build(None, sms=sms, release=sms_only_paging())
    run_until(clock, dog, DUE + 11 * M)
    fallback = [m for m in email.sent if ">email" in m.key]
    assert [m.contact_id for m in fallback] == ["web_publisher"]
    failed = [e for e in store.events("lms-2025-07") if e.kind == EventKind.NOTIFICATION_FAILED]
    assert failed and failed[0].detail["permanent"] == "true"
    assert "+4477" not in failed[0].detail["reason"]


def test_no_fallback_email_when_the_step_already_emails_the_contact():
    # The default chain pages the web publisher by SMS and email: when the SMS fails for good,
    # the email they already get is enough; a fallback would be the same email twice.
    sms = RecordingNotifier(fail=lambda m: SendError("number opted out", permanent=True))
    clock, _store, dog, email, _ = build(None, sms=sms)
    run_until(clock, dog, DUE + 11 * M)
    to_publisher = [m.key for m in email.sent if m.contact_id == "web_publisher"]
    assert to_publisher == ["lms-2025-07|alert|1|0|web_publisher|email"]


def test_a_transient_failure_is_retried_next_tick_and_sent_once():
    calls = {"n": 0}

    def flaky(message):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return SendError("throttled") if calls["n"] <= 2 else None

    email = RecordingNotifier(fail=flaky)
    clock, store, dog, _, _ = build(None, email=email)
    run_until(clock, dog, DUE + 6 * M)
    assert [m.contact_id for m in email.sent] == ["stats_team"]
    statuses = {d.status for d in store.deliveries("lms-2025-07")}
    assert statuses == {DeliveryStatus.SENT}


def test_released_early_is_a_breach_notice_and_a_report():
    clock, store, dog, email, _sms = build(DUE - 10 * M)
    run_until(clock, dog, DUE + 40 * M)
    record = store.get_release("lms-2025-07")
    assert record is not None and record.state == ReleaseState.EARLY
    kinds = sorted({(m.contact_id, m.key.split("|")[1]) for m in email.sent})
    assert kinds == [
        ("head_of_profession", "early"),
        ("head_of_profession", "report"),
        ("lead_official", "report"),
    ]


def test_a_cancelled_release_is_not_polled_or_escalated():
    release = make_release(cancelled=True)
    clock, _store, dog, email, sms = build(None, release=release)
    run_until(clock, dog, DUE + 70 * M)
    assert email.sent == [] and sms.sent == []
    assert dog.prober.calls == 0  # type: ignore[attr-defined]


def test_one_broken_release_does_not_stop_the_tick_for_the_others():
    clock = FixedClock(DUE + 6 * M)
    store = InMemoryStore()
    good, bad = make_release(id="good"), make_release(id="bad")
    store.apply_releases([good, bad], clock.now())

    class Exploding(InMemoryStore):
        pass

    original = store.deliveries

    def deliveries(release_id):  # type: ignore[no-untyped-def]
        if release_id == "bad":
            raise RuntimeError("corrupt item")
        return original(release_id)

    store.deliveries = deliveries  # type: ignore[method-assign]
    email = RecordingNotifier()
    prober = ScriptedProber(clock, lambda now: False)
    dog = Watchdog(store, prober, {"email": email, "sms": RecordingNotifier()}, clock)
    report = asyncio.run(dog.tick())
    assert [m.contact_id for m in email.sent] == ["stats_team"]
    assert [rid for rid, _ in report.errors] == ["bad"]


@pytest.mark.parametrize(
    "failure",
    [
        sqlite3.OperationalError("database or disk is full"),
        StoreError("the DynamoDB table is unavailable"),
    ],
    ids=["sqlite full", "dynamodb"],
)
def test_a_store_that_cannot_write_inside_one_release_fails_the_whole_tick(failure):
    # Unlike one release's bad data, a failing store must fail the tick: the runner then backs
    # off and /health counts the failed ticks. Swallowed per release, nobody would be told.
    clock = FixedClock(DUE + 6 * M)
    store = InMemoryStore()
    store.apply_releases([make_release(id="good"), make_release(id="bad")], clock.now())

    def mark_sent(key, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise failure

    store.mark_sent = mark_sent  # type: ignore[method-assign]
    prober = ScriptedProber(clock, lambda now: False)
    dog = Watchdog(store, prober, {"email": RecordingNotifier(), "sms": RecordingNotifier()}, clock)
    with pytest.raises(type(failure)):
        asyncio.run(dog.tick())


def test_an_idle_release_is_not_rewritten_every_tick():
    # Given a release due tomorrow (before its lookahead: nothing to probe, nothing due)
    clock = FixedClock(DUE - timedelta(days=2))
    store = InMemoryStore()
    store.apply_releases([make_release()], clock.now())
    dog = Watchdog(store, ScriptedProber(clock, lambda now: False), {}, clock)
    asyncio.run(dog.tick())
    version = store.get_release("lms-2025-07").version  # type: ignore[union-attr]
    # When ticks pass with nothing to do
    for _ in range(10):
        clock.advance(60)
        asyncio.run(dog.tick())
    # Then the stored record was not written again
    assert store.get_release("lms-2025-07").version == version  # type: ignore[union-attr]


def test_a_contact_no_channel_reaches_is_reported_to_the_next_step():
    # Given the web publisher's SMS and email both fail for good
    def refuse_publisher(message):  # type: ignore[no-untyped-def]
        if message.contact_id == "web_publisher":
            return SendError("rejected", permanent=True)
        return None

    email = RecordingNotifier(fail=refuse_publisher)
    sms = RecordingNotifier(fail=refuse_publisher)
    clock, store, dog, _, _ = build(None, email=email, sms=sms)
    # When the lead official's step comes (+30m)
    run_until(clock, dog, DUE + 31 * M)
    to_lead = [m for m in email.sent if m.contact_id == "lead_official"]
    # Then their alert says who could not be reached, by name
    assert to_lead
    assert "Could not be reached (every channel failed): Alice Publisher" in to_lead[0].text
    assert [e.kind for e in store.events("lms-2025-07")].count(EventKind.NOTIFICATION_FAILED) >= 2


# -- the attempt bound ---------------------------------------------------------------------------


def test_a_send_that_always_fails_is_tried_three_times_with_backoff_then_failed():
    # Given every send to the web publisher fails transiently (a provider that is down for them)
    tries: list[tuple[str, object]] = []

    def down_for_publisher(message):  # type: ignore[no-untyped-def]
        if message.contact_id == "web_publisher":
            if "|1|0|" in message.key and ">" not in message.key:  # the first page, not fallbacks
                tries.append((message.channel, clock.now()))
            return SendError("SMTP unavailable: SMTPServerDisconnected")
        return None

    email = RecordingNotifier(fail=down_for_publisher)
    sms = RecordingNotifier(fail=down_for_publisher)
    clock, store, dog, _, _ = build(None, email=email, sms=sms)
    # When the watchdog runs until the lead official's step (+30m)
    run_until(clock, dog, DUE + 31 * M)
    # Then each message to the publisher was tried exactly three times, at least 15 s then 30 s
    # apart (the first tick after each backoff: ticks come every 10 s here)
    first = [at for channel, at in tries if channel == "sms"][:3]
    assert [at - DUE - 10 * M for at in first] == [timedelta(0), 20 * SEC, 50 * SEC]
    assert sorted(channel for channel, _ in tries) == ["email"] * 3 + ["sms"] * 3
    # and is FAILED, with a reason that says the bound was reached
    first_alerts = [
        d
        for d in store.deliveries("lms-2025-07")
        if "|alert|1|0|web_publisher|" in d.key and ">" not in d.key
    ]
    assert [(d.status, d.attempts) for d in first_alerts] == [(DeliveryStatus.FAILED, 3)] * 2
    assert all("gave up after 3 attempts" in (d.error or "") for d in first_alerts)
    # and the "could not reach" path runs as for a permanent error
    to_lead = [m for m in email.sent if m.contact_id == "lead_official"]
    assert "Could not be reached (every channel failed): Alice Publisher" in to_lead[0].text


def test_after_the_last_attempt_the_fallback_channel_is_tried():
    # Given the web publisher is paged by SMS alone and the SMS provider keeps timing out
    sms = RecordingNotifier(fail=lambda m: SendError("SNS throttled"))
    clock, store, dog, email, _ = build(None, sms=sms, release=sms_only_paging())
    run_until(clock, dog, DUE + 12 * M)
    # Then after three attempts the email fallback goes out, once
    fallback = [m.key for m in email.sent if ">email" in m.key]
    assert fallback == ["lms-2025-07|alert|1|0|web_publisher|sms>email"]
    failed = [e for e in store.events("lms-2025-07") if e.kind == EventKind.NOTIFICATION_FAILED]
    assert [e.detail["permanent"] for e in failed] == ["false", "false", "true"]


def test_the_attempt_bound_is_configurable():
    sms = RecordingNotifier(fail=lambda m: SendError("SNS throttled"))
    clock = FixedClock(DUE + 10 * M)
    store = InMemoryStore()
    store.apply_releases([sms_only_paging()], clock.now())
    calls = {"n": 0}

    def count(message):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return SendError("SNS throttled")

    sms = RecordingNotifier(fail=count)
    prober = ScriptedProber(clock, lambda now: False)
    dog = Watchdog(store, prober, {"email": RecordingNotifier(), "sms": sms}, clock, max_attempts=5)
    run_until(clock, dog, DUE + 19 * M)
    assert calls["n"] == 5


def test_a_notifier_raising_an_unexpected_exception_is_retried_within_the_bound():
    # Given an email notifier with a bug that raises once, then works
    calls = {"n": 0}

    class Buggy(RecordingNotifier):
        def send(self, message):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("bug in a notifier")
            return super().send(message)

    email = Buggy()
    clock, store, dog, _, _ = build(None, email=email)
    run_until(clock, dog, DUE + 6 * M)
    # Then the alert is not failed at once: the second attempt sends it
    assert [m.contact_id for m in email.sent] == ["stats_team"]
    [d] = store.deliveries("lms-2025-07")
    assert (d.status, d.attempts) == (DeliveryStatus.SENT, 2)


def test_a_notifier_that_always_raises_is_failed_after_the_bound():
    calls = {"n": 0}

    class Broken(RecordingNotifier):
        def send(self, message):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            raise RuntimeError("bug in a notifier")

    clock, store, dog, _, _ = build(None, email=Broken())
    run_until(clock, dog, DUE + 9 * M)
    [d] = store.deliveries("lms-2025-07")
    assert (calls["n"], d.status, d.attempts) == (3, DeliveryStatus.FAILED, 3)
    assert d.error == ("unexpected RuntimeError in the email notifier (gave up after 3 attempts)")


def test_a_message_that_cannot_be_built_fails_for_good_at_once_with_its_reason(monkeypatch):
    # Given a message that will never render (a bug, or data no message can carry)
    import releasewatch.service

    def unbuildable(context):  # type: ignore[no-untyped-def]
        raise ValueError("the email subject would contain a control character (U+000B)")

    monkeypatch.setattr(releasewatch.service, "render", unbuildable)
    clock, store, dog, email, _ = build(None)
    run_until(clock, dog, DUE + 8 * M)
    # Then the email is never sent and never retried: FAILED after one attempt, saying why
    assert email.sent == []
    [d] = store.deliveries("lms-2025-07")
    assert (d.status, d.attempts) == (DeliveryStatus.FAILED, 1)
    assert "control character (U+000B)" in (d.error or "")


def test_a_title_with_a_line_break_still_alerts_on_one_line():
    # A title pushed or imported without validation must not silence the alert
    release = make_release(title="Labour market overview\nUK: July 2025")
    clock, store, dog, email, _ = build(None, release=release)
    run_until(clock, dog, DUE + 8 * M)
    [sent] = email.sent
    assert "Labour market overview UK: July 2025" in sent.subject
    [d] = store.deliveries("lms-2025-07")
    assert d.status == DeliveryStatus.SENT


def test_a_send_whose_worker_died_mid_send_is_not_attempted_beyond_the_bound():
    # Given a notifier that hangs the "process" on every send (the lease runs out each time)
    class Dies(BaseException):
        pass

    calls = {"n": 0}

    class Crashing(RecordingNotifier):
        def send(self, message):  # type: ignore[no-untyped-def]
            if message.contact_id != "stats_team":
                return super().send(message)
            calls["n"] += 1
            raise Dies()

    clock, store, dog, _, _ = build(None, email=Crashing())
    clock.set(DUE + 5 * M)
    for _ in range(12):
        with contextlib.suppress(Dies):
            asyncio.run(dog.tick())
        clock.advance(3 * M)  # past the 2-minute lease
    [d] = [d for d in store.deliveries("lms-2025-07") if d.notification.contact_id == "stats_team"]
    assert calls["n"] == 3
    assert d.status == DeliveryStatus.FAILED and "gave up after 3 attempts" in (d.error or "")


# -- tests that guard what they claim ------------------------------------------------------------


def test_an_earlier_occurrence_left_in_retry_is_finished_once_a_later_one_is_due():
    # GIVEN the web publisher's 09:40 SMS was claimed by a worker that hit a transient error
    # and then went away, leaving it RETRY (its backoff long over)
    from tests.factories import make_notification

    clock, store, dog, _email, sms = build(None)
    first = make_notification(
        kind=NotificationKind.ALERT, contact_id="web_publisher", channel="sms", step=1
    )
    store.claim(first, "gone", DUE + 10 * M, timedelta(minutes=2))
    store.mark_failed(
        first.key, "gone", DUE + 10 * M, "throttled", permanent=False, retry_at=DUE + 11 * M
    )
    # WHEN the next occurrence (09:50) is due and a tick runs
    clock.set(DUE + 20 * M)
    asyncio.run(dog.tick())
    # THEN the earlier one is finished (sent), not left pending for ever, and the new one too
    assert sorted(m.key for m in sms.sent) == [
        "lms-2025-07|alert|1|0|web_publisher|sms",
        "lms-2025-07|alert|1|1|web_publisher|sms",
    ]
    statuses = {d.key: d.status for d in store.deliveries("lms-2025-07")}
    assert statuses[first.key] == DeliveryStatus.SENT


def test_a_version_conflict_on_the_release_does_not_delay_a_due_alert():
    # GIVEN another writer (an acknowledgement, a push) updates the release between this
    # tick's read and its write, once
    class AnotherWriterFirst(InMemoryStore):
        interfered = False

        def update_release(self, record):  # type: ignore[no-untyped-def]
            if not self.interfered:
                self.interfered = True
                current = self.get_release(record.id)
                super().update_release(current)  # bumps the stored version under us
            return super().update_release(record)

    clock = FixedClock(DUE + 5 * M)
    store = AnotherWriterFirst()
    store.apply_releases([make_release()], clock.now())
    email = RecordingNotifier()
    prober = ScriptedProber(clock, lambda now: False)
    dog = Watchdog(store, prober, {"email": email, "sms": RecordingNotifier()}, clock)
    # WHEN the tick at 09:35 (the stats team's alert is due) meets the conflict
    report = asyncio.run(dog.tick())
    # THEN the alert still goes out in this tick, not the next
    assert store.interfered
    assert [m.contact_id for m in email.sent] == ["stats_team"]
    assert report.errors == []
    record = store.get_release("lms-2025-07")
    assert record is not None and record.state == ReleaseState.LATE
