"""Readiness reminders and rotas on AWS: a config with a weekly rota and readiness is pushed,
the poller Lambda's per-minute ticks (moto: DynamoDB, SES, SNS, SSM) ask the one on call the
working day before, escalate, make the last call and page whoever is on call when each step
fires; the confirm link works on the API function URL. Dates are in 2098 (push checks due
times against the real clock): Monday 14 July 2098, 09:30 BST."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from releasewatch.aws.lazy import Lazy
from releasewatch.aws.poller import build_poller
from releasewatch.aws.settings import PollerSettings
from releasewatch.clock import FixedClock
from releasewatch.commands import push
from releasewatch.model import EventKind
from releasewatch.store.dynamodb import DynamoDBStore
from releasewatch.store.dynamodb_table import create_table, dynamodb_client
from releasewatch.timefmt import LONDON
from tests.fakes import ScriptedProber
from tests.integration.lambda_support import LambdaContext, import_handler, load_event

REGION = "eu-west-2"
TABLE = "releasewatch-readiness-aws"
SENDER = "releasewatch@example.com"
FUNCTION_URL = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-2.on.aws/"
SECRET = "readiness-on-aws-secret-0123456789abcdef"
ALICE, BOB = "+447700900101", "+447700900102"

CONFIG = """\
defaults:
  chain: default
  readiness: {{notify: [oncall], escalate_to: [lead]}}
contacts:
  team: {{name: Stats team, email: team@example.com}}
  lead: {{name: Lead official, role: lead_official, email: lead@example.com}}
  alice: {{name: Alice Publisher, email: alice@example.com, phone: "{alice}"}}
  bob: {{name: Bob Publisher, email: bob@example.com, phone: "{bob}"}}
  oncall:
    name: On-call web publisher
    rota:
      weekly:
        - {{days: [fri], from: "08:00", to: "18:00", contact: alice}}
        - {{days: [{monday}], from: "08:00", to: "18:00", contact: bob}}
chains:
  default:
    - {{after: 5m, notify: [team]}}
    - {{after: 10m, channels: [sms], notify: [oncall]}}
releases:
  - id: ipo-monthly
    title: Monthly IPO statistics
    url: https://www.gov.uk/government/statistics/monthly-ipo-statistics-july-2098
    due: 2098-07-14 09:30
