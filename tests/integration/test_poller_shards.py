"""A busy minute on AWS: 300 releases due at once, spread over concurrent poller invocations.

DynamoDB is moto's; Lambda's asynchronous Invoke is faked at the adapter edge (aws/shards.py's
Invoker): the double starts each shard as another "container" (its own Poller and clock) on a
thread of its own, at once, as Lambda's concurrency would, and can deliver an event twice or
lose it, as Lambda's at-least-once asynchronous delivery may.
"""

from __future__ import annotations

import gc
import json
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from datetime import timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from releasewatch.aws.poller import InvocationReport, Lazy, Poller, build_poller
from releasewatch.aws.settings import PollerSettings
from releasewatch.aws.shards import LambdaInvoker, Shard, ShardEventError, TableShardClaims
from releasewatch.clock import FixedClock
from releasewatch.model import Chain, Check, Release, Step
from releasewatch.store.dynamodb import DynamoDBStore
from releasewatch.store.dynamodb_table import create_table, dynamodb_client
from tests.factories import CONTACTS, DUE, make_release
from tests.fakes import RecordingNotifier, ScriptedProber
from tests.integration.aws_stores import make_moto_dynamodb_atomic
from tests.integration.lambda_support import LambdaContext, import_handler, load_event

pytestmark = pytest.mark.slow  # run first: see tests/conftest.py

REGION = "eu-west-2"
TABLE = "releasewatch-shards-test"
BUSY = 300
SHARD = 100
# The delivery-fault tests need shards, not the full peak: a fifth of it, in shards of 20.
SMALL, SMALL_SHARD = 60, 20
NOW = DUE + timedelta(minutes=6)  # the first step (+5 min) has fired for every release
ONE_STEP = Chain(
    id="one",
    steps=(Step(after=timedelta(minutes=5), notify=("stats_team",), channels=("email",)),),
)


class CountingProber(ScriptedProber):
    """Never live; counts the probes of each release."""

    def __init__(self, clock: FixedClock) -> None:
        super().__init__(clock, lambda now: False)
        self.per_release: Counter[str] = Counter()

    async def probe(self, release: Release) -> Check:
        with self._lock:
            self.per_release[release.id] += 1
        return await super().probe(release)


class ThreadInvoker:
    """Lambda's asynchronous Invoke, in-process: each event starts a new poller on a thread
    at once. `copies` delivers each event that many times; `lose` drops the n-th shard."""

    def __init__(self, start: Any, *, copies: int = 1, lose: Sequence[int] = ()) -> None:
        self.start = start
        self.copies = copies
        self.lose = set(lose)
        self.events: list[Mapping[str, Any]] = []
        self.threads: list[threading.Thread] = []
        self.reports: list[InvocationReport] = []

    def invoke(self, event: Mapping[str, Any]) -> None:
        self.events.append(event)
        if len(self.events) - 1 in self.lose:
            return
        for _ in range(self.copies):
            thread = threading.Thread(target=lambda: self.reports.append(self.start(event)))
            thread.start()
            self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(timeout=120)


