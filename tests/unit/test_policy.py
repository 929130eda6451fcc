"""The pure policy: state machine, escalation schedule, acks, cadence. Given/When/Then."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from releasewatch.model import (
    Delivery,
    DeliveryStatus,
    NotificationKind,
    ReleaseRecord,
    ReleaseState,
)
from releasewatch.policy import Ack, decide, derive_state, escalation, next_check_at
from releasewatch.timefmt import parse_due
from tests.factories import DUE, make_check, make_release

M = timedelta(minutes=1)


def record(**overrides: object) -> ReleaseRecord:
    return ReleaseRecord(release=make_release(**overrides), version=1)  # type: ignore[arg-type]


def sent(n_kind, contact, channel, step=None, occurrence=0) -> Delivery:  # type: ignore[no-untyped-def]
    from tests.factories import make_notification

    n = make_notification(
        kind=n_kind, contact_id=contact, channel=channel, step=step, occurrence=occurrence
    )
    return Delivery(notification=n, status=DeliveryStatus.SENT, attempts=1)


@pytest.mark.parametrize(
    ("offset", "live_offset", "expected"),
    [
        (-60 * M, None, ReleaseState.SCHEDULED),
        (-15 * M, None, ReleaseState.WATCHING),
        (0 * M, None, ReleaseState.WATCHING),
        (2 * M, None, ReleaseState.WATCHING),
        (2 * M + timedelta(seconds=1), None, ReleaseState.LATE),
        (5 * M, 0 * M, ReleaseState.LIVE),
        (5 * M, 2 * M, ReleaseState.LIVE),
        (200 * M, 150 * M, ReleaseState.LIVE_LATE),
        (0 * M, -timedelta(seconds=1), ReleaseState.EARLY),
    ],
)
def test_state_follows_the_due_time_and_the_first_live_check(offset, live_offset, expected):  # type: ignore[no-untyped-def]
    release = make_release()
    live_at = None if live_offset is None else DUE + live_offset
    assert derive_state(release, live_at, DUE + offset) == expected


def test_a_cancelled_release_is_cancelled_whatever_the_page_says():
    release = make_release(cancelled=True)
    assert derive_state(release, DUE, DUE + 3 * M) == ReleaseState.CANCELLED


def test_a_failed_probe_is_never_taken_for_live():
    # Given a release being watched, when a probe errors (timeout) at the due time
    rec = record()
    check = make_check(at=DUE, live=False, status=None, error="timeout", reason="timed out")
    decision = decide(rec, check, DUE + timedelta(seconds=5))
    # Then it is still not live and the failure is remembered as the first one
    assert decision.record.state == ReleaseState.WATCHING
    assert decision.record.live_at is None
    assert decision.record.first_failure_at == DUE


def test_the_first_live_check_sets_live_at_and_later_failures_do_not_undo_it():
    rec = record()
    live = decide(rec, make_check(at=DUE + M, live=True), DUE + M).record
    assert live.state == ReleaseState.LIVE and live.live_at == DUE + M
    later = decide(live, make_check(at=DUE + 2 * M, live=False), DUE + 2 * M)
    assert later.record.state == ReleaseState.LIVE
    assert later.page_lost


def test_live_before_the_due_time_is_early_and_warns_the_breach_recipients_at_once():
    rec = record()
    decision = decide(rec, make_check(at=DUE - 10 * M, live=True), DUE - 10 * M)
    assert decision.record.state == ReleaseState.EARLY
    early = [n for n in decision.due if n.kind == NotificationKind.EARLY]
    assert {(n.contact_id, n.channel) for n in early} == {("head_of_profession", "email")}


def test_escalation_follows_the_chain_step_by_step():
    release = make_release()

    def who(at):  # type: ignore[no-untyped-def]
        return sorted((n.contact_id, n.channel, n.occurrence) for n in escalation(release, at))

    assert who(DUE + 4 * M) == []
    assert who(DUE + 5 * M) == [("stats_team", "email", 0)]
    assert who(DUE + 10 * M) == [
        ("stats_team", "email", 0),
        ("web_publisher", "email", 0),
        ("web_publisher", "sms", 0),
    ]
    # The web publisher step repeats every 10 minutes; only the latest occurrence is due.
    assert ("web_publisher", "sms", 2) in who(DUE + 30 * M)
    assert ("web_publisher", "sms", 1) not in who(DUE + 30 * M)
    assert ("head_of_profession", "email", 0) in who(DUE + 60 * M)


def test_escalation_never_stops_before_live_and_repeats_the_last_step():
    release = make_release()
    hours_later = DUE + timedelta(hours=7, minutes=1)
    due = list(escalation(release, hours_later))
    sms = [n for n in due if n.channel == "sms"]
    assert sms and sms[0].occurrence == 41  # (7h01m - 10m) // 10m
    assert next_check_at(release, ReleaseState.LATE, None, hours_later) is not None


def test_an_ack_holds_later_alert_steps_and_repeats_to_the_acknowledger_but_never_breaches():
    release = make_release()
    ack = Ack(contact_id="web_publisher", step=1, at=DUE + 12 * M)
    at_31 = {(n.contact_id, n.occurrence) for n in escalation(release, DUE + 31 * M, [ack])}
    # the lead official's step (+30m, an alert) is held, and repeats to the web publisher stop
    assert ("lead_official", 0) not in at_31
    assert ("web_publisher", 2) not in at_31
    # the breach step is never held
    at_61 = {(n.contact_id, n.occurrence) for n in escalation(release, DUE + 61 * M, [ack])}
    assert ("head_of_profession", 0) in at_61
    # once the ack timeout (30 min) runs out, escalation resumes
    at_43 = {(n.contact_id, n.occurrence) for n in escalation(release, DUE + 43 * M, [ack])}
    assert ("lead_official", 0) in at_43
    assert ("web_publisher", 3) in at_43


def test_going_live_cancels_pending_alerts_and_tells_everybody_alerted():
    rec = record()
    deliveries = [
        sent(NotificationKind.ALERT, "stats_team", "email", step=0),
        sent(NotificationKind.ALERT, "web_publisher", "sms", step=1),
        Delivery(
            notification=sent(NotificationKind.ALERT, "web_publisher", "email", 1).notification,
            status=DeliveryStatus.RETRY,
        ),
    ]
    decision = decide(rec, make_check(at=DUE + 20 * M, live=True), DUE + 20 * M, deliveries)
    resolved = {(n.contact_id, n.channel) for n in decision.due if n.kind == "resolved"}
    assert resolved == {("stats_team", "email"), ("web_publisher", "sms")}
    assert decision.cancel == (deliveries[2].key,)
    assert not [n for n in decision.due if n.kind == NotificationKind.ALERT]


def test_a_late_release_that_goes_live_sends_the_breach_report_to_hop_and_lead_official():
    rec = record()
    decision = decide(rec, make_check(at=DUE + 150 * M, live=True), DUE + 150 * M)
    assert decision.record.state == ReleaseState.LIVE_LATE
    reports = {n.contact_id for n in decision.due if n.kind == NotificationKind.REPORT}
    assert reports == {"head_of_profession", "lead_official"}


def test_a_permanently_failed_sms_falls_back_to_email_once():
    rec = record()
    failed = sent(NotificationKind.ALERT, "web_publisher", "sms", step=1)
    failed = failed.model_copy(update={"status": DeliveryStatus.FAILED})
    decision = decide(rec, None, DUE + 11 * M, [failed])
    fallback = [n for n in decision.due if n.fallback_for == failed.key]
    assert [(n.channel, n.contact_id) for n in fallback] == [("email", "web_publisher")]


@pytest.mark.parametrize(
    ("offset", "interval"),
    [
        (-20 * M, 5 * M),  # before the pre-window: scheduled cadence (clamped to the boundary)
        (-10 * M, 1 * M),  # pre-window
        (-1 * M, timedelta(seconds=10)),  # hot window
        (10 * M, timedelta(seconds=10)),
        (30 * M, 1 * M),  # after the hot window
        (5 * 60 * M, 5 * M),  # hours later: slower, never stopping
    ],
)
def test_polling_cadence_follows_the_phase(offset, interval):  # type: ignore[no-untyped-def]
    release = make_release()
    now = DUE + offset
    state = derive_state(release, None, now)
    assert next_check_at(release, state, None, now) - now == interval  # type: ignore[operator]


def test_the_hot_window_starts_on_time_even_from_a_sparse_phase():
    release = make_release()
    now = DUE - 2 * M - timedelta(seconds=30)
    assert next_check_at(release, ReleaseState.WATCHING, None, now) == DUE - 2 * M


@pytest.mark.parametrize(
    ("authored", "utc"),
    [
        ("2025-01-16 09:30", datetime(2025, 1, 16, 9, 30, tzinfo=UTC)),  # GMT
        ("2025-07-17 09:30", datetime(2025, 7, 17, 8, 30, tzinfo=UTC)),  # BST
        ("2025-03-30 09:30", datetime(2025, 3, 30, 8, 30, tzinfo=UTC)),  # spring-forward day
        ("2025-10-26 09:30", datetime(2025, 10, 26, 9, 30, tzinfo=UTC)),  # fall-back day
    ],
)
def test_due_times_on_gmt_bst_and_clock_change_days(authored, utc):  # type: ignore[no-untyped-def]
    due = parse_due(authored)
    assert due == utc
    release = make_release(due=due)
    assert derive_state(release, None, utc + 3 * M) == ReleaseState.LATE
    assert derive_state(release, None, utc - timedelta(minutes=14)) == ReleaseState.WATCHING
    assert [n.due_at for n in escalation(release, utc + 5 * M)] == [utc + 5 * M]


def test_a_release_watched_across_the_autumn_clock_change_escalates_in_real_minutes():
    # Due 00:30 BST on the night the clocks go back: 01:30 happens twice, 5 minutes still 5.
    due = parse_due("2025-10-26T00:30+01:00")
    release = make_release(due=due)
    fired = [n.due_at - due for n in escalation(release, due + 61 * M)]
    assert min(fired) == 5 * M


def test_a_reminder_due_just_before_an_ack_but_not_yet_sent_is_held():
    # The web publisher's 09:50 reminder is due; they acknowledge at 09:50:05, before it went out.
    rec = record()
    ack = Ack(contact_id="web_publisher", step=1, at=DUE + 20 * M + timedelta(seconds=5))
    decision = decide(rec, None, DUE + 20 * M + timedelta(seconds=10), (), [ack])
    to_publisher = [n for n in decision.due if n.contact_id == "web_publisher"]
    assert to_publisher == []


def test_an_ack_marker_left_claimed_by_a_crash_is_never_sent_as_a_message():
    from tests.factories import make_notification

    marker = make_notification(kind=NotificationKind.ACK_NOTICE, step=None, key="lms|ack|abc")
    crashed = Delivery(
        notification=marker,
        status=DeliveryStatus.CLAIMED,
        owner="dead",
        lease_until=DUE,  # long expired
    )
    decision = decide(record(), None, DUE + 3 * M, [crashed])
    assert marker.key not in {n.key for n in decision.due}


def test_a_lost_page_is_polled_until_it_is_back_even_past_the_watch_window():
    live = decide(record(), make_check(at=DUE + M, live=True), DUE + M).record
    lost = decide(live, make_check(at=DUE + 20 * M, live=False), DUE + 20 * M).record
    assert lost.lost_since == DUE + 20 * M
    # an hour later, long past watch_after_live (30m), it is still being polled
    later = decide(lost, make_check(at=DUE + 80 * M, live=False), DUE + 80 * M).record
    assert later.active and later.next_check_at == DUE + 81 * M
    back = decide(later, make_check(at=DUE + 81 * M, live=True), DUE + 81 * M).record
    assert back.lost_since is None and back.lost_episode == DUE + 20 * M


def test_each_loss_of_a_live_page_is_announced_once():
    rec = decide(record(), make_check(at=DUE + M, live=True), DUE + M).record
    keys = set()
    for lost_at, back_at in ((DUE + 5 * M, DUE + 6 * M), (DUE + 10 * M, DUE + 11 * M)):
        lost = decide(rec, make_check(at=lost_at, live=False), lost_at)
        keys |= {n.key for n in lost.due if n.kind == NotificationKind.PAGE_LOST}
        rec = decide(lost.record, make_check(at=back_at, live=True), back_at).record
    # two losses: the stats team (first step, email) hears of each, under distinct keys
    assert len([k for k in keys if "|stats_team|email" in k]) == 2


# -- when a live check says the page went live ------------------------------------------------

S = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("published", "seen", "expected_live_at", "expected"),
    [
        (None, DUE, DUE, ReleaseState.LIVE),  # answered at due: on time, never early
        (DUE, DUE + 5 * S, DUE, ReleaseState.LIVE),  # published at due: never early
        (DUE + 1 * S, DUE + 5 * S, DUE + S, ReleaseState.LIVE),
        (DUE - 60 * S, DUE + 30 * S, DUE - 60 * S, ReleaseState.EARLY),  # early, seen later
        (DUE + 10 * M, DUE + 11 * M, DUE + 10 * M, ReleaseState.LIVE_LATE),  # how late: GOV.UK's
        (DUE - 60 * S, DUE - 30 * S, DUE - 60 * S, ReleaseState.EARLY),
        # A first_published_at after the answer arrived (a clock ahead) is not evidence.
        (DUE + 60 * S, DUE + 5 * S, DUE + 5 * S, ReleaseState.LIVE),
        # Our clock behind GOV.UK's: answered at 09:29:58 by our clock, first published 09:30:00
        # (or later) by GOV.UK's. GOV.UK's own time at or after due is never early.
        (DUE, DUE - 2 * S, DUE, ReleaseState.LIVE),
        (DUE + 3 * S, DUE - 2 * S, DUE, ReleaseState.LIVE),
        # Both clocks before due: early (GOV.UK's timestamp is after our answer, ours decides).
        (DUE - 5 * S, DUE - 10 * S, DUE - 10 * S, ReleaseState.EARLY),
        # 09:29:59.9 by GOV.UK's own clock: whitehall refuses to publish a scheduled edition
        # before its time, so this was published early (by hand or scheduled too early).
        (DUE - S / 10, DUE + 5 * S, DUE - S / 10, ReleaseState.EARLY),
    ],
)
def test_live_at_is_the_publication_time_when_gov_uk_gives_one_no_later_than_the_answer(  # type: ignore[no-untyped-def]
    published, seen, expected_live_at, expected
):
    check = make_check(at=seen, live=True, published_at=published)
    decision = decide(record(), check, seen)
    assert decision.record.live_at == expected_live_at
    assert decision.record.state == expected
    early = [n for n in decision.due if n.kind == NotificationKind.EARLY]
    assert bool(early) == (expected == ReleaseState.EARLY)


@pytest.mark.parametrize(
    ("server_date", "seen", "expected_live_at", "expected"),
    [
        # Our clock 2 s behind the server's: answered at 09:29:58 by ours, made at 09:30:00 by
        # the server's Date header. On time: a second of skew must not be a breach notice.
        (DUE, DUE - 2 * S, DUE, ReleaseState.LIVE),
        (DUE + 40 * S, DUE - 10 * S, DUE, ReleaseState.LIVE),
        # Both clocks before due: early.
        (DUE - S, DUE - 2 * S, DUE - 2 * S, ReleaseState.EARLY),
        (DUE - 30 * S, DUE - 2 * S, DUE - 2 * S, ReleaseState.EARLY),  # a cached early copy
        # A server clock minutes off is broken, not ours behind: our time decides.
        (DUE + 10 * M, DUE - 2 * S, DUE - 2 * S, ReleaseState.EARLY),
        # No Date header: our time decides, as before.
        (None, DUE - 2 * S, DUE - 2 * S, ReleaseState.EARLY),
        # After due by our clock: the server's Date never moves the time.
        (DUE - 5 * S, DUE + 3 * S, DUE + 3 * S, ReleaseState.LIVE),
    ],
)
def test_the_servers_date_header_keeps_a_clock_behind_from_calling_an_on_time_page_early(  # type: ignore[no-untyped-def]
    server_date, seen, expected_live_at, expected
):
    check = make_check(at=seen, live=True).model_copy(update={"origin_date": server_date})
    decision = decide(record(), check, seen)
    assert decision.record.live_at == expected_live_at
    assert decision.record.state == expected
    early = [n for n in decision.due if n.kind == NotificationKind.EARLY]
    assert bool(early) == (expected == ReleaseState.EARLY)
