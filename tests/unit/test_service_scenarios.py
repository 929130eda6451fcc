"""The watchdog end to end in memory: a fake clock, a scripted page, recording notifiers."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from releasewatch.errors import SendError
from releasewatch.model import Chain, DeliveryStatus, EventKind, Release, ReleaseState
from releasewatch.service import Watchdog
from tests.factories import DEFAULT_CHAIN, DUE, make_release
from tests.fakes import FixedClock, InMemoryStore, RecordingNotifier, ScriptedProber

M = timedelta(minutes=1)


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
