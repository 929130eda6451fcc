"""Acknowledge by replying to a Notify alert text: "Reply ACK 482193"."""

from __future__ import annotations

import asyncio
import logging
import re
from datetime import timedelta
from pathlib import Path

import pytest

from releasewatch.acks import by_reply
from releasewatch.acks.by_reply import (
    CODE_LIFETIME,
    LOCKOUT_WINDOW,
    FileCursor,
    ReplyPoller,
    code_for,
    normalise_number,
    parse_reply,
)
from releasewatch.model import EventKind
from releasewatch.notify.context import SMS_LIMIT, MessageContext
from releasewatch.notify.messages import sms_text
from releasewatch.service import Watchdog
from releasewatch.store.memory import InMemoryStore
from tests.factories import DUE, make_notification, make_release
from tests.fakes import FixedClock, RecordingNotifier, ScriptedProber
from tests.notify_support import TOKEN, M, notify_release, notify_world

PUBLISHER = "+447700900101"
LEAD = "+447700900102"
HEAD = "+447700900103"
CODE = re.compile(r" Reply ACK (\d{6})$")


def code_in(text: str) -> str:
    match = CODE.search(text)
    assert match is not None, text
    return match.group(1)


def acks(w) -> list[tuple[str | None, str, str]]:  # type: ignore[no-untyped-def]
    return [
        (e.contact_id, e.detail["step"], e.detail["via"])
        for e in w.store.events(w.release.id)
        if e.kind == EventKind.ACKNOWLEDGED
    ]


@pytest.mark.parametrize(
    "text", ["ACK 482193", "ack482193", "Ack #482193.", " 482193 ", "ACK 482193!"]
)
def test_replies_that_give_the_code(text: str) -> None:
    assert parse_reply(text) == "482193"


def test_a_four_digit_code_issued_before_codes_grew_is_still_read() -> None:
    assert parse_reply("ACK 4821") == "4821"


@pytest.mark.parametrize(
    "text", ["STOP", "stop 482193", "HELP", "ACK", "ACK 482", "48215", "4821930", ""]
)
def test_replies_that_are_not_acknowledgements(text: str) -> None:
    assert parse_reply(text) is None


@pytest.mark.parametrize(
    ("number", "e164"),
    [
        ("447700900101", PUBLISHER),
        ("07700900101", PUBLISHER),
        ("+44 7700 900101", PUBLISHER),
        ("not a number", None),
    ],
)
def test_notifys_numbers_become_e164(number: str, e164: str | None) -> None:
    assert normalise_number(number) == e164


def test_an_alert_text_ends_with_the_code_and_is_no_longer_than_today_plus_it() -> None:
    release = notify_release(title="A very long release title " * 8)
    n = make_notification(
        release.id, contact_id="web_publisher", channel="notify_sms", step=1, due_at=DUE
    )
    ctx = MessageContext(
        notification=n,
        release=release,
        contact=release.contacts["web_publisher"],
        now=DUE + 10 * M,
        ack_url="https://rw.example.com/a/" + "x" * 44,
    )
    today = sms_text(ctx)
    with_code = sms_text(MessageContext(**{**ctx.__dict__, "reply_code": "482193"}))
    assert SMS_LIMIT - 3 <= len(today) <= SMS_LIMIT  # its title was shortened to fit
    assert with_code.endswith(" Ack https://rw.example.com/a/" + "x" * 44 + " Reply ACK 482193")
    assert len(with_code) <= len(today) + len(" Reply ACK 482193")
    assert with_code.removesuffix(" Reply ACK 482193") == today


def test_a_reply_with_the_code_acknowledges_that_alert_by_the_links_rules() -> None:
    with notify_world() as w:
        w.tick(10 * M)
        [text] = w.texts_to(PUBLISHER)
        code = code_in(text)
        # WHEN the web publisher replies from their phone
        w.clock.set(DUE + 12 * M)
        answer = w.reply("447700900101", f"ACK {code}")
        assert answer.json() == {"status": "acknowledged"}
        # THEN that alert is acknowledged (step 1, by reply)...
        assert acks(w) == [("web_publisher", "1", "sms-reply")]
        # ...the others are told, repeats stop and the next alert step is held
        w.tick(15 * M)
        assert any(
            m.reference and "|ack_notice|" in m.reference and "stats_team" in m.reference
            for m in w.fake.sent
        )
        w.tick(20 * M)
        w.tick(30 * M)
        assert w.texts_to(PUBLISHER) == [text]  # no repeat at +20
        assert w.texts_to(LEAD) == []  # step 2 (+30) held for the ack timeout
        # ...but never a breach step: the head of profession hears at +60
        w.tick(60 * M)
        assert len(w.texts_to(HEAD)) == 1
        # the same reply again (Notify retries, or the person sends it twice): nothing more
        again = w.reply("447700900101", f"ACK {code}")
        assert again.json() == {"status": "replayed"}
        assert len(acks(w)) == 1


