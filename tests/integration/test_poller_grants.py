"""The poller's grants that only some deploys need, each used through the handler in the deploy
that needs it, so the IAM check (tests/conftest.py) judges the call against template.yaml: a
webhook URL read from SSM under WebhookParameterPath (ChatWebhooks), Notify's API key read from
SSM (NotifyApiKey), and an email sent through an SES configuration set (SendEmailAsTheIdentity's
configuration-set resource)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from releasewatch.aws.poller import Lazy, build_poller
from releasewatch.aws.settings import PollerSettings
from releasewatch.clock import FixedClock
from releasewatch.model import Chain, Step, Webhook
from releasewatch.notify import govuk_notify
from releasewatch.notify.teams import TeamsNotifier
from releasewatch.notify.webhook import WebhookPoster
from releasewatch.store.dynamodb import DynamoDBStore
from releasewatch.store.dynamodb_table import create_table, dynamodb_client
from tests.aws_calls import RECORDER
from tests.factories import CONTACTS, DUE, make_release
from tests.fakes import ScriptedProber
from tests.integration.lambda_support import (
    LambdaContext,
    import_handler,
    load_event,
    poller_env,
)
from tests.notify_fake import API_KEY, EMAIL_TEMPLATE, SMS_TEMPLATE, FakeNotify, serve_notify
from tests.notify_support import notify_release
from tests.webhook_support import loopback_webhook

REGION = "eu-west-2"
TABLE = "releasewatch-grants-test"
SENDER = "releasewatch@example.com"
ENV = poller_env(TABLE, SENDER, REGION)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DUE + timedelta(minutes=6))  # the page is missing: the first alert is due


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        create_table(dynamodb_client(REGION), TABLE)
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
        yield


def poller_handler(clock: FixedClock, **composition: Any) -> ModuleType:
    module = import_handler("poller")
    prober = ScriptedProber(clock, lambda now: False)
    module.poller = Lazy(
        lambda: build_poller(PollerSettings.from_env(), clock=clock, prober=prober, **composition)
    )
    return module


def invoke(module: ModuleType, clock: FixedClock) -> dict[str, Any]:
    context = LambdaContext(clock=clock, deadline=clock.now() + timedelta(seconds=60))
    result: dict[str, Any] = module.lambda_handler(load_event("scheduler_invoke"), context)
    return result


def put_secure(name: str, value: str) -> None:
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=name, Value=value, Type="SecureString"
    )


def test_a_teams_alert_reads_its_webhook_from_ssm_under_the_stacks_path(
    aws: None, clock: FixedClock
) -> None:
    # GIVEN the stats team's Teams webhook kept in SSM under WebhookParameterPath's default
    teams = Webhook(webhook_ssm="/releasewatch/webhooks/stats")
    contacts = {"stats_team": CONTACTS["stats_team"].model_copy(update={"teams": teams})}
    first = Step(after=timedelta(minutes=5), notify=("stats_team",), channels=("teams",))
    release = make_release(contacts=contacts, chain=Chain(id="teams", steps=(first,)))
    DynamoDBStore(TABLE).apply_releases([release], clock.now())
    with loopback_webhook("teams") as server:
        put_secure("/releasewatch/webhooks/stats", server.url())
        # (the deployed poller refuses a loopback webhook: this receiver is on 127.0.0.1)
        poster = WebhookPoster("Teams", allow_loopback=True, clock=clock)
        result = invoke(poller_handler(clock, notifiers={"teams": TeamsNotifier(poster)}), clock)
    # THEN the card went to the URL read from SSM, by the handler, with the role's grant
    assert result["sent"] == 1 and len(server.posts) == 1, result
    assert server.problems() == []


def test_a_notify_alert_reads_the_api_key_from_ssm(
    aws: None, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a stack deployed with Notify (its API key an SSM SecureString) and a release whose
    # first step emails through Notify
    monkeypatch.setenv("NOTIFY_API_KEY_PARAMETER", "/releasewatch/notify-api-key")
    monkeypatch.setenv("NOTIFY_EMAIL_TEMPLATE_ID", EMAIL_TEMPLATE)
    monkeypatch.setenv("NOTIFY_SMS_TEMPLATE_ID", SMS_TEMPLATE)
    put_secure("/releasewatch/notify-api-key", API_KEY)
    DynamoDBStore(TABLE).apply_releases([notify_release()], clock.now())
    fake = FakeNotify(now=clock.now)
    with serve_notify(fake) as base_url:

        class LoopbackNotify(govuk_notify.NotifyClient):
            """Notify's client, sent to the fake on 127.0.0.1 instead of Notify's API."""

            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **{**kwargs, "base_url": base_url})

        monkeypatch.setattr(govuk_notify, "NotifyClient", LoopbackNotify)
        result = invoke(poller_handler(clock), clock)
    # THEN Notify accepted the email, signed with the key read from SSM
    assert result["sent"] == 1 and len(fake.sent) == 1, result
    assert fake.refused == []


def test_an_email_goes_out_through_the_ses_configuration_set(
    aws: None, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a stack deployed with SesConfigurationSet (SES's delivery events, say)
    monkeypatch.setenv("SES_CONFIGURATION_SET", "releasewatch-events")
    boto3.client("sesv2", region_name=REGION).create_configuration_set(
        ConfigurationSetName="releasewatch-events"
    )
    DynamoDBStore(TABLE).apply_releases([make_release()], clock.now())
    result = invoke(poller_handler(clock), clock)
    # THEN the alert was sent naming the set, which IAM authorises as a resource of its own
    assert result["sent"] == 1, result
    resources = {r.resource for call in RECORDER.calls for r in call.requests}
    configuration_set = f"arn:aws:ses:{REGION}:123456789012:configuration-set/releasewatch-events"
    assert configuration_set in resources
