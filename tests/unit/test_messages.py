"""The wording of every message kind, and SMS that always fit one GSM-7 segment with the link."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from releasewatch.links.tokens import TokenCodec
from releasewatch.links.urls import SignedLinks
from releasewatch.model import NotificationKind
from releasewatch.notify.context import _GSM7, SMS_LIMIT, MessageContext
from releasewatch.notify.messages import render, sms_text
from tests.factories import CONTACTS, DUE, make_check, make_notification, make_release

M = timedelta(minutes=1)
LONG_BASE = "https://acks.releasewatch.example.gov.uk"  # 40 characters
assert len(LONG_BASE) == 40
LINKS = SignedLinks(LONG_BASE, TokenCodec(b"k" * 32))


def ctx(kind: NotificationKind, channel="email", *, occurrence=0, step=1, title=None, **kw):  # type: ignore[no-untyped-def]
    release = make_release(title=title) if title else make_release()
    contact = "web_publisher" if kind != NotificationKind.REPORT else "head_of_profession"
    now = kw.pop("now", DUE + 10 * M)
    notification = make_notification(
        kind=kind, contact_id=contact, channel=channel, step=step, occurrence=occurrence
    )
    ack_url = None
    if kind in (NotificationKind.ALERT, NotificationKind.BREACH):
        ack_url = LINKS.ack_url(release.id, contact, step, now)
    defaults = dict(
        notification=notification,
        release=release,
        contact=CONTACTS[contact],
        now=now,
        last_check=make_check(at=now - 10 * timedelta(seconds=1), age="240", x_cache="HIT"),
        first_failure_at=DUE,
        others_told=("Labour market statistics team",),
        next_step=(DUE + 30 * M, ("Bob Lead",)),
        ack_url=ack_url,
        release_url=LINKS.release_url(release.id),
    )
    defaults.update(kw)
    return MessageContext(**defaults)  # type: ignore[arg-type]


def test_alert_email_says_what_since_when_what_was_seen_who_knows_and_what_next():
    m = render(ctx(NotificationKind.ALERT))
    assert (
        m.subject == "NOT LIVE: Labour market overview, UK: July 2025 (due 09:30 BST, 10 min late)"
    )
    assert (
        "was due at Thu 17 Jul 2025 09:30 BST and is not live: 10 min late at 09:40 BST" in m.text
    )
    assert "Not live since Thu 17 Jul 2025 09:30 BST" in m.text
    assert "status: 200" in m.text and "final URL: https://stats.example.com" in m.text
    assert "cache: age: 240; cache-control: no-cache; x-cache: HIT" in m.text
    assert "Also told: Labour market statistics team." in m.text
    assert "Next: Bob Lead at 10:00 BST if still not live." in m.text
    assert f"Acknowledge: {LONG_BASE}/a/" in m.text
    assert "nothing happens until you press it" in m.text
    assert m.to == "alice.publisher@example.com"


def test_repeat_says_which_reminder_and_when_it_started():
    # The count and the first time come from the messages really sent (the context), not from
    # the schedule: here three earlier pages went out, the first at 09:40.
    m = render(
        ctx(
            NotificationKind.ALERT,
            occurrence=3,
            now=DUE + 40 * M,
            reminder=3,
            first_alerted_at=DUE + 10 * M,
        )
    )
    assert m.subject.startswith("STILL NOT LIVE (reminder 3): Labour market overview")
    assert "This is reminder 3; you were first alerted at 09:40 BST." in m.text


def test_breach_names_the_practice_and_says_it_is_never_held():
    m = render(ctx(NotificationKind.BREACH, step=3, now=DUE + 60 * M))
    assert (
        m.subject
        == "BREACH: Labour market overview, UK: July 2025 still not live, 1 h after 09:30 BST"
    )
    assert "T3.6, orderly release" in m.text
    assert "never held" in m.text


def test_early_release_is_called_a_breach_and_polling_continues():
    m = render(ctx(NotificationKind.EARLY, live_at=DUE - 10 * M, now=DUE - 10 * M))
    assert (
        m.subject
        == "BREACH: Labour market overview, UK: July 2025 released early, before 09:30 BST"
    )
    assert "found live at Thu 17 Jul 2025 09:20 BST: it was released early" in m.text
    assert "Polling continues" in m.text


def test_acknowledgement_notice_says_who_when_and_until_when_alerts_are_held():
    m = render(
        ctx(
            NotificationKind.ACK_NOTICE,
            step=0,
            acked_by="Alice Publisher",
            acked_at=DUE + 130 * M,
            held_steps=(1,),  # the web publisher's step repeats inside the hold
        )
    )
    assert (
        m.subject == "Acknowledged: Labour market overview, UK: July 2025, Alice Publisher is on it"
    )
    assert "Alice Publisher acknowledged the alert" in m.text and "at 11:40 BST" in m.text
    assert "held until 12:10 BST" in m.text
    assert "Breach notices to Charlie Head (head of profession) are never held." in m.text


def test_resolution_gives_the_live_time_the_delay_and_first_published_at():
    live = DUE + timedelta(hours=2, minutes=30)
    check = make_check(at=live, live=True, published_at=live - timedelta(seconds=40))
    m = render(ctx(NotificationKind.RESOLVED, step=None, live_at=live, now=live, last_check=check))
    assert m.subject == "RESOLVED: Labour market overview, UK: July 2025 is live, 2 h 30 min late"
    assert "confirmed at Thu 17 Jul 2025 12:00:00 BST, 2 h 30 min late" in m.text
    assert "first publication as Thu 17 Jul 2025 11:59:20 BST" in m.text
    assert "draft breach report" in m.text


def test_resolution_on_time_does_not_mention_a_breach():
    m = render(ctx(NotificationKind.RESOLVED, step=None, live_at=DUE + M, now=DUE + M))
    assert m.subject.endswith("is live on time") and "breach" not in m.text


def test_report_email_carries_the_text_inline_and_the_attachment():
    from releasewatch.notify.base import Attachment

    attachment = Attachment("breach-report.docx", "application/x", b"PK")
    m = render(
        ctx(
            NotificationKind.REPORT,
            step=None,
            report_text="BREACH REPORT BODY",
            report_attachments=(attachment,),
        )
    )
    assert m.subject == "Breach report draft: Labour market overview, UK: July 2025"
    assert "BREACH REPORT BODY" in m.text and m.attachments == (attachment,)


def test_no_message_of_any_kind_contains_another_persons_address():
    for kind in NotificationKind:
        # The calendar notices tell of a recorded change (its detail): every kind gets one.
        change = {"old_due": DUE.isoformat(), "new_due": (DUE + M).isoformat(), "note": "x"}
        m = render(
            ctx(kind, acked_by="Alice Publisher", acked_at=DUE, live_at=DUE + M, change=change)
        )
        for other in CONTACTS.values():
            if other.id != m.contact_id:
                assert other.email not in m.text and (other.phone or "@") not in m.text


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (NotificationKind.ALERT, "RW NOT LIVE 09:40 (due 09:30, HTTP 200): Labour market overview,... Ack https://acks.releasewatch.example.gov.uk/a/"),  # noqa: E501
        (NotificationKind.BREACH, "RW BREACH not live 09:40 (due 09:30, 10 min late): Labour market"),  # noqa: E501
        (NotificationKind.RESOLVED, "RW RESOLVED live 09:35, 5 min late: Labour market overview, UK: July 2025. Stand down."),  # noqa: E501
        (NotificationKind.ACK_NOTICE, "RW ACK Alice Publisher is on it (09:38): Labour market overview, UK: July 2025. Alerts held to 10:08."),  # noqa: E501
        (NotificationKind.EARLY, "RW BREACH live EARLY 09:35 (due 09:30): Labour market overview"),
    ],
)  # fmt: skip
def test_sms_wording_per_kind(kind, expected):
    # Alice acknowledged step 2 at 09:38: the lead official's step (10:00) is held to 10:08
    text = sms_text(
        ctx(
            kind,
            "sms",
            acked_by="Alice Publisher",
            acked_at=DUE + 8 * M,
            live_at=DUE + 5 * M,
            held_steps=(2,),
        )
    )
    assert text.startswith(expected)
    assert len(text) <= SMS_LIMIT


@settings(max_examples=400, deadline=None)
@given(
    title=st.text(min_size=1, max_size=300),
    kind=st.sampled_from([NotificationKind.ALERT, NotificationKind.BREACH]),
    occurrence=st.integers(0, 40),
    minutes=st.integers(0, 60 * 30),
)
def test_worst_case_sms_fits_one_gsm7_segment_with_the_whole_link(title, kind, occurrence, minutes):
    now = DUE + minutes * M
    c = ctx(kind, "sms", occurrence=occurrence, title=title, now=now, reminder=occurrence)
    c = MessageContext(
        **{**c.__dict__, "last_check": make_check(at=now, status=None, error="too_many_redirects")}
    )
    text = sms_text(c)
    assert len(text) <= SMS_LIMIT
    assert set(text) <= _GSM7
    assert c.ack_url is not None and text.endswith(c.ack_url)


def test_a_long_title_is_shortened_never_the_link():
    long_title = "Labour market overview, UK: July 2025, with regional and industry breakdowns " * 3
    c = ctx(NotificationKind.ALERT, "sms", title=long_title, occurrence=12)
    text = sms_text(c)
    assert len(text) <= SMS_LIMIT and "..." in text
    assert c.ack_url and text.endswith(" Ack " + c.ack_url)


def test_curly_quotes_and_dashes_do_not_switch_the_sms_to_ucs2():
    c = ctx(NotificationKind.ALERT, "sms", title="Prices \u2013 \u2018core\u2019 index\u2026")
    text = sms_text(c)
    assert "Prices - 'core' index..." in text and set(text) <= _GSM7


def test_a_release_first_checked_long_after_its_due_time_starts_its_chain_honestly():
    # GIVEN a release added (or a watchdog restarted) at 11:02, 1 h 32 min after 09:30: the
    # schedule says the web publisher's page is occurrence 8, but no message was ever sent
    late = DUE + 92 * M
    c = ctx(
        NotificationKind.ALERT,
        occurrence=8,
        now=late,
        first_failure_at=late,
        first_checked_late_at=late,
        others_told=(),
    )
    m = render(c)
    # THEN it is a first alert, with no invented reminder or "first alerted" time
    assert m.subject == (
        "NOT LIVE: Labour market overview, UK: July 2025 (due 09:30 BST, 1 h 32 min late)"
    )
    assert "This is reminder" not in m.text and "first alerted" not in m.text
    # AND it says when it was first checked, rather than "not live since" a time nobody looked
    assert "It was first checked at 11:02, 1 h 32 min after it was due" in m.text
    assert "Not live since" not in m.text
    assert "Also told: nobody else yet." in m.text
    sms = sms_text(MessageContext(**{**c.__dict__, "notification": make_notification(
        kind=NotificationKind.ALERT, contact_id="web_publisher", channel="sms", step=1,
        occurrence=8)}))  # fmt: skip
    assert sms.startswith("RW NOT LIVE 11:02 (due 09:30") and len(sms) <= SMS_LIMIT


def test_a_release_added_months_late_never_says_reminder_22815():
    late = DUE + timedelta(days=158, minutes=30)
    m = render(ctx(NotificationKind.ALERT, occurrence=22815, now=late, first_checked_late_at=late))
    assert "22815" not in m.subject + m.text
    assert m.subject.startswith("NOT LIVE:")
