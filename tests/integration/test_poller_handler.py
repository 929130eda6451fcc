"""The poller Lambda handler under moto: real DynamoDB, SES and SNS (moto), a scripted page and
a fixed clock. Events are shaped like the schedule's."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends
from moto.sns.models import sns_backends

from releasewatch.aws.poller import LEASE_MARGIN, Lazy, Poller, build_poller
from releasewatch.aws.settings import PollerSettings
from releasewatch.clock import FixedClock
from releasewatch.errors import ConfigError, SendError, StoreError
from releasewatch.model import ReleaseRecord, ReleaseState
from releasewatch.notify.base import Message
from releasewatch.notify.ses import SesNotifier
from releasewatch.store.dynamodb import DynamoDBStore
from releasewatch.store.dynamodb_table import create_table, dynamodb_client
from tests.factories import CONTACTS, DUE, make_release
from tests.fakes import RecordingNotifier, ScriptedProber
from tests.integration.lambda_support import (
    LambdaContext,
    import_handler,
    load_event,
    poller_env,
)

REGION = "eu-west-2"
TABLE = "releasewatch-poller-test"
SENDER = "releasewatch@example.com"
LIVE_AT = DUE + timedelta(hours=2, minutes=30)  # 12:00 BST, as in the incident

ENV = poller_env(TABLE, SENDER, REGION)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        create_table(dynamodb_client(REGION), TABLE)
        boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
        yield


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(DUE + timedelta(minutes=6))  # 09:36 BST: the page is missing


@pytest.fixture
def prober(clock: FixedClock) -> ScriptedProber:
    return ScriptedProber(clock, lambda now: now >= LIVE_AT)


@pytest.fixture
def handler(aws: None, clock: FixedClock, prober: ScriptedProber) -> ModuleType:
    """The handler module, its container-wide poller built on moto with our clock and page."""
    # Imported the day before (a release applied "later" than a test's tick would sleep)
    DynamoDBStore(TABLE).apply_releases([make_release()], DUE - timedelta(days=1))
    module = import_handler("poller")
    module.poller = Lazy(
        lambda: build_poller(PollerSettings.from_env(), clock=clock, prober=prober)
    )
    return module


def invoke(module: ModuleType, clock: FixedClock, event: str = "eventbridge_scheduled") -> Any:
    context = LambdaContext(clock=clock, deadline=clock.now() + timedelta(seconds=60))
    result = module.lambda_handler(load_event(event), context)
    return result, context


def sent_emails() -> list[Any]:
    return list(ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages)


def sent_sms() -> list[tuple[str, str]]:
    return list(sns_backends[DEFAULT_ACCOUNT_ID][REGION].sms_messages.values())


def emf(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if '"_aws"' in line]


def test_a_scheduled_tick_emails_the_stats_team_and_beats(
    handler: ModuleType, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the page is still missing six minutes after 09:30
    # WHEN the schedule invokes the poller
    result, _ = invoke(handler, clock)
    # THEN the stats team's inbox got the alert through SES, and nobody else yet
    emails = sent_emails()
    assert [m.destinations["ToAddresses"] for m in emails] == [[CONTACTS["stats_team"].email]]
    assert sent_sms() == []
    # ...the release is recorded as late in DynamoDB
    record = DynamoDBStore(TABLE).get_release("lms-2025-07")
    assert record is not None and record.state == ReleaseState.LATE
    # ...and a healthy invocation sends no custom metric at all (each costs $0.30 a month):
    # the stopped-poller alarm reads Lambda's free Invocations metric instead
    assert emf(capsys.readouterr().out) == []
    assert result["sent"] == 1 and result["checks"] >= 1


def test_the_same_minute_delivered_twice_sends_nothing_twice(
    handler: ModuleType, clock: FixedClock
) -> None:
    # GIVEN the web publisher is due an SMS and an email (09:40)
    clock.set(DUE + timedelta(minutes=10, seconds=5))
    invoke(handler, clock, "scheduler_invoke")
    first = (len(sent_emails()), len(sent_sms()))
    assert first[1] == 1
    # WHEN the scheduler delivers the same event again (at least once) in the same minute
    clock.set(DUE + timedelta(minutes=10, seconds=5))
    invoke(handler, clock, "scheduler_invoke")
    # THEN nothing more was sent
    assert (len(sent_emails()), len(sent_sms())) == first


def test_the_hot_window_is_repolled_within_one_invocation(
    handler: ModuleType, clock: FixedClock, prober: ScriptedProber
) -> None:
    # GIVEN it is one minute before the due time (the hot window: every 10 s)
    clock.set(DUE - timedelta(minutes=1))
    # WHEN one invocation runs
    result, context = invoke(handler, clock)
    # THEN the page was probed several times within the minute...
    assert prober.calls >= 4
    assert result["ticks"] == prober.calls
    # ...and the invocation stopped with time to spare (the reserve), not at the deadline
    assert min(context.remaining_seen) >= 20_000


def test_far_from_the_due_time_one_tick_is_enough(
    handler: ModuleType, clock: FixedClock, prober: ScriptedProber
) -> None:
    clock.set(DUE - timedelta(hours=3))
    result, _ = invoke(handler, clock)
    # (a release polled every 15 minutes keeps no invocation open waiting for it)
    assert result["ticks"] == 1
    assert prober.calls <= 1


def test_claims_outlive_the_invocation(
    aws: None, clock: FixedClock, prober: ScriptedProber
) -> None:
    # GIVEN a poller whose email channel looks at the claim at the moment of sending
    store = DynamoDBStore(TABLE)
    store.apply_releases([make_release()], clock.now())
    context = LambdaContext(clock=clock, deadline=clock.now() + timedelta(seconds=60))
    seen: list[tuple[timedelta, timedelta]] = []

    class LeaseSpy:
        def __init__(self) -> None:
            self.inner = SesNotifier(SENDER)

        def send(self, message: Message) -> str:
            (claim,) = [d for d in store.deliveries("lms-2025-07") if d.key == message.key]
            assert claim.lease_until is not None
            left = timedelta(milliseconds=context.get_remaining_time_in_millis())
            seen.append((claim.lease_until - clock.now(), left))
            return self.inner.send(message)

    module = import_handler("poller")
    settings = PollerSettings.from_env()
    module.poller = Lazy(
        lambda: build_poller(
            settings, clock=clock, prober=prober, notifiers={"email": LeaseSpy(), "sms": LeaseSpy()}
        )
    )
    # WHEN it sends the stats team's alert
    module.lambda_handler(load_event("eventbridge_scheduled"), context)
    # THEN the claim's lease ran beyond the invocation's deadline, with the margin
    assert len(seen) == 1
    lease_left, invocation_left = seen[0]
    assert lease_left >= invocation_left + LEASE_MARGIN - timedelta(seconds=1)


class BrokenTable(DynamoDBStore):
    """The table cannot be read (throttled, deleted, permissions), quoting a contact."""

    def due_releases(self, now):  # type: ignore[no-untyped-def]
        raise StoreError(f"table unavailable while reading {CONTACTS['web_publisher'].phone}")


def test_a_tick_that_fails_as_a_whole_is_logged_counted_and_not_a_heartbeat(
    aws: None, clock: FixedClock, prober: ScriptedProber, capfd: pytest.CaptureFixture[str]
) -> None:
    module = import_handler("poller")
    store = BrokenTable(TABLE)
    module.poller = Lazy(
        lambda: build_poller(PollerSettings.from_env(), clock=clock, prober=prober, store=store)
    )
    powertools = module.logger.registered_handler
    logged = io.StringIO()
    previous = powertools.setStream(logged)
    try:
        with pytest.raises(StoreError):  # the invocation fails: Errors alarm, retry, DLQ
            invoke(module, clock)
    finally:
        powertools.setStream(previous)
    out, err = capfd.readouterr()
    lines = [json.loads(x) for x in logged.getvalue().splitlines() if x.startswith("{")]
    (failed,) = [x for x in lines if x.get("message") == "poll failed"]
    assert "table unavailable" in failed["reason"]
    blobs = emf(out + logged.getvalue())
    assert metric(blobs, "Problems") == [1], blobs
    assert "7700900" not in out + err + logged.getvalue()


def test_a_missing_environment_variable_is_named(
    aws: None, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    monkeypatch.delenv("TABLE_NAME")
    monkeypatch.delenv("SENDER_EMAIL")
    module = import_handler("poller")
    with pytest.raises(ConfigError) as caught:
        invoke(module, clock)
    assert {p.path for p in caught.value.problems} == {"TABLE_NAME", "SENDER_EMAIL"}


def test_the_watchdog_is_made_by_the_first_tick_with_a_release_due(
    aws: None, clock: FixedClock, prober: ScriptedProber, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An idle tick is one read of what is due: the watchdog (the models, policy, notifiers:
    most of a cold start) is made by the first tick that finds a release due, which judges
    what that read found, with the same reads as a poller whose watchdog was made at once."""

    def reads_of(poller: Poller) -> list[datetime]:
        reads: list[datetime] = []
        read = poller.store.due_releases

        def counted(now: datetime) -> list[ReleaseRecord]:
            reads.append(now)
            return read(now)

        monkeypatch.setattr(poller.store, "due_releases", counted)
        return reads

    start = clock.now()
    lazy = build_poller(PollerSettings.from_env(), clock=clock, prober=prober)
    lazy_reads = reads_of(lazy)
    # GIVEN nothing is due: the tick reads, finds nothing and makes no watchdog
    report = lazy.run(lambda: 60_000)
    assert (report.ticks, report.releases, lazy.watchdog_made) == (1, 0, False)
    assert sent_emails() == []
    # WHEN the release is applied (due 6 minutes ago) and the schedule invokes it again
    other = "releasewatch-poller-made"
    create_table(dynamodb_client(REGION), other)
    for table in (TABLE, other):
        DynamoDBStore(table).apply_releases([make_release()], DUE - timedelta(days=1))
    lazy_reads.clear()
    report = lazy.run(lambda: 60_000)
    # THEN that tick made the watchdog, judged the release late and alerted the stats team
    assert lazy.watchdog_made and report.releases == 1
    assert [(rid, b) for rid, _, b in report.transitions] == [("lms-2025-07", "late")]
    assert len(sent_emails()) == 1
    # ...reading what is due no more often than a poller made with its watchdog
    monkeypatch.setenv("TABLE_NAME", other)
    clock.set(start)
    made = build_poller(PollerSettings.from_env(), clock=clock, prober=prober)
    assert made.watchdog is not None and made.watchdog_made
    made_reads = reads_of(made)
    made_report = made.run(lambda: 60_000)
    assert made_report.summary() == report.summary() and len(sent_emails()) == 2
    assert [t - start for t in lazy_reads] == [t - start for t in made_reads]


