"""SES and SNS notifiers against moto, and their errors mapped as the providers document them."""

from __future__ import annotations

import email
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from releasewatch.errors import SendError
from releasewatch.notify.base import Attachment, Message
from releasewatch.notify.ses import SesNotifier
from releasewatch.notify.sns import SnsSmsNotifier

REGION = "eu-west-2"
SENDER = "releasewatch@example.com"
TEAM = "labour.market@example.com"
PHONE = "+447700900101"


@pytest.fixture
def ses(aws: None) -> Any:
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
    return ses_backends[DEFAULT_ACCOUNT_ID][REGION]


@pytest.fixture
def sns(aws: None) -> Any:
    return sns_backends[DEFAULT_ACCOUNT_ID][REGION]


def email_message(**overrides: Any) -> Message:
    fields: dict[str, Any] = {
        "channel": "email",
        "to": TEAM,
        "contact_id": "stats_team",
        "contact_name": "Labour market statistics team",
        "subject": "Labour market overview not live at 09:35",
        "text": "The page still shows the announcement.",
        "key": "lms-2025-07|alert|0|0|stats_team|email",
    }
    fields.update(overrides)
    return Message(**fields)


def sms_message(**overrides: Any) -> Message:
    fields: dict[str, Any] = {
        "channel": "sms",
        "to": PHONE,
        "contact_id": "web_publisher",
        "contact_name": "Alice Publisher",
        "subject": "Not live",
        "text": "releasewatch: Labour market overview is not live (due 09:30).",
        "key": "lms-2025-07|alert|1|0|web_publisher|sms",
    }
    fields.update(overrides)
    return Message(**fields)


# -- SES --------------------------------------------------------------------------------------


def test_an_email_is_sent_by_ses(ses: Any) -> None:
    # Given: a verified sender
    notifier = SesNotifier(SENDER, client=boto3.client("sesv2", region_name=REGION))
    # When: the stats team is alerted
    message_id = notifier.send(email_message())
    # Then: SES accepted exactly that message, to that inbox, from the sender
    (sent,) = ses.sent_messages
    assert sent.id == message_id
    assert sent.source == SENDER
    assert sent.destinations == {"ToAddresses": [TEAM]}
    assert sent.subject == "Labour market overview not live at 09:35"
    assert "still shows the announcement" in sent.body


def test_an_email_with_html_sends_both_bodies(ses: Any) -> None:
    client = boto3.client("sesv2", region_name=REGION)
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.sesv2.SendEmail", lambda params, **_: calls.append(params)
    )
    SesNotifier(SENDER, client=client, configuration_set="releasewatch").send(
        email_message(html="<p>The page still shows the announcement.</p>")
    )
    body = calls[0]["Content"]["Simple"]["Body"]
    assert body["Text"]["Data"] == "The page still shows the announcement."
    assert body["Html"]["Data"] == "<p>The page still shows the announcement.</p>"
    assert calls[0]["ConfigurationSetName"] == "releasewatch"
    # moto keeps only the HTML body when both are given
    assert "<p>" in ses.sent_messages[0].body


def test_an_email_with_an_attachment_goes_as_raw_mime(ses: Any) -> None:
    # Given: the breach report draft attached to the head of profession's email
    report = Attachment("breach-report.docx", "application/octet-stream", b"PK\x03\x04draft")
    notifier = SesNotifier(SENDER, client=boto3.client("sesv2", region_name=REGION))
    notifier.send(email_message(html="<p>Report attached</p>", attachments=(report,)))
    # Then: SES got one raw message whose MIME parts hold text, HTML and the attachment
    (sent,) = ses.sent_messages
    parsed = email.message_from_string(sent.raw_data)
    assert parsed["From"] == SENDER and parsed["To"] == TEAM
    parts = {p.get_content_type(): p for p in parsed.walk()}
    assert {"text/plain", "text/html", "application/octet-stream"} <= set(parts)
    assert parts["application/octet-stream"].get_filename() == "breach-report.docx"
    assert parts["application/octet-stream"].get_payload(decode=True) == b"PK\x03\x04draft"


def test_an_unverified_sender_is_a_permanent_failure_without_the_address(aws: None) -> None:
    # Given: no verified identity (moto refuses like SES: MessageRejected quoting the address)
    notifier = SesNotifier("nobody@example.org", client=boto3.client("sesv2", region_name=REGION))
    with pytest.raises(SendError) as caught:
        notifier.send(email_message())
    assert caught.value.permanent is True
    assert "MessageRejected" in caught.value.reason
    assert "example.org" not in caught.value.reason
    assert TEAM not in caught.value.reason


SES_ERRORS = [
    ("TooManyRequestsException", 429, False),
    ("LimitExceededException", 400, False),
    ("InternalFailure", 500, False),
    ("ServiceUnavailable", 503, False),
    ("MessageRejected", 400, True),
    ("MailFromDomainNotVerifiedException", 400, True),
    ("AccountSuspendedException", 400, True),
    ("SendingPausedException", 400, True),
    ("NotFoundException", 404, True),
    ("BadRequestException", 400, True),
]