@pytest.fixture
def table(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    busy: int = getattr(request, "param", BUSY)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    make_moto_dynamodb_atomic()
    with mock_aws():
        client = dynamodb_client(REGION)
        create_table(client, TABLE)
        store = DynamoDBStore(TABLE, client=client)
        releases = [
            make_release(
                id=f"busy-{i:03d}",
                chain=ONE_STEP,
                contacts={"stats_team": CONTACTS["stats_team"]},
            )
            for i in range(busy)
        ]
        store.apply_releases(releases, DUE - timedelta(days=1))
        yield client


def settings_for(shard: int) -> PollerSettings:
    return PollerSettings.from_env(
        {
            "TABLE_NAME": TABLE,
            "SENDER_EMAIL": "releasewatch@example.com",
            "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
            "SHARD_SIZE": str(shard),
            "WINDOW_SECONDS": "0",  # one tick per invocation: each probe here is the minute's
        }
    )


SETTINGS = settings_for(SHARD)


class Minute:
    """Every invocation of one minute: the scheduled one and the shards it starts, each its
    own container (Poller, clock) on the shared table, prober and mailbox."""

    def __init__(
        self,
        client: Any,
        prober: CountingProber,
        email: RecordingNotifier,
        settings: PollerSettings = SETTINGS,
    ) -> None:
        self.client, self.prober, self.email = client, prober, email
        self.settings = settings

    def poller(self, at: Any) -> Poller:
        clock = FixedClock(at)
        self.prober.clock = clock  # every container's clock reads the same instant
        poller = build_poller(
            self.settings,
            clock=clock,
            store=DynamoDBStore(TABLE, client=self.client),
            notifiers={"email": self.email},
            prober=self.prober,
        )
        poller.claims = TableShardClaims(self.client, TABLE)
        return poller

    def run(self, at: Any, **invoker_options: Any) -> tuple[InvocationReport, ThreadInvoker]:
        invoker = ThreadInvoker(
            lambda event: self.poller(at).run(lambda: 55_000, event), **invoker_options
        )
        main = self.poller(at)
        main.invoker = invoker
        report = main.run(lambda: 55_000, {"source": "aws.scheduler"})
        invoker.join()
        return report, invoker


def alerts(email: RecordingNotifier) -> Counter[str]:
    return Counter(m.key for m in email.sent)


def test_300_releases_due_in_one_minute_are_each_probed_and_alerted_once(table: Any) -> None:
    prober, email = CountingProber(FixedClock(NOW)), RecordingNotifier()
    report, invoker = Minute(table, prober, email).run(NOW)
    assert report.shards == BUSY // SHARD - 1  # this invocation kept one share, two handed out
    assert len(invoker.events) == 2 and all(r.skipped is None for r in invoker.reports)
    assert len(prober.per_release) == BUSY and set(prober.per_release.values()) == {1}
    sent = alerts(email)
    assert len(sent) == BUSY and set(sent.values()) == {1}  # one alert per release, once each


@pytest.mark.parametrize("table", [SMALL], indirect=True)
def test_a_shard_delivered_twice_sends_nothing_twice(table: Any) -> None:
    prober, email = CountingProber(FixedClock(NOW)), RecordingNotifier()
    minute = Minute(table, prober, email, settings_for(SMALL_SHARD))
    _, invoker = minute.run(NOW, copies=2)
    shards = SMALL // SMALL_SHARD - 1
    skipped = [r.skipped for r in invoker.reports]
    assert Counter(skipped) == {"duplicate": shards, None: shards}  # each shard ran once
    assert len(prober.per_release) == SMALL
    assert set(prober.per_release.values()) == {1}  # the copy probed nothing either
    sent = alerts(email)
    assert len(sent) == SMALL and set(sent.values()) == {1}


@pytest.mark.parametrize("table", [SMALL], indirect=True)
def test_a_lost_shard_loses_nothing_the_next_minute_picks_it_up(table: Any) -> None:
    prober, email = CountingProber(FixedClock(NOW)), RecordingNotifier()
    minute = Minute(table, prober, email, settings_for(SMALL_SHARD))
    _, invoker = minute.run(NOW, lose=[0])
    lost = set(Shard.from_event(invoker.events[0]).ids)  # type: ignore[union-attr]
    assert len(lost) == SMALL_SHARD and not lost & set(prober.per_release)
    assert len(alerts(email)) == SMALL - SMALL_SHARD
    minute.run(NOW + timedelta(minutes=1))
    assert lost <= set(prober.per_release)  # probed by the next scheduled minute
    sent = alerts(email)
    assert len(sent) == SMALL and set(sent.values()) == {1}


def test_a_shard_arriving_after_its_minute_does_nothing(table: Any) -> None:
    prober, email = CountingProber(FixedClock(NOW)), RecordingNotifier()
    minute = Minute(table, prober, email)
    shard = Shard("late", ("busy-000",), NOW + timedelta(seconds=60))
    report = minute.poller(NOW + timedelta(seconds=61)).run(lambda: 55_000, shard.event())
    assert report.skipped == "stale" and not prober.per_release and not email.sent


def test_a_pollers_event_loop_is_closed_when_the_poller_goes(table: Any) -> None:
    # Each container's poller keeps one loop for its life; a test makes many containers. An
    # open loop collected in a reference cycle can find its self-pipe closed first and fail
    # in __del__, reported against whatever test runs then (seen once, in a browser test).
    minute = Minute(table, CountingProber(FixedClock(NOW)), RecordingNotifier())
    poller = minute.poller(NOW + timedelta(seconds=61))
    stale = Shard("late", ("busy-000",), NOW + timedelta(seconds=60))  # returns at once
    assert poller.run(lambda: 55_000, stale.event()).skipped == "stale"
    loop = poller._loop
    assert loop is not None and not loop.is_closed()
    del poller
    gc.collect()
    assert loop.is_closed()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"token": "", "ids": ["a"], "horizon": NOW.isoformat()}, "token"),
        ({"token": "t", "ids": [], "horizon": NOW.isoformat()}, "ids"),
        ({"token": "t", "ids": ["a"], "horizon": "09:30"}, "horizon"),
    ],
)
def test_a_malformed_shard_event_names_its_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ShardEventError, match=rf"releasewatch_shard\.{field}: expected"):
        Shard.from_event({"releasewatch_shard": body})