@pytest.mark.parametrize(
    ("number", "text", "outcome"),
    [
        ("447700900555", "ACK {code}", "unknown_number"),  # not a contact's number
        ("447700900102", "ACK {code}", "wrong_code"),  # the lead official was not sent it
        ("447700900101", "ACK {other}", "wrong_code"),
        ("447700900101", "STOP", "not_an_ack"),
    ],
)
def test_replies_that_change_nothing_are_logged_without_the_number(
    caplog: pytest.LogCaptureFixture, number: str, text: str, outcome: str
) -> None:
    with notify_world() as w:
        w.tick(10 * M)
        code = code_in(w.texts_to(PUBLISHER)[0])
        other = f"{(int(code) + 1) % 10000:04d}"
        with caplog.at_level(logging.INFO, logger="releasewatch"):
            answer = w.reply(number, text.format(code=code, other=other))
        assert answer.status_code == 200
        assert answer.json() == {"status": outcome}
        assert acks(w) == []
        logged = caplog.text
        assert outcome in logged
        assert number not in logged and number[-6:] not in logged
        assert code not in logged


def test_a_reply_after_the_page_went_live_changes_nothing() -> None:
    with notify_world() as w:
        w.tick(10 * M)
        code = code_in(w.texts_to(PUBLISHER)[0])
        w.live[0] = True
        w.tick(11 * M)
        assert w.reply("447700900101", f"ACK {code}").json() == {"status": "not_needed"}
        assert acks(w) == []


def test_a_reply_without_the_callback_token_is_refused() -> None:
    with notify_world() as w:
        w.tick(10 * M)
        code = code_in(w.texts_to(PUBLISHER)[0])
        assert w.reply("447700900101", f"ACK {code}", token="not-the-token-0000").status_code == 401
        assert acks(w) == []


def test_two_releases_alerting_one_person_get_different_codes_and_a_reply_acks_one() -> None:
    with notify_world() as w:
        second = notify_release(id="cpi-2025-07", title="Consumer price inflation")
        w.store.apply_releases([w.release, second], w.clock.now())
        w.tick(10 * M)
        texts = w.texts_to(PUBLISHER)
        assert len(texts) == 2
        codes = {code_in(t) for t in texts}
        assert len(codes) == 2
        cpi_text = next(t for t in texts if "Consumer price" in t)
        w.reply("447700900101", f"ACK {code_in(cpi_text)}")
        acked = [
            (e.release_id, e.contact_id)
            for r in ("lms-2025-07", "cpi-2025-07")
            for e in w.store.events(r)
            if e.kind == EventKind.ACKNOWLEDGED
        ]
        assert acked == [("cpi-2025-07", "web_publisher")]


def test_repeats_carry_the_same_code_and_after_it_is_used_a_new_one() -> None:
    with notify_world() as w:
        w.tick(10 * M)
        first = code_in(w.texts_to(PUBLISHER)[0])
        w.tick(20 * M)
        assert code_in(w.texts_to(PUBLISHER)[1]) == first  # the repeat: same alert, same code
        w.clock.set(DUE + 21 * M)
        w.reply("447700900101", f"ACK {first}")
        # the hold (30 min) ends at +51; the repeat at +60 carries a fresh code
        w.tick(60 * M)
        later = w.texts_to(PUBLISHER)[-1]
        assert len(w.texts_to(PUBLISHER)) == 3
        assert code_in(later) != first
        assert w.reply("447700900101", f"ACK {first}").json() == {"status": "replayed"}
        assert w.reply("447700900101", f"ACK {code_in(later)}").json() == {"status": "acknowledged"}


def test_without_a_callback_replies_are_read_from_a_persisted_cursor(tmp_path: Path) -> None:
    with notify_world(callbacks=False) as w:
        cursor = FileCursor(tmp_path / "cursor.json")
        w.watchdog.after_tick.append(ReplyPoller(w.client, cursor))
        w.tick(10 * M)
        code = code_in(w.texts_to(PUBLISHER)[0])
        w.clock.set(DUE + 11 * M)
        w.fake.reply("447700900555", "STOP")
        w.clock.set(DUE + 12 * M)
        w.fake.reply("447700900101", f"ack {code}")
        w.tick(12 * M + timedelta(seconds=10))
        assert acks(w) == [("web_publisher", "1", "sms-reply")]
        assert cursor.load()["id"] == w.fake.received[-1].id
        # a later tick reads nothing new; a process that lost its cursor re-reads harmlessly
        w.tick(13 * M)
        assert len(acks(w)) == 1
        fresh = ReplyPoller(w.client, FileCursor(tmp_path / "lost.json"))
        assert fresh.poll(w.store, w.clock.now()) == 0
        assert len(acks(w)) == 1


def test_texts_through_sns_or_the_console_carry_no_code() -> None:
    # Only a notifier that accepts replies gets one (Notify's, with a reply number).

    clock = FixedClock(DUE + 10 * M)
    store = InMemoryStore()
    store.apply_releases([make_release()], clock.now())
    sms = RecordingNotifier()
    dog = Watchdog(
        store,
        ScriptedProber(clock, lambda now: False),
        {"sms": sms, "email": RecordingNotifier()},
        clock,
    )
    asyncio.run(dog.tick())
    assert sms.sent and all("Reply ACK" not in m.text for m in sms.sent)