def test_the_attempt_bound_comes_from_the_environment(
    aws: None, monkeypatch: pytest.MonkeyPatch, clock: FixedClock
) -> None:
    assert build_poller(PollerSettings.from_env(), clock=clock).watchdog.max_attempts == 3
    monkeypatch.setenv("MAX_ATTEMPTS", "5")
    assert build_poller(PollerSettings.from_env(), clock=clock).watchdog.max_attempts == 5
    monkeypatch.setenv("MAX_ATTEMPTS", "0")
    with pytest.raises(ConfigError) as caught:
        PollerSettings.from_env()
    assert [p.path for p in caught.value.problems] == ["MAX_ATTEMPTS"]


def test_logs_carry_no_address(
    handler: ModuleType,
    clock: FixedClock,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock.set(DUE + timedelta(minutes=10, seconds=5))
    # Powertools' logger keeps the stream it found when the module was first imported (in
    # some earlier test's capture), and the level an earlier test's environment gave it:
    # point it here, at INFO, for this invocation.
    caplog.set_level(logging.INFO, logger="releasewatch")
    powertools = handler.logger.registered_handler
    logged = io.StringIO()
    previous = powertools.setStream(logged)
    try:
        invoke(handler, clock)
    finally:
        powertools.setStream(previous)
    # One readouterr (a second returns nothing: stderr was never checked before)
    out, err = capfd.readouterr()
    assert "poll finished" in logged.getvalue()  # what is checked is the invocation's output
    text = out + err + logged.getvalue() + caplog.text
    for contact in CONTACTS.values():
        for address in (contact.email, contact.phone):
            if address:
                assert address not in text
    assert "7700900" not in text and "@example.com" not in text


ACK_BASE = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-2.on.aws/"


@pytest.fixture
def fresh_parameters() -> Iterator[None]:
    """SSM values (and the SSM client) are kept per process: start clean."""
    from releasewatch.aws.secure_parameters import PARAMETERS

    PARAMETERS.clear()
    yield
    PARAMETERS.clear()


def _poller_with_links(clock: FixedClock, prober: ScriptedProber) -> ModuleType:
    # Imported the day before (a release applied "later" than a test's tick would sleep)
    DynamoDBStore(TABLE).apply_releases([make_release()], DUE - timedelta(days=1))
    module = import_handler("poller")
    settings = PollerSettings.from_env()
    module.poller = Lazy(lambda: build_poller(settings, clock=clock, prober=prober))
    return module


def test_alerts_carry_ack_links_signed_with_the_ssm_secret(
    aws: None,
    fresh_parameters: None,
    monkeypatch: pytest.MonkeyPatch,
    clock: FixedClock,
    prober: ScriptedProber,
) -> None:
    # GIVEN the ack secret in SSM and the API's function URL in the environment
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/releasewatch/ack-secret", Value="s3cr3t-" * 6, Type="SecureString"
    )
    monkeypatch.setenv("ACK_BASE_URL", ACK_BASE)
    module = _poller_with_links(clock, prober)
    # WHEN the stats team is alerted
    invoke(module, clock)
    # THEN the email carries an acknowledge link to the function URL
    (email,) = sent_emails()
    assert ACK_BASE.rstrip("/") + "/a/" in email.body