# -- through the handler: Lambda's Invoke (moto), the role's permission to call it --------------

FUNCTION = "releasewatch-PollerFunction-0A1B2C3D"  # the name Lambda gives the deployed poller
HANDLER_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
    "TABLE_NAME": TABLE,
    "SENDER_EMAIL": "releasewatch@example.com",
    "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
    "SHARD_SIZE": "2",
    "WINDOW_SECONDS": "0",
    "POWERTOOLS_SERVICE_NAME": "releasewatch",
    "POWERTOOLS_METRICS_NAMESPACE": "Releasewatch",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def test_the_handler_starts_its_shards_through_lambda_invoke_as_its_role_allows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Five releases due, two a shard: the scheduled invocation keeps two and invokes itself
    (InvocationType Event) twice; each event, run by another container, judges its own. The
    IAM check (tests/conftest.py) judges the Invoke against template.yaml's poller role."""
    for name, value in HANDLER_ENV.items():
        monkeypatch.setenv(name, value)
    clock = FixedClock(NOW)
    prober = CountingProber(clock)
    # moto's Lambda without Docker: Invoke is accepted and not run (this test runs the events)
    with mock_aws(config={"lambda": {"use_docker": False}}):  # type: ignore[typeddict-item]
        client = dynamodb_client(REGION)
        create_table(client, TABLE)
        boto3.client("ses", region_name=REGION).verify_email_identity(
            EmailAddress="releasewatch@example.com"
        )
        releases = [
            make_release(
                id=f"busy-{i}", chain=ONE_STEP, contacts={"stats_team": CONTACTS["stats_team"]}
            )
            for i in range(5)
        ]
        DynamoDBStore(TABLE, client=client).apply_releases(releases, DUE - timedelta(days=1))

        def container() -> ModuleType:
            module = import_handler("poller")
            module.poller = Lazy(
                lambda: build_poller(PollerSettings.from_env(), clock=clock, prober=prober)
            )
            return module

        invoked: list[dict[str, Any]] = []
        lambda_client = boto3.client("lambda", region_name=REGION)
        lambda_client.meta.events.register(
            "before-call.lambda.Invoke",
            lambda params, **_: invoked.append(
                {"name": params["url_path"], "event": json.loads(params["body"])}
            ),
        )
        scheduled = container()
        scheduled.poller().invoker = LambdaInvoker(FUNCTION, client=lambda_client)

        def run(module: ModuleType, event: dict[str, Any]) -> Any:
            context = LambdaContext(clock=clock, deadline=clock.now() + timedelta(seconds=60))
            return module.lambda_handler(event, context)

        first = run(scheduled, load_event("eventbridge_scheduled"))
        assert first["shards"] == 2 and len(invoked) == 2
        assert all(FUNCTION in call["name"] for call in invoked)  # itself, nothing else
        assert set(prober.per_release) == {"busy-0", "busy-1"}  # it kept the first two
        for call in invoked:
            report = run(container(), call["event"])
            assert report["skipped"] is None and report["shard"] is not None
        assert set(prober.per_release) == {r.id for r in releases}
        assert set(prober.per_release.values()) == {1}
        sent = ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages
        assert len(sent) == 5  # one alert a release, whichever invocation judged it
