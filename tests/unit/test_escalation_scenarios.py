"""Escalation end to end with a controlled clock: exactly who got what, and when (UK time).

Chain (tests/factories.py): +5m stats team email; +10m web publisher SMS+email, every 10m;
+30m lead official email; +60m head of profession breach email. Acknowledgements go through
the web app with the link from the message, GET first (which must change nothing), then POST.
"""

from __future__ import annotations

from datetime import timedelta

from releasewatch.errors import SendError
from releasewatch.model import Chain, DeliveryStatus, EventKind, ReleaseState, Step
from releasewatch.report.build import build_report
from releasewatch.timefmt import uk
from tests.factories import DEFAULT_CHAIN, make_release
from tests.unit.escalation_support import ID, Scenario, at

WP = "web_publisher"
MIN = timedelta(minutes=1)
RESOLVED_TO_ALL = [
    ("stats_team", "email", "resolved"),
    (WP, "sms", "resolved"),
    (WP, "email", "resolved"),
    ("lead_official", "email", "resolved"),
    ("head_of_profession", "email", "resolved"),
]


def pages_to_wp(hhmm: list[str]) -> list[tuple[str, str, str, str]]:
    rows = []
    for n, t in enumerate(hhmm):
        kind = "alert" if n == 0 else f"alert:{n}"
        rows += [(f"{t}:00", WP, "sms", kind), (f"{t}:00", WP, "email", kind)]
    return rows


def timeline(s: Scenario) -> list[tuple[str, str]]:
    return [(f"{uk(e.at):%H:%M:%S}", e.what) for e in build_report(s.store, ID).timeline]


def test_on_time_sends_no_message_at_all():
    s = Scenario(live=lambda now: now >= at(9, 30, 20))
    s.run_until(at(10, 40))
    assert s.rows() == []
    record = s.store.get_release(ID)
    assert record is not None and record.state == ReleaseState.LIVE
    assert build_report(s.store, ID).breach == "none"


def test_eight_minutes_late_alerts_the_stats_team_then_resolves_and_reports():
    s = Scenario(live=lambda now: now >= at(9, 38))
    s.run_until(at(11, 0))
    assert s.rows() == [
        ("09:35:00", "stats_team", "email", "alert"),
        ("09:38:00", "stats_team", "email", "resolved"),
        ("09:38:00", "lead_official", "email", "report"),
        ("09:38:00", "head_of_profession", "email", "report"),
    ]
    report = build_report(s.store, ID)
    assert report.breach == "late"
    assert report.delay is not None and report.delay.total_seconds() == 8 * 60
    lines = [what for _, what in timeline(s)]
    assert lines.index("Announced release time") < lines.index(
        "Alert sent by email to Labour market statistics team (stats team)"
    )
    assert any(w.startswith("First check after the due time: not live (HTTP 404") for w in lines)
    assert any(w.startswith("Confirmed live by releasewatch") for w in lines)