@pytest.mark.parametrize(("code", "status", "permanent"), SES_ERRORS)
def test_ses_errors_are_classified(aws: None, code: str, status: int, permanent: bool) -> None:
    client = boto3.client("sesv2", region_name=REGION)
    notifier = SesNotifier(SENDER, client=client)
    with Stubber(client) as stub:
        stub.add_client_error(
            "send_email",
            service_error_code=code,
            service_message=f"Refused for {TEAM}",
            http_status_code=status,
        )
        with pytest.raises(SendError) as caught:
            notifier.send(email_message())
    assert caught.value.permanent is permanent
    assert code in caught.value.reason
    assert TEAM not in caught.value.reason


# -- SNS --------------------------------------------------------------------------------------


def test_an_sms_is_published_to_the_phone_number(sns: Any) -> None:
    # Given: an SMS notifier with a sender id
    client = boto3.client("sns", region_name=REGION)
    published: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.sns.Publish", lambda params, **_: published.append(params)
    )
    notifier = SnsSmsNotifier(client=client, sender_id="StatsWatch")
    # When: the web publisher is paged
    message_id = notifier.send(sms_message())
    # Then: SNS recorded the text to that number, sent as Transactional with the sender id
    assert sns.sms_messages[message_id] == (
        PHONE,
        "releasewatch: Labour market overview is not live (due 09:30).",
    )
    attributes = published[0]["MessageAttributes"]
    assert attributes["AWS.SNS.SMS.SMSType"]["StringValue"] == "Transactional"
    assert attributes["AWS.SNS.SMS.SenderID"]["StringValue"] == "StatsWatch"


def test_an_sms_is_copied_to_the_topic_without_the_number(sns: Any) -> None:
    client = boto3.client("sns", region_name=REGION)
    topic = client.create_topic(Name="releasewatch-pages")["TopicArn"]
    SnsSmsNotifier(client=client, topic_arn=topic).send(sms_message())
    assert len(sns.sms_messages) == 1
    (copy,) = sns.topics[topic].sent_notifications
    assert "not live" in copy[1]
    assert PHONE not in str(copy)


def test_a_failed_topic_copy_does_not_fail_the_sent_sms(sns: Any) -> None:
    client = boto3.client("sns", region_name=REGION)
    missing = f"arn:aws:sns:{REGION}:{DEFAULT_ACCOUNT_ID}:no-such-topic"
    message_id = SnsSmsNotifier(client=client, topic_arn=missing).send(sms_message())
    assert message_id in sns.sms_messages


SNS_ERRORS = [
    ("Throttling", 400, False),
    ("ThrottledException", 429, False),
    ("ThrottlingException", 400, False),
    ("InternalError", 500, False),
    ("ServiceUnavailable", 503, False),
    ("InvalidParameter", 400, True),
    ("InvalidParameterValue", 400, True),
    ("OptedOut", 400, True),
    ("OptedOutException", 400, True),
    ("EndpointDisabled", 400, True),
    ("AuthorizationError", 403, True),
]


@pytest.mark.parametrize(("code", "status", "permanent"), SNS_ERRORS)
def test_sns_errors_are_classified(aws: None, code: str, status: int, permanent: bool) -> None:
    client = boto3.client("sns", region_name=REGION)
    notifier = SnsSmsNotifier(client=client)
    with Stubber(client) as stub:
        stub.add_client_error(
            "publish",
            service_error_code=code,
            service_message=f"Phone number {PHONE} cannot receive this",
            http_status_code=status,
        )
        with pytest.raises(SendError) as caught:
            notifier.send(sms_message())
    assert caught.value.permanent is permanent
    assert PHONE not in caught.value.reason
    assert "7700900101" not in caught.value.reason


@pytest.mark.parametrize(
    "failure",
    [
        EndpointConnectionError(endpoint_url="https://sns.eu-west-2.amazonaws.com"),
        ConnectTimeoutError(endpoint_url="https://sns.eu-west-2.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://sns.eu-west-2.amazonaws.com"),
    ],
    ids=["endpoint", "connect-timeout", "read-timeout"],
)
def test_network_failures_are_retried_next_tick(aws: None, failure: Exception) -> None:
    # Given: a network that fails every attempt (botocore's own retries are exhausted)
    client = boto3.client("sns", region_name=REGION, config=Config(retries={"max_attempts": 1}))

    def fail(**_: Any) -> None:
        raise failure

    client.meta.events.register_first("before-send.sns.Publish", fail)
    with pytest.raises(SendError) as caught:
        SnsSmsNotifier(client=client).send(sms_message())
    assert caught.value.permanent is False
    assert type(failure).__name__ in caught.value.reason


def test_an_invalid_number_never_reaches_sns_and_is_permanent(aws: None) -> None:
    client = boto3.client("sns", region_name=REGION)
    with pytest.raises(SendError) as caught:
        SnsSmsNotifier(client=client).send(sms_message(to=None))
    assert caught.value.permanent is True


def test_channels_refuse_the_wrong_kind_of_message(aws: None) -> None:
    with pytest.raises(SendError):
        SesNotifier(SENDER, client=boto3.client("sesv2", region_name=REGION)).send(sms_message())
    with pytest.raises(SendError):
        SnsSmsNotifier(client=boto3.client("sns", region_name=REGION)).send(email_message())
