"""Every sentence a person receives is literally true: found by reading the messages of whole
scenarios (added late, downtime, acknowledged, a contact on two steps)."""

from __future__ import annotations

from datetime import timedelta

from releasewatch.model import Chain, NotificationKind, Step
from releasewatch.notify.messages import render
from releasewatch.report.build import build_report
from tests.factories import CONTACTS, DEFAULT_CHAIN, DUE, make_check, make_release
from tests.unit.escalation_support import ID, Scenario, at
from tests.unit.test_messages import ctx

M = timedelta(minutes=1)
WP = "web_publisher"


def _email(s: Scenario, key_part: str) -> tuple[str, str]:
    sent = next(x.message for x in s.log if key_part in x.message.key)
    return sent.subject, sent.text


def test_last_step_without_repeat_never_promises_reminders():
    # GIVEN the chain's last step, which has no repeat (the head of profession's breach notice)
    text = render(ctx(NotificationKind.BREACH, step=3, next_step=None)).text
    # THEN it does not promise reminders that will never come
    assert "reminders continue" not in text
    assert "Next: no further alert is planned" in text
    # AND a step that repeats says how often, to whom
    text = render(ctx(NotificationKind.ALERT, step=1, next_step=None)).text
    assert "Next: a reminder to you every 10 min until the page is live" in text


def test_stats_team_after_downtime_is_not_promised_reminders():
    # GIVEN the watchdog stopped at 09:33 and restarted at 11:00 (stats team's step: no repeat)
    s = Scenario(live=lambda now: False)
    s.run_until(at(9, 33))
    s.clock.set(at(11, 0))
    s.run_until(at(11, 1))
    _, text = _email(s, "|alert|0|0|stats_team|email")
    assert "reminders continue" not in text
    assert "releasewatch keeps checking and will tell you when the page is live" in text


def test_a_contact_on_two_steps_was_first_alerted_by_the_first_of_them():
    chain = Chain(
        id="default",
        steps=(
            Step(after=5 * M, notify=("stats_team", WP), channels=("email",), repeat=10 * M),
            Step(after=30 * M, notify=(WP, "lead_official"), channels=("email",), repeat=15 * M),
        ),
    )
    s = Scenario(live=lambda now: False, release=make_release(chain=chain))
    s.run_until(at(10, 16))
    # WHEN the second step repeats at 10:15 to the web publisher, alerted since 09:35
    subject, text = _email(s, "|alert|1|1|web_publisher|email")
    # THEN it says when they were really first alerted, and counts every earlier alert
    assert "you were first alerted at 09:35 BST" in text
    earlier = [
        x for x in s.log if x.message.contact_id == WP and x.at < at(10, 15) and "alert" in x.row[3]
    ]
    assert subject.startswith(f"STILL NOT LIVE (reminder {len(earlier)}): ")


def test_an_ack_notice_sent_after_the_hold_ended_does_not_say_alerts_are_held():
    # GIVEN Alice acknowledged at 09:41 (hold until 10:11)
    s = Scenario(live=lambda now: now >= at(10, 50))
    s.run_until(at(9, 41))
    assert s.open(s.latest_link(WP), "POST").status == 200
    s.run_until(at(10, 35))
    # WHEN the head of profession, first told at 10:30, hears of the acknowledgement
    _, text = _email(s, "|ack_notice|0|0|head_of_profession|email")
    # THEN the hold is in the past tense: escalation has already resumed
    assert "are held until 10:11" not in text
    assert "were held until 10:11 BST; the page was still not live then" in text
    # AND the stats team, told during the hold, reads the present tense
    _, text = _email(s, "|ack_notice|0|0|stats_team|email")
    assert "Later alert steps are held until 10:11 BST" in text


def test_a_release_added_after_its_due_time_and_already_live_is_not_called_late():
    # GIVEN a release added to the config at 12:30, three hours after due, already live
    s = Scenario(live=lambda now: True, start=at(12, 30))
    s.run_until(at(12, 31))
    # THEN the breach report draft says nobody can tell whether it was late
    account = " ".join(build_report(s.store, ID).account)
    assert "confirmed live at Thu 17 Jul 2025 12:30:00 BST, 3 h late" not in account
    assert "cannot tell whether it was released late" in account
    # AND so does the email that carries it
    _, text = _email(s, "|report|")
    assert "was not released at its announced time" not in text
    assert "it may have been released on time" in text