def test_a_missing_ack_secret_never_silences_an_alert(
    aws: None,
    fresh_parameters: None,
    monkeypatch: pytest.MonkeyPatch,
    clock: FixedClock,
    prober: ScriptedProber,
) -> None:
    monkeypatch.setenv("ACK_BASE_URL", ACK_BASE)  # ...but no parameter was created
    module = _poller_with_links(clock, prober)
    invoke(module, clock)
    (email,) = sent_emails()
    assert "lambda-url" not in email.body


def metric(blobs: list[dict[str, Any]], name: str) -> list[float]:
    """The values of one EMF metric across an invocation's blobs (each a number or a list)."""
    values: list[float] = []
    for blob in blobs:
        value = blob.get(name)
        if value is not None:
            values.extend(value if isinstance(value, list) else [value])
    return values


# On AWS the role refuses the send too (only SenderEmail may send): a permanent failure either way
@pytest.mark.iam_refuses("ses:SendEmail")
def test_a_permanent_failure_is_a_problem_for_its_alarm(
    aws: None, clock: FixedClock, prober: ScriptedProber, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN SES refuses the sender (not a verified identity): the stats team's alert cannot go
    # Imported the day before (a release applied "later" than a test's tick would sleep)
    DynamoDBStore(TABLE).apply_releases([make_release()], DUE - timedelta(days=1))
    module = import_handler("poller")
    notifiers = {"email": SesNotifier("not-verified@example.org"), "sms": SesNotifier(SENDER)}
    module.poller = Lazy(
        lambda: build_poller(
            PollerSettings.from_env(), clock=clock, prober=prober, notifiers=notifiers
        )
    )
    capsys.readouterr()
    # WHEN the poller runs
    result, _ = invoke(module, clock)
    # THEN the failure is a permanent one, counted in the metric the alarm reads
    blobs = emf(capsys.readouterr().out)
    assert result["failed_permanently"] == 1
    assert metric(blobs, "Problems") == [1]
    (blob,) = [b for b in blobs if "Problems" in b]
    # the dimension and namespace the template's ProblemsAlarm reads
    assert blob["service"] == "releasewatch"
    assert blob["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "Releasewatch"
    assert blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]


@pytest.mark.parametrize(
    ("failing_attempts", "failed", "problems"),
    [(1, 1, []), (2, 2, [1])],
    ids=["a first failure, then sent: retried quietly", "a retry failing again: a problem"],
)
def test_a_retry_that_fails_again_is_a_problem_but_a_first_failure_is_not(
    aws: None,
    clock: FixedClock,
    prober: ScriptedProber,
    capsys: pytest.CaptureFixture[str],
    failing_attempts: int,
    failed: int,
    problems: list[int],
) -> None:
    # GIVEN SES throttles the stats team's alert for its first attempt(s), transiently
    # Imported the day before (a release applied "later" than a test's tick would sleep)
    DynamoDBStore(TABLE).apply_releases([make_release()], DUE - timedelta(days=1))
    module = import_handler("poller")
    calls = {"n": 0}

    def throttle(message: Message) -> SendError | None:
        calls["n"] += 1
        return SendError("Throttling: rate exceeded") if calls["n"] <= failing_attempts else None

    notifiers = {"email": RecordingNotifier(fail=throttle), "sms": RecordingNotifier()}
    module.poller = Lazy(
        lambda: build_poller(
            PollerSettings.from_env(), clock=clock, prober=prober, notifiers=notifiers
        )
    )
    capsys.readouterr()
    # WHEN the poller runs (its re-polls retry the alert after the 15 s backoff)
    result, _ = invoke(module, clock)
    # THEN one failure retried quietly is no problem; a retry that fails again is one (the
    # failures are piling up and the alert is late), before any attempt fails for good
    assert (result["failed"], result["failed_permanently"]) == (failed, 0)
    assert metric(emf(capsys.readouterr().out), "Problems") == problems


def test_a_healthy_invocation_emits_no_metric(
    handler: ModuleType, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    invoke(handler, clock)
    assert emf(capsys.readouterr().out) == []


def test_a_release_that_breaks_a_tick_is_a_problem_for_its_alarm(
    handler: ModuleType,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    watchdog = handler.poller().watchdog

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug while settling this release")

    monkeypatch.setattr(watchdog, "_settle", broken)
    capsys.readouterr()
    result, _ = invoke(handler, clock)
    assert result["errors"] >= 1
    assert metric(emf(capsys.readouterr().out), "Problems") == [result["errors"]]


def test_a_missing_ack_secret_is_logged_and_counted_every_invocation_until_fixed(
    aws: None,
    fresh_parameters: None,
    monkeypatch: pytest.MonkeyPatch,
    clock: FixedClock,
    prober: ScriptedProber,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN the function URL is known but the SSM parameter was never created
    monkeypatch.setenv("ACK_BASE_URL", ACK_BASE)
    module = _poller_with_links(clock, prober)
    capsys.readouterr()
    # WHEN the poller runs twice in the same container
    for minute in (6, 7):
        caplog.clear()
        clock.set(DUE + timedelta(minutes=minute))
        result, _ = invoke(module, clock)
        # THEN each invocation counts it for the alarm and logs it by name
        assert metric(emf(capsys.readouterr().out), "Problems") == [1]
        assert result["ack_links"] is False
        problems = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
        assert any("/releasewatch/ack-secret" in p and "ParameterNotFound" in p for p in problems)
    # ...and once an operator creates the parameter, the next alert carries its link
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/releasewatch/ack-secret", Value="s3cr3t-" * 6, Type="SecureString"
    )
    clock.set(DUE + timedelta(minutes=10, seconds=5))
    result, _ = invoke(module, clock)
    assert result["ack_links"] is True
    assert emf(capsys.readouterr().out) == []
    first, *later = sent_emails()
    assert "lambda-url" not in first.body
    assert later and all(ACK_BASE.rstrip("/") + "/a/" in m.body for m in later)


def test_each_invocation_records_its_tick_time_for_health(
    handler: ModuleType, clock: FixedClock
) -> None:
    from releasewatch.aws.heartbeat import TickMarker

    marker = TickMarker(dynamodb_client(REGION), TABLE)
    assert marker.last() is None
    invoke(handler, clock)
    assert marker.last() == clock.now()
    clock.set(clock.now() + timedelta(minutes=1))
    invoke(handler, clock)
    assert marker.last() == clock.now()


def test_sms_spend_near_the_accounts_limit_is_a_problem_every_invocation(
    aws: None,
    monkeypatch: pytest.MonkeyPatch,
    clock: FixedClock,
    prober: ScriptedProber,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the stack says the limit is $1 and 80 % is a problem, and SNS reports $0.85 spent
    monkeypatch.setenv("SMS_MONTHLY_SPEND_LIMIT_USD", "1")
    monkeypatch.setenv("SMS_SPEND_ALARM_PERCENT", "80")
    boto3.client("cloudwatch", region_name=REGION).put_metric_data(
        Namespace="AWS/SNS",
        MetricData=[
            {
                "MetricName": "SMSMonthToDateSpentUSD",
                "Value": 0.85,
                "Timestamp": clock.now() - timedelta(minutes=20),
            }
        ],
    )
    # Imported the day before (a release applied "later" than a test's tick would sleep)
    DynamoDBStore(TABLE).apply_releases([make_release()], DUE - timedelta(days=1))
    module = import_handler("poller")
    module.poller = Lazy(
        lambda: build_poller(PollerSettings.from_env(), clock=clock, prober=prober)
    )
    # WHEN the poller runs two minutes in a row
    for minute in (6, 7):
        clock.set(DUE + timedelta(minutes=minute))
        capsys.readouterr()
        result, _ = invoke(module, clock)
        # THEN each invocation counts it for the Problems alarm (one reading, kept)
        assert result["sms_spend_ok"] is False
        assert metric(emf(capsys.readouterr().out), "Problems") == [1]
