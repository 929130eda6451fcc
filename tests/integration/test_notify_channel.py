"""GOV.UK Notify email and SMS channels against a loopback fake that checks what Notify checks."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import jwt
import pytest

from releasewatch.clock import FixedClock
from releasewatch.errors import SendError
from releasewatch.notify.base import Message
from releasewatch.notify.govuk_notify import (
    NotifyClient,
    NotifyKey,
    NotifyKeyError,
    NotifyNotifier,
    NotifySettings,
    api_token,
    notify_id,
)
from tests.factories import DUE
from tests.notify_fake import (
    API_KEY,
    EMAIL_TEMPLATE,
    REPLY_TO,
    SECRET,
    SERVICE_ID,
    SMS_SENDER,
    SMS_TEMPLATE,
    FakeNotify,
    serve_notify,
)

NUMBER = "+447700900101"
ADDRESS = "alice.publisher@example.com"


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DUE)


@pytest.fixture
def fake(clock: FixedClock) -> FakeNotify:
    return FakeNotify(now=clock.now)


@pytest.fixture
def base_url(fake: FakeNotify) -> Iterator[str]:
    with serve_notify(fake) as url:
        yield url


def settings(base_url: str, **extra: object) -> NotifySettings:
    return NotifySettings(
        email_template_id=EMAIL_TEMPLATE,
        sms_template_id=SMS_TEMPLATE,
        base_url=base_url,
        **extra,  # type: ignore[arg-type]
    )


def notifier(clock: FixedClock, base_url: str, medium: str, **extra: object) -> NotifyNotifier:
    client = NotifyClient(NotifyKey.parse(API_KEY), clock, base_url=base_url)
    return NotifyNotifier(client, settings(base_url, **extra), medium)


def sms(text: str = "RW NOT LIVE 09:40 (due 09:30, HTTP 404): Labour market") -> Message:
    return Message(
        channel="notify_sms",
        to=NUMBER,
        contact_id="web_publisher",
        contact_name="Alice Publisher",
        subject="NOT LIVE: Labour market",
        text=text,
        key="lms|alert|1|0|web_publisher|notify_sms",
    )


def email() -> Message:
    return Message(
        channel="notify_email",
        to=ADDRESS,
        contact_id="web_publisher",
        contact_name="Alice Publisher",
        subject="NOT LIVE: Labour market (due 09:30, 10 minutes late)",
        text="Dear Alice Publisher,\n\n'Labour market' was due at 09:30...",
        key="lms|alert|1|0|web_publisher|notify_email",
    )


def test_the_key_is_sliced_from_the_end_as_notifys_clients_do() -> None:
    # The key's name may hold hyphens: only the last 73 characters are ids.
    key = NotifyKey.parse(f"my-team-live-key-{SERVICE_ID}-{SECRET}")
    assert (key.name, key.service_id, key.secret) == ("my-team-live-key", SERVICE_ID, SECRET)
    assert SECRET not in repr(key)


@pytest.mark.parametrize(
    "bad",
    [SECRET, f"name-{SERVICE_ID}{SECRET}", f"name-not-a-service-id-at-all-000000000000-{SECRET}"],
)
def test_a_malformed_key_is_refused_without_quoting_it(bad: str) -> None:
    with pytest.raises(NotifyKeyError) as caught:
        NotifyKey.parse(bad)
    assert SECRET not in str(caught.value)


def test_the_token_is_hs256_with_the_service_as_issuer_and_the_clock_as_iat() -> None:
    key = NotifyKey.parse(API_KEY)
    token = api_token(key, int(DUE.timestamp()))
    assert jwt.get_unverified_header(token) == {"typ": "JWT", "alg": "HS256"}
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_iat": False})
    assert claims == {"iss": SERVICE_ID, "iat": int(DUE.timestamp())}


def test_a_text_goes_to_the_sms_template_with_its_body_reference_and_sender(
    clock: FixedClock, fake: FakeNotify, base_url: str
) -> None:
    provider_id = notifier(clock, base_url, "sms", sms_sender_id=SMS_SENDER).send(sms())
    [sent] = fake.sent
    assert (sent.type, sent.to, sent.template_id) == ("sms", NUMBER, SMS_TEMPLATE)
    assert sent.personalisation == {"body": sms().text}
    assert sent.reference == sms().key  # Notify's de-duplication aid, and the receipt's link
    assert sent.sender_id == SMS_SENDER
    assert notify_id(provider_id) == sent.id


def test_an_email_goes_to_the_email_template_with_subject_body_and_reply_to(
    clock: FixedClock, fake: FakeNotify, base_url: str
) -> None:
    notifier(clock, base_url, "email", email_reply_to_id=REPLY_TO).send(email())
    [sent] = fake.sent
    assert (sent.type, sent.to, sent.template_id) == ("email", ADDRESS, EMAIL_TEMPLATE)
    assert sent.personalisation == {"subject": email().subject, "body": email().text}
    assert sent.sender_id == REPLY_TO


@pytest.mark.parametrize("status", [429, 500, 503])
def test_rate_limits_and_server_errors_are_worth_another_attempt(
    clock: FixedClock, fake: FakeNotify, base_url: str, status: int
) -> None:
    fake.fail_next = [status]
    with pytest.raises(SendError) as caught:
        notifier(clock, base_url, "sms").send(sms())
    assert caught.value.permanent is False
    assert str(status) in caught.value.reason
    assert fake.sent == []


def test_a_wrong_template_is_permanent_with_notifys_message_and_no_address(
    clock: FixedClock, fake: FakeNotify, base_url: str
) -> None:
    client = NotifyClient(NotifyKey.parse(API_KEY), clock, base_url=base_url)
    wrong = NotifySettings(email_template_id=SMS_TEMPLATE, sms_template_id=EMAIL_TEMPLATE)
    with pytest.raises(SendError) as caught:
        NotifyNotifier(client, wrong, "email").send(email())
    assert caught.value.permanent is True
    assert caught.value.reason == "notify 400 BadRequestError: Template not found"


def test_a_clock_more_than_30_seconds_off_is_refused_for_good(
    clock: FixedClock, fake: FakeNotify, base_url: str
) -> None:
    skewed = FixedClock(DUE + timedelta(seconds=31))
    client = NotifyClient(NotifyKey.parse(API_KEY), skewed, base_url=base_url)
    with pytest.raises(SendError) as caught:
        NotifyNotifier(client, settings(base_url), "sms").send(sms())
    assert caught.value.permanent is True
    assert "403 AuthError" in caught.value.reason
    assert "accurate to within 30 seconds" in caught.value.reason
    # ...and within 30 s it is accepted
    clock.set(DUE + timedelta(seconds=29))
    NotifyNotifier(client, settings(base_url), "sms").send(sms())


def test_a_key_for_another_service_is_refused(clock: FixedClock, base_url: str) -> None:
    other = f"x-{SERVICE_ID[:-1]}0-{SECRET}"
    client = NotifyClient(NotifyKey.parse(other), clock, base_url=base_url)
    with pytest.raises(SendError) as caught:
        NotifyNotifier(client, settings(base_url), "sms").send(sms())
    assert caught.value.permanent is True
    assert "403" in caught.value.reason


def test_an_unreachable_notify_is_transient(clock: FixedClock) -> None:
    with serve_notify(FakeNotify(now=clock.now)) as url:
        pass  # stopped: nothing listens there now
    with pytest.raises(SendError) as caught:
        notifier(clock, url, "sms").send(sms())
    assert caught.value.permanent is False
    assert caught.value.reason.startswith("notify unreachable")


def test_an_error_quoting_the_number_is_stored_without_it(clock: FixedClock) -> None:
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        body = {"errors": [{"error": "ValidationError", "message": f"{NUMBER} is not valid"}]}
        return httpx.Response(400, json=body)

    client = NotifyClient(
        NotifyKey.parse(API_KEY), clock, http=httpx.Client(transport=httpx.MockTransport(answer))
    )
    with pytest.raises(SendError) as caught:
        NotifyNotifier(client, settings("https://api.example.com"), "sms").send(sms())
    assert NUMBER not in caught.value.reason
    assert "447700900101" not in caught.value.reason


@pytest.mark.parametrize(
    "answer",
    [b"<html>gateway</html>", b"[]", b'"queued"', b""],
    ids=["html", "a list", "a string", "empty"],
)
def test_a_2xx_that_is_not_a_json_object_is_worth_another_attempt(
    clock: FixedClock, answer: bytes
) -> None:
    # A proxy or a broken Notify: the text may not have gone out, so it must not be recorded as
    # sent, nor failed for good (which would skip the retry and jump to the fallback).
    import httpx

    client = NotifyClient(
        NotifyKey.parse(API_KEY),
        clock,
        http=httpx.Client(
            transport=httpx.MockTransport(lambda r: httpx.Response(201, content=answer))
        ),
    )
    with pytest.raises(SendError) as caught:
        NotifyNotifier(client, settings("https://api.example.com"), "sms").send(sms())
    assert caught.value.permanent is False
    assert "not a JSON object" in caught.value.reason