def test_a_page_seen_missing_after_the_grace_is_still_called_late():
    # GIVEN checks after the grace period found it not live, then a gap, then live
    s = Scenario(live=lambda now: now >= at(11, 0))
    s.run_until(at(9, 40))
    s.clock.set(at(11, 0))
    s.run_until(at(11, 1))
    account = " ".join(build_report(s.store, ID).account)
    assert "confirmed live at Thu 17 Jul 2025 11:00:00 BST, 1 h 30 min late" in account
    subject, text = _email(s, "|resolved|-|0|stats_team|email")
    assert subject.endswith("is live, 1 h 30 min late")
    _, text = _email(s, "|report|")
    assert "was not released at its announced time" in text


def test_resolution_after_an_unwatched_due_time_says_first_checked_not_late():
    c = ctx(NotificationKind.RESOLVED, live_at=DUE + 180 * M, late_unproven=True)
    m = render(c)
    assert m.subject.endswith("is live, first checked 3 h after due")
    assert "cannot tell whether it went live on time" in m.text
    sms = render(ctx(NotificationKind.RESOLVED, "sms", live_at=DUE + 180 * M, late_unproven=True))
    assert "late" not in sms.text


def test_next_step_names_when_it_really_fires_while_an_acknowledgement_holds_it():
    # GIVEN the stats team is reminded every 5 min, and the web publisher acknowledged at 09:41
    steps = list(DEFAULT_CHAIN.steps)
    steps[0] = Step(after=5 * M, notify=("stats_team",), channels=("email",), repeat=5 * M)
    chain = Chain(id="default", steps=tuple(steps))
    s = Scenario(live=lambda now: False, release=make_release(chain=chain))
    s.run_until(at(9, 41))
    assert s.open(s.latest_link(WP), "POST").status == 200
    s.run_until(at(9, 46))
    # WHEN the stats team's 09:45 reminder names the next step (the lead official, due 10:00)
    _, text = _email(s, "|alert|0|2|stats_team|email")
    # THEN it gives the time the hold lets it fire, not the step's own time
    assert "Next: Bob Lead at 10:11 BST if still not live." in text


def test_the_report_does_not_say_it_polled_around_the_due_time_when_it_stopped_before_it():
    # GIVEN the watchdog polled until 09:20, was down across the 09:30 due time until 11:00
    s = Scenario(live=lambda now: now >= at(11, 30))
    s.run_until(at(9, 21))
    s.clock.set(at(11, 0))
    s.run_until(at(11, 31))
    account = " ".join(build_report(s.store, ID).account)
    # THEN the polling sentence says where the polling was: before the due time, then a gap
    assert "around the due time" not in account
    assert "every 1 min before the due time" in account
    assert "no check between Thu 17 Jul 2025 09:20:00 BST and Thu 17 Jul 2025 11:00:00 BST" in (
        account
    )


def test_a_live_time_from_govuk_is_not_called_the_time_releasewatch_confirmed_or_found_it():
    # GIVEN GOV.UK says first published 10:10; releasewatch's check saw it live at 10:35
    check = make_check(at=DUE + 65 * M, live=True, published_at=DUE + 40 * M)
    text = render(ctx(NotificationKind.RESOLVED, live_at=DUE + 40 * M, last_check=check)).text
    # THEN the resolution attributes 10:10 to GOV.UK, never "confirmed at 10:10"
    assert "confirmed at Thu 17 Jul 2025 10:10:00 BST" not in text
    assert "is live: GOV.UK gives its first publication as Thu 17 Jul 2025 10:10:00 BST" in text
    # AND an early release found at 09:35, first published 09:20, is not "found live at 09:20"
    check = make_check(at=DUE + 5 * M, live=True, published_at=DUE - 10 * M)
    text = render(ctx(NotificationKind.EARLY, live_at=DUE - 10 * M, last_check=check)).text
    assert "found live at Thu 17 Jul 2025 09:20" not in text
    assert "but GOV.UK gives its first publication as Thu 17 Jul 2025 09:20 BST" in text