def test_replies_off_sends_no_code() -> None:
    with notify_world(replies=False) as w:
        w.tick(10 * M)
        assert "Reply ACK" not in w.texts_to(PUBLISHER)[0]


def test_a_flood_of_texts_between_polls_cannot_push_a_genuine_ack_past_the_cursor(
    tmp_path: Path,
) -> None:
    # GIVEN the publisher's genuine "ACK <code>", then 1,300 other texts before the next poll
    # (more than the 4 pages of 250 one poll reads)
    with notify_world(callbacks=False) as w:
        cursor = FileCursor(tmp_path / "cursor.json")
        poller = ReplyPoller(w.client, cursor)
        w.tick(10 * M)
        poller.poll(w.store, w.clock.now())  # the cursor starts here
        code = code_in(w.texts_to(PUBLISHER)[0])
        w.clock.set(DUE + 11 * M)
        w.fake.reply("447700900101", f"ACK {code}")
        for i in range(1300):
            w.clock.set(DUE + 11 * M + timedelta(milliseconds=i + 1))
            w.fake.reply("447700900555", "STOP")
        # WHEN the poller runs: the first poll reads the newest 1,000, the second the rest
        poller.poll(w.store, w.clock.now())
        assert acks(w) == [] and cursor.load().get("id") != w.fake.received[-1].id
        poller.poll(w.store, w.clock.now())
        # THEN the genuine acknowledgement was read and recorded
        assert acks(w) == [("web_publisher", "1", "sms-reply")]
        # ...and the cursor is at the newest text, with nothing left to page through
        assert set(cursor.load()) == {"id", "at"}
        assert cursor.load()["id"] == w.fake.received[-1].id
        # ...so a later poll reads only what is new
        w.clock.set(DUE + 13 * M)
        w.fake.reply("447700900555", "HELP")
        poller.poll(w.store, w.clock.now())
        assert cursor.load()["id"] == w.fake.received[-1].id


# -- guessing: counted, locked out, expired -------------------------------------------------------
def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_three_wrong_codes_lock_the_senders_replies_and_the_right_code_then_fails() -> None:
    with notify_world() as w:
        w.tick(10 * M)
        code = code_in(w.texts_to(PUBLISHER)[0])
        w.clock.set(DUE + 11 * M)
        # the same wrong text delivered twice (Notify retried) counts once
        text = w.fake.reply("447700900101", f"ACK {wrong(code)}")
        payload = w.fake.inbound_payload(text)
        for _ in range(2):
            answer = w.fake.callback(w.web_url + "/notify/inbound", TOKEN, payload)
            assert answer.json() == {"status": "wrong_code"}
        assert w.reply("447700900101", "ACK 000000").json() == {"status": "wrong_code"}
        assert w.reply("447700900101", "ACK 999999").json() == {"status": "wrong_code"}
        # THEN the right code, fourth, is refused: a guesser cannot keep going
        assert w.reply("447700900101", f"ACK {code}").json() == {"status": "locked"}
        assert acks(w) == []
        # ...and the next text to the publisher carries no code, and says why (an acknowledge
        # link, where links are set up, still works)
        w.tick(20 * M)
        repeat = w.texts_to(PUBLISHER)[-1]
        assert repeat.startswith("RW STILL NOT LIVE") and " Reply ACK" not in repeat
        assert repeat.endswith(" Replies locked after wrong codes.")
        # ...while the lockout lasts; after the window, replies are read again
        w.clock.set(DUE + 11 * M + LOCKOUT_WINDOW + M)
        assert w.reply("447700900101", "ACK 123456").json()["status"] != "locked"


def test_wrong_codes_from_anyone_lock_the_release_after_its_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(by_reply, "MAX_WRONG_PER_RELEASE", 4)
    with notify_world() as w:
        w.tick(10 * M)
        code = code_in(w.texts_to(PUBLISHER)[0])
        w.clock.set(DUE + 11 * M)
        for number in ("447700900102", "447700900102", "447700900103", "447700900103"):
            assert w.reply(number, "ACK 111111").json() == {"status": "wrong_code"}
        # the publisher guessed nothing, but the release's replies are locked for everyone
        assert w.reply("447700900101", f"ACK {code}").json() == {"status": "locked"}
        assert acks(w) == []


def test_a_code_expires_and_the_next_text_carries_a_new_one() -> None:
    with notify_world() as w:
        w.tick(10 * M)
        code = code_in(w.texts_to(PUBLISHER)[0])
        w.clock.set(DUE + 10 * M + CODE_LIFETIME + M)
        assert w.reply("447700900101", f"ACK {code}").json() == {"status": "expired"}
        assert acks(w) == []
        record = w.store.get_release(w.release.id)
        assert record is not None
        fresh = code_for(w.store, record, "web_publisher", 1, w.clock.now())
        assert fresh is not None and fresh != code
        assert w.reply("447700900101", f"ACK {fresh}").json() == {"status": "acknowledged"}
