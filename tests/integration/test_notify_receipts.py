"""Notify's delivery receipts: by callback (bearer token) on the local web server, or read back
with GET /v2/notifications/{id} when no callback is set."""

from __future__ import annotations

from datetime import timedelta

import httpx

from releasewatch.model import DeliveryStatus
from releasewatch.notify.govuk_notify import notify_id
from releasewatch.notify.receipts import ReceiptPoller
from releasewatch.report.build import build_report
from releasewatch.report.render import render_text
from tests.factories import DUE
from tests.notify_support import TOKEN, notify_world

M = timedelta(minutes=1)
SMS_KEY = "lms-2025-07|alert|1|0|web_publisher|notify_sms"


def test_a_delivered_receipt_is_recorded_and_the_report_says_when() -> None:
    with notify_world() as w:
        # GIVEN the web publisher's text went out at 09:40:00
        w.tick(10 * M)
        [sms] = [m for m in w.fake.sent if m.type == "sms"]
        assert sms.reference == SMS_KEY
        # WHEN Notify calls back 7 seconds later: delivered
        w.clock.set(DUE + 10 * M + timedelta(seconds=7))
        assert w.receipt(w.fake.sent.index(sms), "delivered") == 200
        # THEN the delivery says so, and the breach report's timeline too
        d = w.delivery(SMS_KEY)
        assert (d.status, d.receipt) == (DeliveryStatus.SENT, "delivered")
        assert d.delivered_at == DUE + 10 * M + timedelta(seconds=7)
        text = render_text(build_report(w.store, w.release.id))
        assert "sent by SMS (GOV.UK Notify) to Alice Publisher" in text
        assert "delivered 09:40:07" in text
        # a retried callback (Notify retries every 5 minutes) changes nothing
        assert w.receipt(w.fake.sent.index(sms), "delivered") == 200
        assert w.delivery(SMS_KEY) == d


def test_a_permanent_failure_runs_the_fallback_as_a_send_error_does() -> None:
    with notify_world() as w:
        w.tick(10 * M)
        sms = next(m for m in w.fake.sent if m.type == "sms")
        # WHEN the phone network refuses the text
        w.clock.set(DUE + 10 * M + timedelta(seconds=20))
        assert w.receipt(w.fake.sent.index(sms), "permanent-failure") == 200
        d = w.delivery(SMS_KEY)
        assert d.status == DeliveryStatus.FAILED
        assert d.receipt == "permanent-failure"
        assert d.error is not None and d.error.startswith("notify receipt permanent-failure")
        assert "+44" not in d.error
        # THEN the next tick sends the same alert by email (through Notify), once
        w.tick(10 * M + timedelta(seconds=30))
        fallback = [m for m in w.fake.sent if m.reference == f"{SMS_KEY}>notify_email"]
        assert [(m.type, m.to) for m in fallback] == [("email", "alice.publisher@example.com")]
        w.tick(11 * M)
        assert len([m for m in w.fake.sent if m.reference == f"{SMS_KEY}>notify_email"]) == 1
        # ...and the report says what failed and why, without the number
        text = render_text(build_report(w.store, w.release.id))
        assert "FAILED (permanently): notify receipt permanent-failure" in text
        assert "+447700900101" not in text


def test_a_technical_failure_is_sent_again_within_the_attempt_bound() -> None:
    with notify_world(max_attempts=2) as w:
        w.tick(10 * M)
        first = next(m for m in w.fake.sent if m.type == "sms")
        w.receipt(w.fake.sent.index(first), "technical-failure")
        assert w.delivery(SMS_KEY).status == DeliveryStatus.RETRY
        w.tick(10 * M + timedelta(seconds=30))  # after the backoff
        texts = [m for m in w.fake.sent if m.reference == SMS_KEY]
        assert len(texts) == 2
        # the second fails the same way: the bound (2) is reached, it fails for good
        w.receipt(w.fake.sent.index(texts[1]), "technical-failure")
        d = w.delivery(SMS_KEY)
        assert d.status == DeliveryStatus.FAILED
        assert d.error is not None and "gave up after 2 attempts" in d.error
        w.tick(11 * M)
        assert len([m for m in w.fake.sent if m.reference == SMS_KEY]) == 2


def test_a_receipt_without_the_right_bearer_token_is_refused_and_changes_nothing() -> None:
    with notify_world() as w:
        w.tick(10 * M)
        sms = next(m for m in w.fake.sent if m.type == "sms")
        index = w.fake.sent.index(sms)
        assert w.receipt(index, "permanent-failure", token="wrong-token-0123456789") == 401
        payload = w.fake.receipt_payload(sms, "permanent-failure")
        bare = httpx.post(w.web_url + "/notify/receipts", json=payload, timeout=5)
        assert bare.status_code == 401
        assert w.delivery(SMS_KEY).status == DeliveryStatus.SENT
        # a body that is not a receipt: 400
        bad = httpx.post(
            w.web_url + "/notify/receipts",
            content=b"{not json",
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=5,
        )
        assert bad.status_code == 400