def test_the_incident_with_an_acknowledgement_at_1140():
    """09:30 due, live at 12:00; the web publisher acknowledges from the 11:40 SMS."""
    s = Scenario(live=lambda now: now >= at(12, 0))
    s.run_until(at(11, 40, 5))
    link = s.latest_link(WP, "sms")

    # GIVEN a mail scanner or a person opening the link: a confirmation page, nothing stored
    before = s.snapshot()
    page = s.open(link, "GET")
    assert page.status == 200 and "<form method=post" in page.body
    assert s.snapshot() == before
    # WHEN they press the button
    assert s.open(link, "POST").status == 200
    assert s.open(link, "POST").status == 409  # and a second press is a replay
    s.run_until(at(12, 20))

    wp_pages = pages_to_wp(
        [f"{9 + (40 + 10 * n) // 60:02d}:{(40 + 10 * n) % 60:02d}" for n in range(13)]
    )
    expected = [
        ("09:35:00", "stats_team", "email", "alert"),
        *wp_pages[:4],
        ("10:00:00", "lead_official", "email", "alert"),
        *wp_pages[4:12],
        ("10:30:00", "head_of_profession", "email", "breach"),
        *wp_pages[12:],
        # THEN the others already alerted are told, by email; the acknowledger is not
        ("11:40:10", "stats_team", "email", "ack_notice"),
        ("11:40:10", "lead_official", "email", "ack_notice"),
        ("11:40:10", "head_of_profession", "email", "ack_notice"),
        # and no reminder goes to the web publisher at 11:50 (held until 12:10)
        *[("12:00:00", *r) for r in RESOLVED_TO_ALL],
        ("12:00:00", "lead_official", "email", "report"),
        ("12:00:00", "head_of_profession", "email", "report"),
    ]
    assert sorted(s.rows()) == sorted(expected)
    assert len(s.rows()) == len(expected)

    ack = [e for e in s.store.events(ID) if e.kind == EventKind.ACKNOWLEDGED]
    assert [(e.contact_id, e.detail["step"], e.at) for e in ack] == [(WP, "1", at(11, 40, 10))]
    notice = next(x.message for x in s.log if x.message.key.split("|")[1] == "ack_notice")
    assert "Alice Publisher acknowledged" in notice.text
    # Her own reminders stop; no later alert step fires before 12:10 (the lead official's came
    # at 10:00, the 10:30 step is a breach notice), so nothing else is said to be held.
    assert "held until" not in notice.text
    assert "No later alert step falls between 11:40 BST and 12:10 BST" in notice.text

    # AND the report's timeline tells the same story, in order
    lines = timeline(s)
    story = [
        ("09:30:00", "Announced release time"),
        ("09:35:00", "Alert sent by email to Labour market statistics team (stats team)"),
        ("09:40:00", "Alert sent by SMS to Alice Publisher (web publisher)"),
        ("10:00:00", "Alert sent by email to Bob Lead (lead official)"),
        ("10:30:00", "Breach notice sent by email to Charlie Head (head of profession)"),
        ("11:40:00", "Alert sent by SMS to Alice Publisher (web publisher) (reminder 12)"),
        ("11:40:10", "Acknowledged by Alice Publisher (web publisher) (chain step 2)"),
        ("11:40:10", "Acknowledgement notice sent by email to Bob Lead (lead official)"),
        ("12:00:00", "State: live, late"),
        ("12:00:00", "Breach report draft sent by email to Charlie Head (head of profession)"),
    ]
    positions = [lines.index(entry) for entry in story]
    assert positions == sorted(positions)
    assert not any("reminder 13" in w for _, w in lines)


def test_released_early_is_an_immediate_breach_alert_and_a_report():
    s = Scenario(live=lambda now: now >= at(9, 20))
    s.run_until(at(10, 40))
    assert s.rows() == [
        ("09:20:00", "head_of_profession", "email", "early"),
        ("09:20:00", "lead_official", "email", "report"),
        ("09:20:00", "head_of_profession", "email", "report"),
    ]
    report = build_report(s.store, ID)
    assert report.breach == "early"
    assert "10 min before the announced time: an early release" in " ".join(report.account)


def test_a_flapping_page_resolves_once_then_says_it_was_lost_and_is_back():
    """Live at 09:45, gone 09:46-09:54, back from 09:55: one resolution, no new alerts, and the
    people told it was resolved hear it was lost (once) and back (once)."""

    def live(now):  # type: ignore[no-untyped-def]
        return at(9, 45) <= now < at(9, 46) or now >= at(9, 55)

    s = Scenario(live=live)
    s.run_until(at(10, 40))
    assert s.rows() == [
        ("09:35:00", "stats_team", "email", "alert"),
        ("09:40:00", WP, "sms", "alert"),
        ("09:40:00", WP, "email", "alert"),
        ("09:45:00", "stats_team", "email", "resolved"),
        ("09:45:00", WP, "sms", "resolved"),
        ("09:45:00", WP, "email", "resolved"),
        ("09:45:00", "lead_official", "email", "report"),
        ("09:45:00", "head_of_profession", "email", "report"),
        ("09:46:00", "stats_team", "email", "page_lost"),
        ("09:46:00", WP, "sms", "page_lost"),
        ("09:46:00", WP, "email", "page_lost"),
        ("09:46:00", "lead_official", "email", "page_lost"),
        ("09:46:00", "head_of_profession", "email", "page_lost"),
        ("09:55:00", "head_of_profession", "email", "page_back"),
        ("09:55:00", "lead_official", "email", "page_back"),
        ("09:55:00", "stats_team", "email", "page_back"),
        ("09:55:00", WP, "email", "page_back"),
        ("09:55:00", WP, "sms", "page_back"),
    ]
    lost_sms = next(
        x.message for x in s.log if "|page_lost|" in x.message.key and x.message.channel == "sms"
    )
    assert lost_sms.text.startswith("RW PAGE LOST 09:46") and len(lost_sms.text) <= 160
    lost = [e for e in s.store.events(ID) if e.kind == EventKind.PAGE_LOST]
    assert lost and lost[0].at == at(9, 46)
    assert any("Page stopped passing its live rule" in w for _, w in timeline(s))


