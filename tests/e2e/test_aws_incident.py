"""The incident, replayed on AWS as deployed: the poller Lambda handler, invoked every minute,
against moto in server mode (a real HTTP endpoint on 127.0.0.1; the handler's botocore clients
reach it through AWS_ENDPOINT_URL) with a controlled clock.

09:30 BST  the release is due; the page still shows the announcement
09:35      stats team inbox (SES)
09:40      on-call web publisher: SMS (SNS) and email, repeated every 10 minutes
10:00      lead official (SES)
10:30      head of profession: breach notice (SES)
12:00      the page goes live: resolution to everybody alerted, breach report drafted
"""

from __future__ import annotations

import itertools
import json
import logging
import urllib.request
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from moto.server import ThreadedMotoServer

from releasewatch.aws.poller import Lazy, build_poller
from releasewatch.aws.settings import PollerSettings
from releasewatch.clock import FixedClock
from releasewatch.model import DeliveryStatus, NotificationKind, ReleaseState
from releasewatch.store.dynamodb import DynamoDBStore
from releasewatch.store.dynamodb_table import create_table, dynamodb_client
from tests.factories import CONTACTS, DUE, make_release
from tests.fakes import ScriptedProber
from tests.integration.lambda_support import LambdaContext, import_handler, load_event

pytestmark = pytest.mark.slow

REGION = "eu-west-2"
TABLE = "releasewatch-e2e"
SENDER = "releasewatch@example.com"
LIVE_AT = datetime(2025, 7, 17, 11, 0, tzinfo=UTC)  # 12:00 BST
MINUTE = timedelta(minutes=1)
LONDON = ZoneInfo("Europe/London")


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def aws(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    env = {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "TABLE_NAME": TABLE,
        "SENDER_EMAIL": SENDER,
        "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
        "POWERTOOLS_SERVICE_NAME": "releasewatch",
        "POWERTOOLS_METRICS_NAMESPACE": "Releasewatch",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    urllib.request.urlopen(urllib.request.Request(f"{moto_server}/moto-api/reset", method="POST"))
    create_table(dynamodb_client(REGION), TABLE)
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
    yield moto_server


def recorded(server: str) -> dict[str, Any]:
    with urllib.request.urlopen(f"{server}/moto-api/data.json") as response:
        data: dict[str, Any] = json.load(response)
    return data


def emails(server: str) -> list[str]:
    """Recipient of every email SES accepted (simple and raw)."""
    ses = recorded(server)["ses"]
    simple = [m["destinations"]["ToAddresses"][0] for m in ses.get("Message", [])]
    raw = [m["destinations"][0] for m in ses.get("RawMessage", [])]
    return simple + raw


def sms(server: str) -> list[str]:
    return [m["phone_number"] for m in recorded(server)["sns"].get("SMS", [])]


@pytest.fixture
def lambda_poller(aws: str) -> tuple[ModuleType, FixedClock]:
    clock = FixedClock(DUE - timedelta(minutes=16))  # 09:14 BST
    DynamoDBStore(TABLE).apply_releases([make_release()], clock.now())
    module = import_handler("poller")
    settings = PollerSettings.from_env()
    prober = ScriptedProber(clock, lambda now: now >= LIVE_AT)
    module.poller = Lazy(lambda: build_poller(settings, clock=clock, prober=prober))
    return module, clock


def invoke_at(module: ModuleType, clock: FixedClock, when: datetime) -> dict[str, Any]:
    clock.set(when)
    context = LambdaContext(clock=clock, deadline=when + timedelta(seconds=60))
    result: dict[str, Any] = module.lambda_handler(load_event("eventbridge_scheduled"), context)
    return result


def test_the_incident_on_aws(lambda_poller: tuple[ModuleType, FixedClock], aws: str) -> None:
    module, clock = lambda_poller
    store = DynamoDBStore(TABLE)

    # GIVEN the schedule fires every minute from 09:14 BST
    when = clock.now()
    duplicate_checked = []
    while when <= LIVE_AT + timedelta(minutes=35):
        invoke_at(module, clock, when)
        if when in (DUE + timedelta(minutes=10), DUE + timedelta(minutes=60)):
            # WHEN the same minute is delivered twice (a retry, at-least-once delivery)
            before = (Counter(emails(aws)), Counter(sms(aws)))
            invoke_at(module, clock, when)
            # THEN nothing is sent twice
            assert (Counter(emails(aws)), Counter(sms(aws))) == before
            duplicate_checked.append(when)
        when += MINUTE
    assert len(duplicate_checked) == 2

    deliveries = store.deliveries("lms-2025-07")
    sent = [d for d in deliveries if d.status == DeliveryStatus.SENT]

    def first_sent(kind: NotificationKind, contact: str, channel: str) -> datetime:
        times = [
            d.sent_at
            for d in sent
            if d.notification.kind == kind
            and d.notification.contact_id == contact
            and d.notification.channel == channel
            and d.sent_at is not None
        ]
        assert times, f"no {kind.value} {channel} to {contact}"
        return min(times)

    def bst_on_the_day(hh: int, mm: int) -> datetime:
        return datetime(2025, 7, 17, hh, mm, tzinfo=LONDON)

    # THEN the chain fired on time, by SES and SNS
    assert first_sent(NotificationKind.ALERT, "stats_team", "email") == bst_on_the_day(9, 35)
    assert first_sent(NotificationKind.ALERT, "web_publisher", "sms") == bst_on_the_day(9, 40)
    assert first_sent(NotificationKind.ALERT, "lead_official", "email") == bst_on_the_day(10, 0)
    assert first_sent(NotificationKind.BREACH, "head_of_profession", "email") == bst_on_the_day(
        10, 30
    )
    # ...the resolution followed the page going live at 12:00, to each person alerted
    resolved = {d.notification.contact_id for d in sent if d.notification.kind == "resolved"}
    assert resolved == {"stats_team", "web_publisher", "lead_official", "head_of_profession"}
    assert first_sent(NotificationKind.RESOLVED, "stats_team", "email") == bst_on_the_day(12, 0)
    # ...and the head of profession got the breach report to file
    reports = {d.notification.contact_id for d in sent if d.notification.kind == "report"}
    assert "head_of_profession" in reports

    # ...SES and SNS recorded exactly the messages the table says were sent, no more
    sent_by_channel = Counter(d.notification.channel for d in sent)
    assert len(emails(aws)) == sent_by_channel["email"]
    assert len(sms(aws)) == sent_by_channel["sms"]
    assert set(sms(aws)) == {CONTACTS["web_publisher"].phone}
    assert Counter(emails(aws))[CONTACTS["stats_team"].email] >= 2  # alert, then resolution
    # ...and the web publisher's SMS repeated every 10 minutes until 12:00, not after
    sms_times = sorted(
        d.sent_at
        for d in sent
        if d.notification.channel == "sms" and d.notification.kind == "alert" and d.sent_at
    )
    assert sms_times[0] == bst_on_the_day(9, 40)
    assert sms_times[-1] <= bst_on_the_day(12, 0)
    assert all(b - a == timedelta(minutes=10) for a, b in itertools.pairwise(sms_times))

    # ...the table's final state: live late, live at 12:00 BST, nothing left pending
    record = store.get_release("lms-2025-07")
    assert record is not None
    assert record.state == ReleaseState.LIVE_LATE
    assert record.live_at == LIVE_AT
    assert not [d for d in deliveries if d.status in (DeliveryStatus.CLAIMED, DeliveryStatus.RETRY)]
