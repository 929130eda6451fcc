"""At least once, bounded duplicates: proven the way Alertmanager's cluster test does it.

Each test runs with a recording fake provider and again through the GOV.UK Notify channels
against the loopback fake of Notify (tests/notify_fake.py): there, what Notify accepted is what
counts, and a crash can happen either side of its HTTP answer.

Every run is compared with a reference run of the same timeline by a single worker: any
count mismatch fails — a key missing is a lost alert, a key twice is a duplicate SMS at 3 a.m.
The only duplicate allowed is the one the contract allows: a crash after the provider accepted
a message and before the store recorded it as sent. And a provider that accepts every message
and then reports failure gets each one exactly the attempt bound (3) times: never more.
The same runs again with Teams in the chain, through the real Teams notifier: a Workflows
webhook stand-in counts each card it accepts (and checks it against the card schema).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releasewatch.config.load import _on_transport
from releasewatch.errors import SendError
from releasewatch.model import Chain, Channel, Contact, Release, Webhook
from releasewatch.notify.base import Message, Notifier
from releasewatch.notify.govuk_notify import NotifyClient, NotifyKey, NotifyNotifier, NotifySettings
from releasewatch.notify.teams import TeamsNotifier
from releasewatch.notify.webhook import WebhookPoster, WebhookSecrets
from releasewatch.service import Watchdog
from releasewatch.store.base import Store
from releasewatch.store.memory import InMemoryStore
from releasewatch.store.sqlite import SQLiteStore
from tests.factories import CONTACTS, DEFAULT_CHAIN, DUE, make_release
from tests.fakes import FixedClock, RecordingNotifier, ScriptedProber
from tests.notify_fake import API_KEY, EMAIL_TEMPLATE, SMS_TEMPLATE, FakeNotify, serve_notify
from tests.webhook_support import teams_problems

pytestmark = pytest.mark.slow  # run first: see tests/conftest.py

M = timedelta(minutes=1)
LEASE = timedelta(minutes=2)
AFTER_ACCEPT = {"send:after", "mark_sent"}


class Crash(BaseException):
    """A process dying: not an Exception, so no handler in the tick can swallow it."""


@dataclass
class CrashPlan:
    crash_at: int | None = None
    steps: int = 0
    crashed: str | None = None
    crashed_key: str | None = None

    def step(self, label: str, key: str | None = None) -> None:
        if self.crashed is None and self.steps == self.crash_at:
            self.crashed, self.crashed_key = label, key
            raise Crash(label)
        self.steps += 1


class CrashingStore:
    """Proxies a Store, dying before a chosen call (the write never happens)."""

    def __init__(self, inner: Store, plan: CrashPlan) -> None:
        self._inner, self._plan = inner, plan

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            key = args[0] if name == "mark_sent" else None
            self._plan.step(name, key)
            return target(*args, **kwargs)

        return call


@dataclass
class Provider:
    """The outside world: what SES/SNS accepted. Crashes can happen either side of acceptance."""

    plan: CrashPlan
    accepted: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    # Accepts every message, then reports a transient failure (an SMTP server that keeps the
    # message and drops the connection before confirming): the worst case for duplicates.
    fail_after_accept: bool = False
    problems: list[str] = field(default_factory=list)  # cards Teams would not have shown

    def notifier(self) -> RecordingNotifier:
        provider = self

        class Notifier(RecordingNotifier):
            def send(self, message: Message) -> str:
                provider.plan.step("send:before", message.key)
                with provider.lock:
                    provider.accepted.append(message.key)
                provider.plan.step("send:after", message.key)
                if provider.fail_after_accept:
                    raise SendError("connection dropped before the reply", permanent=False)
                return "ok"

        return Notifier()

    def teams_notifier(self) -> TeamsNotifier:
        """The real Teams notifier, its posts answered by a Workflows stand-in in memory: the
        webhook is the provider here, so acceptance is counted where the card arrives."""
        provider = self
        current = threading.local()

        def workflow(request: httpx.Request) -> httpx.Response:
            problems = teams_problems(request.content)
            with provider.lock:
                provider.accepted.append(current.key)
                provider.problems.extend(problems)
            if provider.fail_after_accept:
                raise httpx.ReadError("connection dropped before the reply", request=request)
            return httpx.Response(202 if not problems else 400)

        env = {"RW_TEAMS_STATS": WEBHOOK, "RW_TEAMS_ALICE": WEBHOOK + "&who=alice"}
        poster = WebhookPoster(
            "Teams", secrets=WebhookSecrets(env=env), transport=httpx.MockTransport(workflow)
        )
        inner = TeamsNotifier(poster)

        class Notifier(RecordingNotifier):
            def send(self, message: Message) -> str:
                provider.plan.step("send:before", message.key)
                current.key = message.key
                inner.send(message)  # a transient failure raises: the service retries it
                provider.plan.step("send:after", message.key)
                return "ok"

        return Notifier()


WEBHOOK = "https://prod-00.uksouth.logic.azure.com/workflows/x/triggers/manual/paths/invoke?sig=s"
# The incident's chain with Teams beside email and SMS: the team's channel hears the first
# step, the web publisher gets a card as well as the SMS and email.
TEAMS_CONTACTS = {
    **CONTACTS,
    "stats_channel": Contact(
        id="stats_channel",
        name="Labour market team channel",
        teams=Webhook(webhook_env="RW_TEAMS_STATS"),
    ),
    "web_publisher": CONTACTS["web_publisher"].model_copy(
        update={"teams": Webhook(webhook_env="RW_TEAMS_ALICE")}
    ),
}
_steps = list(DEFAULT_CHAIN.steps)
_steps[0] = _steps[0].model_copy(
    update={"notify": ("stats_team", "stats_channel"), "channels": ("email", "teams")}
)
_steps[1] = _steps[1].model_copy(update={"channels": ("sms", "email", "teams")})
TEAMS_CHAIN = Chain(id="teams", steps=tuple(_steps))


def release_for(teams: bool) -> Release:
    return make_release(chain=TEAMS_CHAIN, contacts=TEAMS_CONTACTS) if teams else make_release()


def notifiers_for(provider: Provider, teams: bool) -> dict[str, RecordingNotifier]:
    chosen = {"email": provider.notifier(), "sms": provider.notifier()}
    if teams:
        chosen["teams"] = provider.teams_notifier()
    return chosen


@dataclass
class NotifyProvider:
    """GOV.UK Notify (the loopback fake) as the outside world: accepted = what Notify kept."""

    plan: CrashPlan
    fake: FakeNotify
    base_url: str
    clock: FixedClock

    @property
    def accepted(self) -> list[str]:
        return [m.reference or "" for m in self.fake.sent]

    def notifiers(self) -> dict[Channel, Notifier]:
        client = NotifyClient(NotifyKey.parse(API_KEY), self.clock, base_url=self.base_url)
        settings = NotifySettings(EMAIL_TEMPLATE, SMS_TEMPLATE, base_url=self.base_url)
        plan = self.plan

        class Crashable:
            def __init__(self, medium: str) -> None:
                self.inner = NotifyNotifier(client, settings, medium)
                self.accepts_replies = self.inner.accepts_replies

            def send(self, message: Message) -> str:
                plan.step("send:before", message.key)
                try:
                    return self.inner.send(message)
                finally:  # accepted (or refused after accepting): a crash here duplicates
                    plan.step("send:after", message.key)

        email, sms = Crashable("email"), Crashable("sms")
        # defaults.transport: notify: the chain's channels are notify_*, and what policy sends
        # by plain email/sms (reports, ack notices) goes through Notify too.
        return {"notify_email": email, "notify_sms": sms, "email": email, "sms": sms}


def notify_release() -> Any:
    release = make_release()
    steps = tuple(_on_transport(s, "notify") for s in release.chain.steps)
    return release.model_copy(update={"chain": release.chain.model_copy(update={"steps": steps})})


StoreMaker = Callable[[], Store]
# Each guarantee is proven with plain email and SMS, with Teams beside them, and through
# GOV.UK Notify (the loopback fake).
VARIANTS = ["plain", "teams", "notify"]
VARIANT_KW = {v: {"notify": v == "notify", "teams": v == "teams"} for v in VARIANTS}


def store_makers(tmp_path: Path) -> dict[str, StoreMaker]:
    shared = InMemoryStore()
    return {"memory": lambda: shared, "sqlite": lambda: SQLiteStore(tmp_path / "rw.db")}


def timeline(live_after: timedelta | None, step: timedelta, end: timedelta) -> list[datetime]:
    times, t = [], DUE - 20 * M
    while t <= DUE + end:
        times.append(t)
        t += step
    return times


def run(
    make_store: StoreMaker,
    live_after: timedelta | None,
    ticks: list[datetime],
    *,
    workers: int = 1,
    crash_at: int | None = None,
    fail_after_accept: bool = False,
    notify: bool = False,
    teams: bool = False,
) -> tuple[list[str], CrashPlan]:
    if notify:
        clock = FixedClock(ticks[0])
        fake = FakeNotify(now=clock.now, fail_after_accept=fail_after_accept)
        with serve_notify(fake) as url:
            provider = NotifyProvider(CrashPlan(crash_at=crash_at), fake, url, clock)
            return _run(make_store, live_after, ticks, workers, clock, provider, notify_release())
    clock = FixedClock(ticks[0])
    plain = Provider(CrashPlan(crash_at=crash_at), fail_after_accept=fail_after_accept)
    return _run(make_store, live_after, ticks, workers, clock, plain, release_for(teams), teams)


def _run(
    make_store: StoreMaker,
    live_after: timedelta | None,
    ticks: list[datetime],
    workers: int,
    clock: FixedClock,
    provider: Provider | NotifyProvider,
    release: Any,
    teams: bool = False,
) -> tuple[list[str], CrashPlan]:
    plan = provider.plan
    setup = make_store()
    setup.apply_releases([release], clock.now())
    live_at = None if live_after is None else DUE + live_after
    prober = ScriptedProber(clock, lambda now: live_at is not None and now >= live_at)
    if isinstance(provider, NotifyProvider):
        notifiers: dict[Channel, Notifier] | dict[str, RecordingNotifier] = provider.notifiers()
    else:
        notifiers = notifiers_for(provider, teams)

    def watchdog(store: Store) -> Watchdog:
        # A fresh Watchdog is a fresh process: a new owner, nothing remembered but the store.
        return Watchdog(CrashingStore(store, plan), prober, notifiers, clock, lease=LEASE)  # type: ignore[arg-type]

    def one_tick(store: Store, barrier: threading.Barrier | None) -> None:
        if barrier is not None:
            barrier.wait()
        with contextlib.suppress(Crash):  # the "process" died; the next tick is a restart
            asyncio.run(watchdog(store).tick())

    # Quiesce: keep ticking past the last lease so anything claimed and lost is finished.
    extra = [ticks[-1] + LEASE + M * k for k in range(1, 4)]
    for at in ticks + extra:
        clock.set(at)
        if workers == 1:
            one_tick(setup, None)
            continue
        barrier = threading.Barrier(workers)
        stores = [make_store() for _ in range(workers)]
        threads = [threading.Thread(target=one_tick, args=(s, barrier)) for s in stores]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert getattr(provider, "problems", []) == [], "a card Teams would not show"
    return list(provider.accepted), plan


def assert_same_deliveries(
    actual: list[str], expected: list[str], allowed_duplicate: str | None = None
) -> None:
    assert Counter(expected) == Counter(set(expected)), "the reference itself sent a duplicate"
    counts = Counter(actual)
    missing = set(expected) - set(actual)
    unexpected = set(actual) - set(expected)
    duplicates = {k: n for k, n in counts.items() if n > 1}
    if allowed_duplicate is not None and duplicates.get(allowed_duplicate) == 2:
        del duplicates[allowed_duplicate]
    assert not missing, f"lost notifications: {sorted(missing)}"
    assert not unexpected, f"notifications the reference never sent: {sorted(unexpected)}"
    assert not duplicates, f"duplicates: {duplicates}"


@pytest.mark.parametrize(
    ("backend", "variant"),
    [
        ("memory", "plain"),
        ("sqlite", "plain"),
        ("memory", "teams"),
        ("sqlite", "teams"),
        ("sqlite", "notify"),
    ],
)
def test_overlapping_ticks_never_send_twice(tmp_path: Path, backend: str, variant: str) -> None:
    kw = VARIANT_KW[variant]
    teams = kw["teams"]
    ticks = timeline(timedelta(hours=2, minutes=30), timedelta(seconds=30), timedelta(hours=3))
    reference, _ = run(InMemoryStore, timedelta(hours=2, minutes=30), ticks, **kw)
    assert len(reference) > 30  # the incident: plenty of alerts, repeats, resolution, reports
    if teams:  # the team channel's card, the publisher's cards and their resolution
        assert len([k for k in reference if k.endswith("|teams")]) > 10
    maker = store_makers(tmp_path)[backend]
    actual, _ = run(maker, timedelta(hours=2, minutes=30), ticks, workers=4, **kw)
    assert_same_deliveries(actual, reference)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    live_minutes=st.one_of(st.none(), st.integers(min_value=-30, max_value=200)),
    step_seconds=st.sampled_from([20, 45, 60, 90]),
    workers=st.integers(min_value=2, max_value=4),
    backend=st.sampled_from(["memory", "sqlite"]),
)
def test_concurrent_ticks_over_generated_timelines_match_a_single_worker(
    tmp_path_factory: pytest.TempPathFactory,
    live_minutes: int | None,
    step_seconds: int,
    workers: int,
    backend: str,
) -> None:
    live_after = None if live_minutes is None else timedelta(minutes=live_minutes)
    ticks = timeline(live_after, timedelta(seconds=step_seconds), timedelta(hours=3, minutes=30))
    reference, _ = run(InMemoryStore, live_after, ticks)
    maker = store_makers(tmp_path_factory.mktemp("race"))[backend]
    actual, _ = run(maker, live_after, ticks, workers=workers)
    assert_same_deliveries(actual, reference)


def _crash_run(
    make_store: StoreMaker,
    crash_at: int,
    ticks: list[datetime],
    live_after: timedelta,
    notify: bool = False,
    teams: bool = False,
) -> None:
    reference, steps = _reference(tuple(ticks), live_after, notify, teams)
    actual, plan = run(make_store, live_after, ticks, crash_at=crash_at, notify=notify, teams=teams)
    assert plan.crashed is not None, f"step {crash_at} of {steps} was never reached"
    allowed = plan.crashed_key if _after_accept(plan, reference) else None
    assert_same_deliveries(actual, reference, allowed_duplicate=allowed)


def _after_accept(plan: CrashPlan, messages: list[str]) -> bool:
    """Whether the crash came after the provider accepted a message: not a crash marking a
    marker sent (a reply code's record, acks/by_reply.py), which no provider ever saw."""
    return plan.crashed in AFTER_ACCEPT and plan.crashed_key in set(messages)


@functools.lru_cache(maxsize=8)
def _reference(
    ticks: tuple[datetime, ...], live_after: timedelta, notify: bool, teams: bool = False
) -> tuple[list[str], int]:
    """A single worker's run without crashes (the same for every crash point: computed once)."""
    reference, counted = run(InMemoryStore, live_after, list(ticks), notify=notify, teams=teams)
    return reference, counted.steps


# The busiest tick of the incident: the web publisher's first SMS and email at 09:40.
BUSY_TICKS = [DUE + 9 * M, DUE + 10 * M] + [
    DUE + 10 * M + k * 30 * timedelta(seconds=1) for k in range(1, 40)
]
LIVE_LATE = timedelta(minutes=25)


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_crash_at_every_step_of_the_busiest_tick_loses_nothing(variant: str) -> None:
    kw = VARIANT_KW[variant]
    ticks = BUSY_TICKS
    # Crash at each step of the second tick (09:40), where three messages are due (four with
    # the publisher's Teams card).
    clock_steps_first_tick = _count_steps(ticks[:1], **kw)
    clock_steps_two_ticks = _count_steps(ticks[:2], **kw)
    assert clock_steps_two_ticks - clock_steps_first_tick >= 15
    for crash_at in range(clock_steps_first_tick, clock_steps_two_ticks):
        _crash_run(InMemoryStore, crash_at, ticks, LIVE_LATE, **kw)


def _count_steps(ticks: list[datetime], notify: bool = False, teams: bool = False) -> int:
    """Steps taken by the ticks themselves (without run()'s quiesce ticks)."""
    clock = FixedClock(ticks[0])
    plan = CrashPlan()
    with contextlib.ExitStack() as stack:
        notifiers: dict[Channel, Notifier] | dict[str, RecordingNotifier]
        if notify:
            fake = FakeNotify(now=clock.now)
            url = stack.enter_context(serve_notify(fake))
            notifiers = NotifyProvider(plan, fake, url, clock).notifiers()
            release = notify_release()
        else:
            notifiers = notifiers_for(Provider(plan), teams)
            release = release_for(teams)
        store = InMemoryStore()
        store.apply_releases([release], clock.now())
        prober = ScriptedProber(clock, lambda now: now >= DUE + LIVE_LATE)
        dog = Watchdog(CrashingStore(store, plan), prober, notifiers, clock, lease=LEASE)  # type: ignore[arg-type]
        for at in ticks:
            clock.set(at)
            asyncio.run(dog.tick())
    return plan.steps


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_crash_anywhere_in_the_incident_loses_nothing(data: st.DataObject) -> None:
    ticks = timeline(timedelta(hours=2), timedelta(seconds=60), timedelta(hours=2, minutes=20))
    total = _count_steps(ticks)
    crash_at = data.draw(st.integers(min_value=0, max_value=total - 1), label="crash_at")
    _crash_run(InMemoryStore, crash_at, ticks, timedelta(hours=2))


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_crash_after_the_provider_accepted_is_the_only_duplicate(
    tmp_path: Path, variant: str
) -> None:
    kw = VARIANT_KW[variant]
    teams = kw["teams"]
    ticks = BUSY_TICKS
    start = _count_steps(ticks[:1], **kw)
    end = _count_steps(ticks[:2], **kw)
    reference, _ = run(InMemoryStore, LIVE_LATE, ticks, **kw)
    seen_labels = set()
    teams_crashes = set()
    for crash_at in range(start, end):
        actual, plan = run(
            store_makers(tmp_path / str(crash_at))["sqlite"],
            LIVE_LATE,
            ticks,
            crash_at=crash_at,
            **kw,
        )
        if plan.crashed in AFTER_ACCEPT and (plan.crashed_key or "").endswith("|teams"):
            teams_crashes.add(plan.crashed)
        seen_labels.add(plan.crashed)
        duplicated = {k for k, n in Counter(actual).items() if n > 1}
        if _after_accept(plan, reference):
            assert duplicated == {plan.crashed_key}
        else:
            assert duplicated == set()
        assert set(actual) == set(reference)
    assert {"claim", "send:before", "send:after", "mark_sent"} <= seen_labels
    if teams:  # a Teams card was among those crashed after acceptance, both ways
        assert teams_crashes == AFTER_ACCEPT


@pytest.mark.parametrize(
    ("backend", "workers", "variant"),
    [
        ("memory", 1, "plain"),
        ("memory", 3, "plain"),
        ("sqlite", 3, "plain"),
        ("memory", 1, "teams"),
        ("sqlite", 3, "teams"),
        ("sqlite", 3, "notify"),
    ],
)
def test_a_provider_that_fails_after_accepting_gets_each_message_exactly_the_bound(
    tmp_path: Path, backend: str, workers: int, variant: str
) -> None:
    # GIVEN a provider that keeps every message and then reports a transient failure
    live_after = timedelta(hours=2, minutes=30)
    ticks = timeline(live_after, timedelta(seconds=60), timedelta(hours=3))
    # The messages a healthy provider gets: the failing one must get these and no others
    # (plus each one's fallback on the other channel, as every send fails for good).
    kw = VARIANT_KW[variant]
    teams = kw["teams"]
    healthy, _ = run(InMemoryStore, live_after, ticks, **kw)
    maker = store_makers(tmp_path)[backend]
    # WHEN the incident runs against it, with overlapping ticks (Notify: it keeps the
    # message, then answers 500)
    actual, _ = run(maker, live_after, ticks, workers=workers, fail_after_accept=True, **kw)
    # THEN every message arrived exactly three times: the bound, however many ticks passed
    counts = Counter(actual)
    assert counts and {k: n for k, n in counts.items() if n != 3} == {}
    if teams:  # the Workflow kept each card and dropped the line: three cards, never more
        assert [k for k in counts if k.endswith("|teams")]
    originals = {k.partition(">")[0] for k in counts}
    escalations = {k for k in healthy if "|alert|" in k or "|breach|" in k}
    assert escalations <= originals
    # nobody was ever reached, so nobody is told it resolved
    assert not [k for k in counts if "|resolved|" in k]