"""


def uk(day: int, hh: int, mm: int) -> datetime:
    return datetime(2098, 7, day, hh, mm, tzinfo=LONDON).astimezone(UTC)


FRIDAY = 11
MONDAY = 14


@pytest.fixture
def env(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from releasewatch.aws.secure_parameters import PARAMETERS

    for name, value in {
        "TABLE_NAME": TABLE,
        "SENDER_EMAIL": SENDER,
        "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
        "ACK_BASE_URL": FUNCTION_URL,
        "POWERTOOLS_SERVICE_NAME": "releasewatch",
        "POWERTOOLS_METRICS_NAMESPACE": "Releasewatch",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }.items():
        monkeypatch.setenv(name, value)
    PARAMETERS.clear()  # SSM values are kept 5 minutes per process
    create_table(dynamodb_client(REGION), TABLE)
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/releasewatch/ack-secret", Value=SECRET, Type="SecureString"
    )


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(uk(FRIDAY, 13, 0))


@pytest.fixture
def poller(env: None, clock: FixedClock) -> Iterator[ModuleType]:
    from releasewatch.aws.secure_parameters import PARAMETERS

    prober = ScriptedProber(clock, lambda now: False)  # the page never goes live
    module = import_handler("poller")
    module.poller = Lazy(
        lambda: build_poller(PollerSettings.from_env(), clock=clock, prober=prober)
    )
    yield module
    PARAMETERS.clear()


def pushed(tmp_path: Path, monday: str = "mon") -> None:
    cfg = tmp_path / "rw.yaml"
    cfg.write_text(CONFIG.format(alice=ALICE, bob=BOB, monday=monday))
    parser = argparse.ArgumentParser(prog="releasewatch")
    push.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["push", "--config", str(cfg), "--table", TABLE])
    assert args.func(args) == 0


def tick(module: ModuleType, clock: FixedClock, at: datetime) -> None:
    clock.set(at)
    context = LambdaContext(clock=clock, deadline=at + timedelta(seconds=60))
    module.lambda_handler(load_event("scheduler_invoke"), context)


def emails() -> list[tuple[list[str], str]]:
    sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
    return [(m.destinations["ToAddresses"], m.body) for m in sent]


def texts() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())


def to(address: str) -> list[str]:
    return [body for dest, body in emails() if dest == [address]]


def test_friday_before_a_monday_release_asks_escalates_and_pages_who_is_on_call(
    poller: ModuleType, clock: FixedClock, tmp_path: Path
) -> None:
    pushed(tmp_path)
    # Thursday: nothing yet (Friday is the working day before Monday)
    tick(poller, clock, uk(10, 14, 0))
    assert emails() == [] and texts() == []
    # Friday 14:00: alice, on call on Fridays, is asked, with a confirm link on the function URL
    tick(poller, clock, uk(FRIDAY, 14, 0))
    (reminder,) = to("alice@example.com")
    assert "due at 09:30 on Monday 14 July" in reminder  # not "tomorrow" on a Friday
    assert "as on call for On-call web publisher" in reminder
    assert re.search(re.escape(FUNCTION_URL.rstrip("/")) + r"/c/[A-Za-z0-9_-]+", reminder)
    tick(poller, clock, uk(FRIDAY, 14, 1))
    assert len(emails()) == 1  # asked once, not every minute
    # Friday 16:00, nobody confirmed: the lead official is told
    tick(poller, clock, uk(FRIDAY, 16, 0))
    assert len(to("lead@example.com")) == 1
    # Saturday and Sunday: nothing more
    tick(poller, clock, uk(12, 14, 0))
    tick(poller, clock, uk(13, 16, 0))
    assert len(emails()) == 2
    # Monday 08:30, the last call: the chain's first step is alerted early
    tick(poller, clock, uk(MONDAY, 8, 30))
    assert len(to("team@example.com")) == 1
    # Monday 09:40, the SMS step: bob is on call on Mondays, not alice who was asked on Friday
    tick(poller, clock, uk(MONDAY, 9, 40))
    assert [phone for phone, _ in texts()] == [BOB]


def test_a_confirmation_on_the_function_url_stops_the_escalation(
    poller: ModuleType, clock: FixedClock, tmp_path: Path
) -> None:
    pushed(tmp_path)
    tick(poller, clock, uk(FRIDAY, 14, 0))
    (reminder,) = to("alice@example.com")
    link = re.search(r"/c/[A-Za-z0-9_.~-]+", reminder)
    assert link is not None
    # alice opens the link (GET: a page, nothing recorded), then confirms (POST)
    api = import_handler("api")
    api.clock = clock
    clock.set(uk(FRIDAY, 14, 20))
    context = LambdaContext(clock=clock, deadline=clock.now() + timedelta(seconds=10))
    shown = api.lambda_handler(url_event("GET", link.group(0)), context)
    assert shown["statusCode"] == 200 and "<form" in shown["body"]
    store = DynamoDBStore(TABLE)
    assert [e for e in store.events("ipo-monthly") if e.kind == EventKind.READY_CONFIRMED] == []
    done = api.lambda_handler(url_event("POST", link.group(0)), context)
    assert done["statusCode"] == 200
    (confirmed,) = [e for e in store.events("ipo-monthly") if e.kind == EventKind.READY_CONFIRMED]
    assert confirmed.contact_id == "alice" and confirmed.at == uk(FRIDAY, 14, 20)
    # 16:00 and Monday 08:30 pass: nobody is escalated to, no last call
    tick(poller, clock, uk(FRIDAY, 16, 0))
    tick(poller, clock, uk(MONDAY, 8, 30))
    assert [dest for dest, _ in emails()] == [["alice@example.com"]]


def test_a_rota_gap_at_the_due_time_is_told_days_ahead(
    poller: ModuleType, clock: FixedClock, tmp_path: Path
) -> None:
    # Nobody is on call on Mondays (the Monday shift is on Tuesdays instead)
    pushed(tmp_path, monday="tue")
    tick(poller, clock, uk(7, 10, 0))  # the Monday before: a week ahead
    gap = to("team@example.com")
    assert len(gap) == 1, emails()
    assert "nobody on call" in gap[0]
    assert "09:40 on Monday 14 July (On-call web publisher)" in gap[0]
    tick(poller, clock, uk(8, 10, 0))
    assert len(to("team@example.com")) == 1  # told once, not every tick


def url_event(method: str, path: str) -> dict[str, Any]:
    event = load_event("function_url_status")
    event["rawPath"] = path
    event["requestContext"]["http"].update({"method": method, "path": path})
    return event