def test_an_sms_channel_that_fails_falls_back_to_email_and_the_report_says_so():
    # The web publisher is paged by SMS alone here, so the email fallback is their only copy.
    steps = list(DEFAULT_CHAIN.steps)
    steps[1] = steps[1].model_copy(update={"channels": ("sms",)})
    s = Scenario(
        live=lambda now: now >= at(9, 55),
        sms_fail=lambda m: SendError("number opted out", permanent=True),
        release=make_release(chain=Chain(id="sms-paging", steps=tuple(steps))),
    )
    s.run_until(at(10, 10))
    assert s.rows() == [
        ("09:35:00", "stats_team", "email", "alert"),
        ("09:40:10", WP, "email", "alert (fallback)"),
        ("09:50:10", WP, "email", "alert:1 (fallback)"),
        ("09:55:00", "stats_team", "email", "resolved"),
        ("09:55:00", WP, "email", "resolved"),
        ("09:55:00", "lead_official", "email", "report"),
        ("09:55:00", "head_of_profession", "email", "report"),
    ]
    fallback = next(x.message for x in s.log if ">email" in x.message.key)
    assert "/a/" in fallback.text  # the stand-in email still carries an acknowledge link
    lines = [w for _, w in timeline(s)]
    failed = [w for w in lines if "FAILED" in w]
    assert failed[0] == (
        "Alert by SMS to Alice Publisher (web publisher) FAILED (permanently): number opted out"
    )
    assert all("+4477" not in w for w in lines)


# -- messages say only what is true, after a late start or downtime -------------------------------


def _text(s: Scenario, key_part: str) -> tuple[str, str]:
    m = next(x.message for x in s.log if key_part in x.message.key)
    return m.subject, m.text


def test_a_release_added_after_its_due_time_starts_its_chain_honestly():
    # GIVEN a release first put in the watchdog at 11:02, 1 h 32 min after it was due
    s = Scenario(live=lambda now: False, start=at(11, 2))
    s.run_until(at(11, 15))
    # THEN the chain catches up with the current step: one message per contact and channel
    assert s.rows() == [
        ("11:02:00", "stats_team", "email", "alert"),
        ("11:02:00", WP, "sms", "alert:8"),
        ("11:02:00", WP, "email", "alert:8"),
        ("11:02:00", "lead_official", "email", "alert"),
        ("11:02:00", "head_of_profession", "email", "breach"),
        ("11:10:00", WP, "sms", "alert:9"),
        ("11:10:00", WP, "email", "alert:9"),
    ]
    # AND the first page is a first alert, saying when the page was first checked
    subject, text = _text(s, "|alert|1|8|web_publisher|email")
    assert subject.startswith("NOT LIVE: ") and "reminder" not in subject
    assert "It was first checked at 11:02, 1 h 32 min after it was due" in text
    assert "This is reminder" not in text and "first alerted" not in text
    sms = next(x.message.text for x in s.log if "|alert|1|8|web_publisher|sms" in x.message.key)
    assert sms.startswith("RW NOT LIVE 11:02")
    # AND the next one counts only the messages really sent
    subject, text = _text(s, "|alert|1|9|web_publisher|email")
    assert subject.startswith("STILL NOT LIVE (reminder 1): ")
    assert "This is reminder 1; you were first alerted at 11:02 BST." in text
    # AND the report says the same, and polling as it happened
    lines = [w for _, w in timeline(s)]
    assert "Alert sent by SMS to Alice Publisher (web publisher) (reminder 1)" in lines
    assert not any("reminder 8" in w or "reminder 9" in w for w in lines)
    account = " ".join(build_report(s.store, ID).account)
    assert (
        "it was not checked before Thu 17 Jul 2025 11:02:00 BST, 1 h 32 min after the due time"
        in account
    )