def test_a_receipt_for_an_unknown_message_is_accepted_and_ignored() -> None:
    with notify_world() as w:
        w.tick(10 * M)
        sms = next(m for m in w.fake.sent if m.type == "sms")
        payload = w.fake.receipt_payload(sms, "delivered") | {
            "id": "00000000-0000-4000-8000-000000000000",
            "reference": "other-release|alert|0|0|x|sms",
        }
        answer = w.fake.callback(w.web_url + "/notify/receipts", TOKEN, payload)
        assert (answer.status_code, answer.json()) == (200, {"status": "unknown"})


def test_without_a_callback_the_status_is_read_back_bounded() -> None:
    with notify_world(callbacks=False) as w:
        poller = ReceiptPoller(w.client, per_tick=1)
        w.watchdog.after_tick.append(poller)
        w.tick(10 * M)  # team email at +5 and the publisher's text: both in flight
        assert w.fake.gets == []  # too fresh to ask about (under 30 s old)
        for m in w.fake.sent:
            w.fake.deliver(m, "delivered")
        w.tick(10 * M + timedelta(seconds=40))
        assert len(w.fake.gets) == 1  # one a tick
        w.tick(10 * M + timedelta(seconds=50))
        assert len(w.fake.gets) == 2
        delivered = [d for d in w.store.deliveries(w.release.id) if d.receipt == "delivered"]
        assert len(delivered) == 2
        # nothing is in flight any more: no more reads
        w.tick(12 * M)
        assert len(w.fake.gets) == 2


def test_reading_back_receipts_reads_the_sends_in_flight_not_the_releases_watched() -> None:
    # A tick costs what is due: with 3,000 releases watched months ahead, a receipt poller
    # that read every active release's deliveries would be 3,000 reads a minute.
    with notify_world(callbacks=False) as w:
        poller = ReceiptPoller(w.client)
        w.watchdog.after_tick.append(poller)
        w.tick(10 * M)
        for m in w.fake.sent:
            w.fake.deliver(m, "delivered")
        real, read = w.store, []

        class Watched:
            def __getattr__(self, name: str) -> object:
                if name in ("active_releases", "all_releases"):
                    raise AssertionError(f"the receipt poller read store.{name}")
                read.append(name)
                return getattr(real, name)

        now = DUE + 10 * M + timedelta(seconds=40)
        assert poller.poll(Watched(), now) == 2  # type: ignore[arg-type]
        messages = [d for d in real.deliveries(w.release.id) if notify_id(d.provider_id)]
        assert [d.receipt for d in messages] == ["delivered", "delivered"]
        # ...each message's own delivery found by its release, once a message
        assert read.count("deliveries") == 2


def test_a_message_still_sending_is_read_again_no_more_than_once_a_minute() -> None:
    with notify_world(callbacks=False) as w:
        poller = ReceiptPoller(w.client)
        w.watchdog.after_tick.append(poller)
        w.tick(10 * M)
        w.tick(10 * M + timedelta(seconds=40))
        asked = len(w.fake.gets)
        assert asked == 2  # both, still "sending"
        w.tick(10 * M + timedelta(seconds=50))
        assert len(w.fake.gets) == asked  # not again within the minute
        w.tick(11 * M + timedelta(seconds=41))
        assert len(w.fake.gets) == 2 * asked


def test_a_receipt_arriving_while_the_send_is_still_being_recorded_is_answered_409() -> None:
    # Notify can call back before the watchdog has marked the text sent (a number that does not
    # exist fails in under a second). Answered 200, the permanent failure would be lost and the
    # fallback never run; 409 makes Notify send it again (5 minutes later).
    with notify_world() as w:
        sms = w.watchdog.notifiers["notify_sms"]
        answers: list[int] = []

        class CallsBackAtOnce:
            accepts_replies = getattr(sms, "accepts_replies", False)

            def send(self, message):  # type: ignore[no-untyped-def]
                provider_id = sms.send(message)
                assert w.delivery(message.key).status == DeliveryStatus.CLAIMED
                answers.append(w.receipt(len(w.fake.sent) - 1, "permanent-failure"))
                return provider_id

        w.watchdog.notifiers["notify_sms"] = CallsBackAtOnce()  # type: ignore[assignment]
        w.tick(10 * M)
        assert answers == [409]
        assert w.delivery(SMS_KEY).status == DeliveryStatus.SENT
        # Notify's retry, once the send is recorded: the failure counts and the fallback runs
        w.clock.set(DUE + 15 * M)
        sent = next(m for m in w.fake.sent if m.reference == SMS_KEY)
        assert w.receipt(w.fake.sent.index(sent), "permanent-failure") == 200
        assert w.delivery(SMS_KEY).status == DeliveryStatus.FAILED
        w.tick(15 * M + timedelta(seconds=10))
        fallback = [m for m in w.fake.sent if m.reference == f"{SMS_KEY}>notify_email"]
        assert [m.to for m in fallback] == ["alice.publisher@example.com"]
