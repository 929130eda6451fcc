"""GOV.UK Notify on AWS (moto): the callbacks on the API function URL, the key and token from
SSM SecureStrings, and the poller's Notify channels and read-back tasks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from releasewatch.acks.by_reply import ReplyPoller
from releasewatch.aws import notify as aws_notify
from releasewatch.aws.notify import DynamoCursor
from releasewatch.aws.poller import build_poller
from releasewatch.aws.settings import PollerSettings
from releasewatch.clock import FixedClock
from releasewatch.errors import ConfigError
from releasewatch.notify.govuk_notify import NotifyNotifier
from releasewatch.notify.receipts import ReceiptPoller
from releasewatch.notify.ses import SesNotifier
from releasewatch.notify.sns import SnsSmsNotifier
from releasewatch.store.dynamodb import DynamoDBStore
from releasewatch.store.dynamodb_table import create_table, dynamodb_client
from tests import aws_calls
from tests.factories import DUE, make_notification
from tests.fakes import RecordingNotifier
from tests.integration.lambda_support import LambdaContext, import_handler, load_event
from tests.notify_fake import API_KEY, EMAIL_TEMPLATE, SECRET, SERVICE_ID, SMS_TEMPLATE
from tests.notify_support import TOKEN, notify_release

REGION = "eu-west-2"
TABLE = "releasewatch-notify-test"
SMS_KEY = "lms-2025-07|alert|1|0|web_publisher|notify_sms"
NOTIFY_ID = "740e5834-3a29-46b4-9a6f-16142fde533a"
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "TABLE_NAME": TABLE,
    "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
    "NOTIFY_CALLBACK_TOKEN_PARAMETER": "/releasewatch/notify-callback-token",
    "POWERTOOLS_SERVICE_NAME": "releasewatch",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[DynamoDBStore]:
    from releasewatch.aws.secure_parameters import PARAMETERS

    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    PARAMETERS.clear()  # SSM values are kept 5 minutes: not from other tests
    with mock_aws():
        ssm = boto3.client("ssm", region_name=REGION)
        ssm.put_parameter(Name=ENV["ACK_SECRET_PARAMETER"], Value="k" * 40, Type="SecureString")
        ssm.put_parameter(
            Name=ENV["NOTIFY_CALLBACK_TOKEN_PARAMETER"], Value=TOKEN, Type="SecureString"
        )
        ssm.put_parameter(Name="/releasewatch/notify-api-key", Value=API_KEY, Type="SecureString")
        create_table(dynamodb_client(REGION), TABLE)
        store = DynamoDBStore(TABLE)
        store.apply_releases([notify_release()], DUE)
        n = make_notification(
            contact_id="web_publisher", channel="notify_sms", step=1, due_at=DUE + 10 * M
        )
        store.claim(n, "poller", DUE + 10 * M, timedelta(minutes=2))
        store.mark_sent(n.key, "poller", DUE + 10 * M, f"notify:{NOTIFY_ID}")
        yield store
    PARAMETERS.clear()


M = timedelta(minutes=1)


def call(api: ModuleType, event: dict[str, Any]) -> dict[str, Any]:
    api.clock = FixedClock(DUE + 10 * M + timedelta(seconds=8))
    context = LambdaContext(
        clock=api.clock, deadline=DUE + 11 * M, function_name="releasewatch-Api"
    )
    response: dict[str, Any] = api.lambda_handler(event, context)
    return response


def test_a_receipt_on_the_function_url_is_recorded(aws: DynamoDBStore) -> None:
    api = import_handler("api")
    response = call(api, load_event("function_url_notify_receipt"))
    assert response["statusCode"] == 200, response
    assert json.loads(response["body"]) == {"status": "recorded"}
    [d] = [d for d in aws.deliveries("lms-2025-07") if d.key == SMS_KEY]
    assert (d.receipt, d.delivered_at) == ("delivered", DUE + 10 * M + timedelta(seconds=7))


def test_a_receipt_with_the_wrong_token_is_refused(aws: DynamoDBStore) -> None:
    api = import_handler("api")
    event = load_event("function_url_notify_receipt")
    event["headers"]["authorization"] = "Bearer something-else-entirely"
    response = call(api, event)
    assert response["statusCode"] == 401
    [d] = [d for d in aws.deliveries("lms-2025-07") if d.key == SMS_KEY]
    assert d.receipt is None


def test_without_a_callback_token_the_routes_are_not_there(
    aws: DynamoDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_CALLBACK_TOKEN_PARAMETER", "")
    api = import_handler("api")
    assert call(api, load_event("function_url_notify_receipt"))["statusCode"] == 404


def test_a_reply_on_the_function_url_is_handled(aws: DynamoDBStore) -> None:
    api = import_handler("api")
    event = load_event("function_url_notify_receipt")
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/notify/inbound"
    event["body"] = json.dumps(
        {
            "id": "b51f638b-4295-46e0-a06e-cd41eee7c33b",
            "source_number": "447700900555",
            "destination_number": "07700900999",
            "message": "ACK 1234",
            "date_received": "2025-07-17T08:41:00.000000Z",
        }
    )
    response = call(api, event)
    assert (response["statusCode"], json.loads(response["body"])) == (
        200,
        {"status": "unknown_number"},
    )


def poller_env(**extra: str) -> dict[str, str]:
    return {
        "TABLE_NAME": TABLE,
        "SENDER_EMAIL": "rw@example.com",
        "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
        "NOTIFY_API_KEY_PARAMETER": "/releasewatch/notify-api-key",
        "NOTIFY_EMAIL_TEMPLATE_ID": EMAIL_TEMPLATE,
        "NOTIFY_SMS_TEMPLATE_ID": SMS_TEMPLATE,
        "NOTIFY_TRANSPORT": "notify",
        **extra,
    }


def test_the_poller_sends_through_notify_with_the_key_from_ssm(aws: DynamoDBStore) -> None:
    settings = PollerSettings.from_env(poller_env(NOTIFY_CALLBACK_TOKEN_PARAMETER=""))
    plain = RecordingNotifier()
    poller = build_poller(
        settings, clock=FixedClock(DUE), store=aws, notifiers={"email": plain, "sms": plain}
    )
    notifiers = poller.watchdog.notifiers
    assert {c: type(n) for c, n in notifiers.items()} == {
        "email": NotifyNotifier,
        "sms": NotifyNotifier,
        "notify_email": NotifyNotifier,
        "notify_sms": NotifyNotifier,
    }
    sms = notifiers["notify_sms"]
    assert isinstance(sms, NotifyNotifier)
    key = sms.client._key()  # read from SSM when a message is sent, not at the cold start
    assert (key.service_id, key.secret) == (SERVICE_ID, SECRET)
    # no callback token: receipts and replies are read back after each tick
    assert [type(t) for t in poller.watchdog.after_tick] == [ReceiptPoller, ReplyPoller]


def test_the_read_back_runs_after_every_tick_idle_ones_too(
    aws: DynamoDBStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (a poller with nothing to read back makes its watchdog only when a release is due)
    ran: list[object] = []
    monkeypatch.setattr(
        aws_notify, "notify_for_poller", lambda *_: ({}, [lambda _, now: ran.append(now)])
    )
    create_table(dynamodb_client(REGION), "releasewatch-notify-idle")
    idle = DynamoDBStore("releasewatch-notify-idle")  # nothing due
    settings = PollerSettings.from_env(poller_env(NOTIFY_CALLBACK_TOKEN_PARAMETER=""))
    poller = build_poller(settings, clock=FixedClock(DUE), store=idle)
    report = poller.run(lambda: 60_000)
    assert (report.ticks, report.releases) == (1, 0) and ran == [DUE]


def test_reading_a_receipt_back_is_within_the_pollers_role(aws: DynamoDBStore) -> None:
    # What the poller runs after a tick without a callback, as the poller function: the IAM
    # check judges its calls (the awaiting-index's Query, the items' read, the receipt's
    # write) against the poller's role in template.yaml.
    notify_id = "6f4c5d1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f"
    n = make_notification("lms-2025-07", contact_id="stats_team", channel="notify_email")
    aws.claim(n, "w1", DUE, timedelta(minutes=1))
    aws.mark_sent(n.key, "w1", DUE, f"notify:{notify_id}")

    class Notify:
        def notification(self, asked: str) -> dict[str, str]:
            assert asked == notify_id
            return {"status": "delivered", "completed_at": "2025-07-17T08:41:00.000000Z"}

    with aws_calls.RECORDER.running("poller"):
        read = ReceiptPoller(Notify()).poll(aws, DUE + M)  # type: ignore[arg-type]
    assert read == 1
    [d] = [d for d in aws.deliveries(n.release_id) if d.key == n.key]
    assert d.receipt == "delivered"


def test_with_callbacks_the_poller_reads_nothing_back(aws: DynamoDBStore) -> None:
    env = poller_env(NOTIFY_CALLBACK_TOKEN_PARAMETER="/releasewatch/notify-callback-token")
    poller = build_poller(PollerSettings.from_env(env), clock=FixedClock(DUE), store=aws)
    assert poller.watchdog.after_tick == []


def test_a_stack_without_notify_keeps_ses_and_sns(aws: DynamoDBStore) -> None:
    env = poller_env(NOTIFY_API_KEY_PARAMETER="")
    poller = build_poller(PollerSettings.from_env(env), clock=FixedClock(DUE), store=aws)
    notifiers = poller.watchdog.notifiers
    # email and SMS stay on SES and SNS; no Notify channel, nothing read back after a tick
    # (Teams and Slack post to the contact's webhook and need no AWS permission either way)
    assert set(notifiers) == {"email", "sms", "teams", "slack"}
    assert isinstance(notifiers["email"], SesNotifier)
    assert isinstance(notifiers["sms"], SnsSmsNotifier)
    assert poller.watchdog.after_tick == []


def test_a_notify_key_without_templates_fails_the_cold_start_by_name() -> None:
    with pytest.raises(ConfigError) as caught:
        PollerSettings.from_env(poller_env(NOTIFY_SMS_TEMPLATE_ID=""))
    assert "notify_api_key_parameter is set" in str(caught.value).lower()
    assert "notify_sms_template_id" in str(caught.value).lower()


def test_the_received_texts_cursor_round_trips_on_the_table(aws: DynamoDBStore) -> None:
    cursor = DynamoCursor(aws.client, TABLE)
    assert cursor.load() == {}
    cursor.save({"id": "abc", "at": "2025-07-17T08:41:00.000000Z"})
    assert cursor.load() == {"id": "abc", "at": "2025-07-17T08:41:00.000000Z"}
    # not a release: no query of releases sees it
    assert [r.id for r in aws.all_releases()] == ["lms-2025-07"]