def test_after_downtime_it_catches_up_with_one_message_per_contact_never_a_burst():
    # GIVEN the watchdog ran until 09:41 (stats team and web publisher alerted), then stopped
    s = Scenario(live=lambda now: False)
    s.run_until(at(9, 41))
    before = len(s.log)
    # WHEN it starts again at 11:02
    s.clock.set(at(11, 2))
    s.run_until(at(11, 5))
    # THEN each contact due a message gets one, for the current step, and nothing more
    assert s.rows()[before:] == [
        ("11:02:00", WP, "sms", "alert:8"),
        ("11:02:00", WP, "email", "alert:8"),
        ("11:02:00", "lead_official", "email", "alert"),
        ("11:02:00", "head_of_profession", "email", "breach"),
    ]
    subject, text = _text(s, "|alert|1|8|web_publisher|email")
    assert subject.startswith("STILL NOT LIVE (reminder 1): ")
    assert "This is reminder 1; you were first alerted at 09:40 BST." in text
    account = " ".join(build_report(s.store, ID).account)
    assert (
        "no check between Thu 17 Jul 2025 09:40:50 BST and Thu 17 Jul 2025 11:02:00 BST "
        "(releasewatch was not running)" in account
    )
    assert "every 10 s around the due time" in account


def test_a_contact_on_several_fired_steps_gets_one_message_the_highest_step():
    # GIVEN a chain where the lead official is on a repeating alert, a later alert and the
    # breach step, and the release is first checked at 11:02
    chain = Chain(
        id="lead-thrice",
        steps=(
            Step(after=5 * MIN, notify=("stats_team",)),
            Step(after=10 * MIN, notify=("lead_official",), repeat=10 * MIN),
            Step(after=30 * MIN, notify=("lead_official",)),
            Step(after=60 * MIN, notify=("lead_official",), kind="breach"),
        ),
    )
    s = Scenario(live=lambda now: False, start=at(11, 2), release=make_release(chain=chain))
    s.run_until(at(11, 12))
    # THEN they get the breach notice once at 11:02, not three messages; the repeat goes on later
    assert [r for r in s.rows() if r[1] == "lead_official"] == [
        ("11:02:00", "lead_official", "email", "breach"),
        ("11:10:00", "lead_official", "email", "alert:9"),
    ]


# -- tests that guard what they claim ------------------------------------------------------------


def test_an_acknowledgement_never_holds_the_breach_step():
    # GIVEN the web publisher acknowledges at 10:15 (due + 45 min), so alert steps are held
    # until 10:45
    s = Scenario(live=lambda now: False)
    s.run_until(at(10, 15))
    assert s.open(s.latest_link(WP, "sms"), "POST").status == 200
    # WHEN the breach step comes at 10:30 (due + 60 min), inside the hold
    s.run_until(at(10, 31))
    # THEN the head of profession is still told, on time
    assert ("10:30:00", "head_of_profession", "email", "breach") in s.rows()
    # while the held web publisher reminders are not sent
    assert not [r for r in s.rows() if r[1] == WP and r[0] > "10:15:00" and "alert" in r[3]]


def test_an_alert_pending_a_retry_is_cancelled_when_the_page_goes_live_never_sent_late():
    # GIVEN the web publisher's 09:40 SMS fails once (transient), so it waits for a retry
    calls = {"n": 0}

    def fail_first(message):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        return SendError("SNS throttled") if calls["n"] == 1 else None

    # WHEN the page goes live at 09:40:10, before the retry is due (09:40:15)
    s = Scenario(live=lambda now: now >= at(9, 40, 10), sms_fail=fail_first)
    s.run_until(at(10, 0))
    # THEN the SMS alert is never sent, and its record says it was cancelled
    assert not [r for r in s.rows() if r[2] == "sms"]
    sms = next(d for d in s.store.deliveries(ID) if d.key.endswith("|alert|1|0|web_publisher|sms"))
    assert (sms.status, sms.attempts) == (DeliveryStatus.CANCELLED, 1)
    assert sms.error == "overtaken: the page went live first"
    # and nobody hears "resolved" by SMS, as nobody was alerted by SMS
    assert ("09:40:10", WP, "email", "resolved") in s.rows()