def test_the_report_attributes_a_govuk_live_time_to_govuk_not_to_releasewatch():
    # GIVEN releasewatch first saw the publication at 12:00; GOV.UK dates it 11:40 (live_at)
    s = Scenario(live=lambda now: now >= at(12, 0))
    s.run_until(at(12, 1))
    record = s.store.get_release(ID)
    assert record is not None
    s.store.update_release(record.model_copy(update={"live_at": at(11, 40)}))
    s.store.record_checks([make_check(at=at(12, 0), live=True, published_at=at(11, 40))])
    account = " ".join(build_report(s.store, ID).account)
    # THEN 11:40 is GOV.UK's, and 12:00 is when releasewatch saw it
    assert "confirmed live at Thu 17 Jul 2025 11:40:00 BST" not in account
    assert (
        "GOV.UK gives its first publication as Thu 17 Jul 2025 11:40:00 BST, 2 h 10 min late; "
        "releasewatch first saw it live at Thu 17 Jul 2025 12:00:00 BST." in account
    )


def _without(*contact_ids: str) -> dict[str, object]:
    """A release whose config has no such contacts, and a chain that does not name them."""
    contacts = {k: v for k, v in CONTACTS.items() if k not in contact_ids}
    steps = tuple(
        s.model_copy(update={"notify": tuple(c for c in s.notify if c in contacts)})
        for s in DEFAULT_CHAIN.steps
        if any(c in contacts for c in s.notify)
    )
    return {"contacts": contacts, "chain": Chain(id="default", steps=steps)}


def test_the_resolution_names_only_who_really_receives_the_breach_report():
    # GIVEN a config with a head of profession but no lead official, released 30 min late
    release = make_release(**_without("lead_official"))
    text = render(
        ctx(NotificationKind.RESOLVED, step=None, live_at=DUE + 30 * M, release=release)
    ).text
    # THEN the email names the one person the report goes to, and nobody else
    assert "Charlie Head (head of profession) receives a draft breach report." in text
    assert "lead official" not in text
    # AND with neither, it says that no report is sent rather than promise one
    release = make_release(**_without("lead_official", "head_of_profession"))
    text = render(
        ctx(NotificationKind.RESOLVED, step=None, live_at=DUE + 30 * M, release=release)
    ).text
    assert "receive a draft breach report" not in text
    assert "head of profession" not in text.replace("names no head of profession", "")
    assert "No draft breach report is sent" in text
    # AND an early release says the same, whoever the report goes to
    text = render(ctx(NotificationKind.EARLY, live_at=DUE - M, now=DUE - M, release=release)).text
    assert "No draft breach report is sent" in text and "report follows" not in text


def test_an_alert_inside_the_grace_period_does_not_call_the_release_late():
    # GIVEN a 5 min grace and a first step 1 min after due
    chain = Chain(id="quick", steps=(Step(after=M, notify=("stats_team",)),))
    release = make_release(chain=chain, grace=5 * M)
    s = Scenario(live=lambda now: False, release=release)
    s.run_until(at(9, 31, 30))
    subject, text = _email(s, "|alert|0|0|stats_team|email")
    # THEN it says what is true: not live 1 min after its due time, not late yet
    assert subject.endswith("(due 09:30 BST, not live 1 min after its due time)")
    assert "late" not in subject
    assert "1 min late" not in text and "is not live 1 min after its due time" in text
    # AND once the grace has passed, the reminder calls it late
    chain = Chain(id="quick", steps=(Step(after=M, notify=("stats_team",), repeat=5 * M),))
    s = Scenario(live=lambda now: False, release=make_release(chain=chain, grace=5 * M))
    s.run_until(at(9, 36, 30))
    subject, text = _email(s, "|alert|0|1|stats_team|email")
    assert subject.endswith("(due 09:30 BST, 6 min late)")
    assert "is not live: 6 min late at 09:36 BST" in text
