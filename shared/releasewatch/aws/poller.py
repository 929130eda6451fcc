"""One poller invocation: a full tick, then re-polls of the releases whose next check falls
inside this minute (the hot window around the due time: every ~10 s), stopping well before
the Lambda's deadline.

    invocation start                                      next scheduled invocation
    |-- tick --|.. 10 s ..|-- hot tick --|.. ..|-- hot tick --|      (reserve)   |
    0                                                     window_seconds        60 s

Every notification is claimed with a lease that outlives the invocation (remaining time plus
a margin), so a timed-out or retried invocation, or the next one overlapping a slow tick,
can never send it a second time; an unsent claim is picked up again once the lease runs out.

Each tick reads only the releases due (store.due_releases: their wake_at has come). When more
are due this minute than one invocation can judge within the hot interval (SHARD_SIZE), the
scheduled invocation hands the rest to concurrent invocations of itself (aws/shards.py).
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ..clock import Clock, SystemClock
from ..links.urls import Links, NoLinks, SignedLinks
from .heartbeat import TickMarker
from .lazy import Lazy
from .secure_parameters import read_ack_secret
from .settings import PollerSettings
from .sms_spend import SmsSpendWatch

if TYPE_CHECKING:
    # The watchdog (service, policy, the models and pydantic, the notifiers) loads with the
    # first tick that has a release due; the probe package (httpx, selectolax) when a page is
    # first probed.
    from ..model import Channel, ReleaseRecord
    from ..notify.base import Notifier
    from ..probe.base import Prober
    from ..service import TickReport, Watchdog
    from ..store.base import Store
    from .shards import Invoker, Shard, ShardClaims

__all__ = ["AckLinks", "InvocationReport", "Lazy", "Poller", "build_poller"]

log = logging.getLogger("releasewatch.aws")

LEASE_MARGIN = timedelta(seconds=60)
MINUTE = timedelta(seconds=60)


@dataclass
class InvocationReport:
    ticks: int = 0
    releases: int = 0
    checks: int = 0
    live_checks: int = 0
    sent: int = 0
    failed: int = 0
    failed_permanently: int = 0
    failed_retries: int = 0
    errors: int = 0
    transitions: list[tuple[str, str, str]] = field(default_factory=list)
    # Why acknowledge links are missing from this invocation's messages (None: they are not).
    ack_secret_problem: str | None = None
    sms_sent: int = 0
    # This month's SMS spend is near the account's limit, or unreadable (None: neither).
    sms_spend_problem: str | None = None
    shards: int = 0  # shards of this minute's releases handed to other invocations
    shard: str | None = None  # the shard this invocation ran (None: the scheduled one)
    # Why a shard invocation did nothing: "duplicate" (its token was taken: Lambda delivered
    # the event twice) or "stale" (it arrived after its minute); None: it ran.
    skipped: str | None = None

    def add(self, tick: TickReport | None) -> None:
        """Count a tick; None: one that found nothing due (Poller._tick)."""
        self.ticks += 1
        if tick is None:
            return
        self.releases = max(self.releases, tick.releases)
        self.checks += len(tick.checks)
        self.live_checks += sum(1 for c in tick.checks if c.live)
        self.sent += len(tick.sent)
        self.sms_sent += sum(1 for n in tick.sent if n.channel == "sms")
        self.failed += len(tick.failed)
        self.failed_permanently += tick.failed_permanently
        self.failed_retries += tick.failed_retries
        self.errors += len(tick.errors)
        self.transitions.extend((rid, a.value, b.value) for rid, a, b in tick.transitions)

    def problems(self) -> int:
        """What an operator must hear about, as one number for the one custom metric (and its
        alarm): notifications failed for good, retries that failed again (failures piling up),
        releases whose tick raised, a missing or unusable ack-link key, and SMS spend near the
        account's limit. 0 is healthy."""
        secret = 1 if self.ack_secret_problem is not None else 0
        spend = 1 if self.sms_spend_problem is not None else 0
        return self.failed_permanently + self.failed_retries + self.errors + secret + spend

    def summary(self) -> dict[str, Any]:
        """What the handler returns and logs: counts and ids, never an address."""
        return {
            "ticks": self.ticks,
            "releases": self.releases,
            "checks": self.checks,
            "sent": self.sent,
            "failed": self.failed,
            "failed_permanently": self.failed_permanently,
            "failed_retries": self.failed_retries,
            "errors": self.errors,
            "ack_links": self.ack_secret_problem is None,
            "sms_spend_ok": self.sms_spend_problem is None,
            "shards": self.shards,
            "shard": self.shard,
            "skipped": self.skipped,
            "transitions": [f"{rid}: {a} -> {b}" for rid, a, b in self.transitions],
        }


class Poller:
    """`watchdog` makes the Watchdog (on `store`, with `clock`): the first tick that finds a
    release due makes it, or asking for it (the `watchdog` property); until then a tick is one
    read of the releases due. An idle container never makes it: the models, policy and
    notifiers were most of its cold start (issue 19). With `idle_ticks` False every tick runs
    it (it has work after each one: Notify's receipts and replies read back)."""

    def __init__(
        self,
        watchdog: Callable[[], Watchdog],
        settings: PollerSettings,
        *,
        store: Store,
        clock: Clock,
        idle_ticks: bool = True,
        marker: TickMarker | None = None,
        ack_links: AckLinks | None = None,
        sms_spend: SmsSpendWatch | None = None,
        invoker: Invoker | None = None,
        claims: ShardClaims | None = None,
    ) -> None:
        # Made like the container's other long-lived objects (aws/lazy.py: no cycle collection
        # while it is built, then frozen).
        self._watchdog = Lazy(watchdog)
        self.store = store
        self._clock = clock
        self.idle_ticks = idle_ticks
        self.settings = settings
        self.marker = marker
        self.ack_links = ack_links
        self.sms_spend = sms_spend
        # Without an invoker every release due is judged here, however many (local tests).
        self.invoker = invoker
        self.claims = claims
        self._loop: asyncio.AbstractEventLoop | None = None

    @property
    def clock(self) -> Clock:
        return self._clock

    @property
    def watchdog(self) -> Watchdog:
        """The watchdog, made now if no tick has needed it yet."""
        return self._watchdog()

    @property
    def watchdog_made(self) -> bool:
        return self._watchdog.built

    def run(
        self, remaining_ms: Callable[[], int], event: Mapping[str, Any] | None = None
    ) -> InvocationReport:
        """Run one invocation's ticks; `remaining_ms` is context.get_remaining_time_in_millis,
        `event` the invocation's (the schedule's, or a shard's: aws/shards.py).

        One event loop per container, so the prober's connection pools survive between
        invocations (Lambda freezes the process in between; nothing runs on the loop then).
        """
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
            # Closed when this poller goes (in Lambda, at exit): a loop left open and
            # collected in a reference cycle can find its self-pipe socket finalised first,
            # and its __del__ then fails (an unraisable ValueError, seen in the test suite).
            weakref.finalize(self, self._loop.close)
        return self._loop.run_until_complete(self.run_async(remaining_ms, event))

    async def run_async(
        self, remaining_ms: Callable[[], int], event: Mapping[str, Any] | None = None
    ) -> InvocationReport:
        from .shards import Shard

        s = self.settings
        report = InvocationReport()
        shard = Shard.from_event(event)
        mine: Callable[[ReleaseRecord], bool] | None
        if shard is None:
            started = self.clock.now()
            horizon = started + MINUTE
            mine = self._spread(horizon, report)
        else:
            # A shard keeps to its minute: it stops where the scheduled invocation would.
            horizon = shard.horizon
            started = horizon - MINUTE
            report.shard = shard.token
            report.skipped = self._skip(shard)
            if report.skipped is not None:
                log.info("shard %s skipped: %s", shard.token, report.skipped)
                return report
            ids = frozenset(shard.ids)
            mine = lambda record: record.id in ids  # noqa: E731

        if self.ack_links is not None:
            # Every invocation, not once per container: a key created or fixed later is picked
            # up, and a missing one is logged and counted each minute until someone acts.
            report.ack_secret_problem = self.ack_links.refresh()
        report.add(await self._tick(remaining_ms, mine))

        def hot(record: ReleaseRecord) -> bool:
            """Due again before the next invocation, and polled faster than once a minute.

            A release on a minute cadence whose check drifted a few seconds past the minute
            waits for a later invocation instead of keeping this one (and its bill) open.
            """
            nxt = record.next_check_at
            if nxt is None or nxt >= horizon or (mine is not None and not mine(record)):
                return False
            from ..policy import next_check_at

            now = self.clock.now()
            then = next_check_at(record.release, record.state, record.live_at, now)
            return then is not None and then - now < MINUTE

        while True:
            # Sleep until the earliest check due before the next invocation takes over, if any
            # (one Query on the wake-index: the releases due before then, no others).
            now = self.clock.now()
            due = [
                r.next_check_at
                for r in self.store.due_releases(horizon)
                if hot(r) and r.next_check_at is not None
            ]
            if not due:
                break  # nothing is hot this minute: leave it to the next invocation
            wake = max(min(due), now + timedelta(seconds=1))
            delay = (wake - now).total_seconds()
            if (wake - started).total_seconds() > s.window_seconds:
                break
            if remaining_ms() / 1000 - delay < s.reserve_seconds:
                break
            await self.clock.sleep(delay)
            report.add(await self._tick(remaining_ms, hot))
        await self._finish_slow_probes(remaining_ms, report)
        if self.sms_spend is not None and shard is None:
            report.sms_spend_problem = self.sms_spend.check(
                self.clock.now(), sent_sms=report.sms_sent > 0
            )
        self._mark()
        return report

    def _spread(
        self, horizon: datetime, report: InvocationReport
    ) -> Callable[[ReleaseRecord], bool] | None:
        """Hand the releases due this minute beyond SHARD_SIZE to other invocations; returns
        the filter that leaves them alone here (None: this invocation judges every one)."""
        size = self.settings.shard_size
        if self.invoker is None or not size:
            return None
        from .shards import hand_out, plan

        due = [r.id for r in self.store.due_releases(horizon)]
        _, shards = plan(due, size, horizon - MINUTE)
        if not shards:
            return None
        handed = hand_out(shards, self.invoker)
        report.shards = sum(1 for sh in shards if set(sh.ids) <= handed)
        log.info("%d releases due this minute, %d handed out", len(due), len(handed))
        if not handed:
            return None
        return lambda record: record.id not in handed

    def _skip(self, shard: Shard) -> str | None:
        """Why this shard invocation must do nothing, or None."""
        now = self.clock.now()
        if now >= shard.horizon:
            return "stale"  # its minute is over: the scheduled invocations have its releases
        if self.claims is None:
            from .shards import MemoryShardClaims

            self.claims = MemoryShardClaims()
        if not self.claims.claim(shard.token, now):
            return "duplicate"
        return None

    async def _finish_slow_probes(
        self, remaining_ms: Callable[[], int], report: InvocationReport
    ) -> None:
        """Probes that outlived their tick (a slow origin) are waited for while the invocation
        has time to spare, then recorded and acted on by one more tick for their releases. Any
        still running are cancelled: never carried across Lambda's freeze, where an answer
        would be stamped a minute late (a page that seems lost again, a check out of order);
        the next invocation probes afresh."""
        if not self._watchdog.built:
            return  # (nothing was probed)
        pending = self.watchdog.inflight_tasks()
        if not pending:
            return
        spare = remaining_ms() / 1000 - self.settings.reserve_seconds
        if spare > 0:
            await asyncio.wait(pending, timeout=spare)
        finished = self.watchdog.finished_inflight()
        if finished:
            report.add(await self._tick(remaining_ms, lambda r: r.id in finished))
        await self.watchdog.cancel_inflight()

    def _mark(self) -> None:
        """The last completed invocation, for the API's /health (see aws/heartbeat.py)."""
        if self.marker is None:
            return
        try:
            self.marker.record(self.clock.now())
        except Exception:  # the alerts went out; a stale /health will say the rest
            log.exception("could not record the tick time for /health")

    async def _tick(
        self, remaining_ms: Callable[[], int], only: Callable[[ReleaseRecord], bool] | None
    ) -> TickReport | None:
        """The watchdog's tick; None: a tick that found nothing due before any needed the
        watchdog (it is then made, and judges what this one read)."""
        # A claim made in this tick must outlive the whole invocation, whatever is left of it.
        lease = timedelta(milliseconds=remaining_ms()) + LEASE_MARGIN
        if self._watchdog.built or not self.idle_ticks:
            self.watchdog.lease = lease
            return await self.watchdog.tick(only)
        start = self.clock.now()
        due = [r for r in self.store.due_releases(start) if only is None or only(r)]
        if not due:
            return None
        self.watchdog.lease = lease
        return await self.watchdog.tick(only, due=(start, due))


def build_poller(
    settings: PollerSettings,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    notifiers: Mapping[Channel, Notifier] | None = None,
    prober: Prober | None = None,
    links: Links | None = None,
) -> Poller:
    """The AWS composition: DynamoDB, SES and SNS unless given (tests give fakes). The watchdog
    and its notifiers are made when a tick first needs them (Poller)."""
    from ..store.dynamodb import DynamoDBStore

    clock = clock or SystemClock()
    refreshing: AckLinks | None = None
    if links is None:
        if settings.ack_base_url:
            links = refreshing = AckLinks(settings.ack_base_url, settings.ack_secret_parameter)
        else:
            links = NoLinks()
    if store is None:
        store = DynamoDBStore(settings.table_name)
    from .notify import notify_for_poller

    notify, after_tick = notify_for_poller(settings, clock, store)
    table, sign = store, links  # (as set here, for the closure)

    def watchdog() -> Watchdog:
        from ..bootstrap import build_watchdog
        from ..notify.chat import chat_notifiers

        channels = notifiers
        if channels is None:
            from ..notify.ses import SesNotifier
            from ..notify.sns import SnsSmsNotifier

            channels = {
                "email": SesNotifier(
                    settings.sender_email, configuration_set=settings.ses_configuration_set
                ),
                "sms": SnsSmsNotifier(
                    sender_id=settings.sms_sender_id, topic_arn=settings.sms_topic_arn
                ),
                **chat_notifiers(allow_loopback=False, clock=clock),
            }
        # GOV.UK Notify, when configured: notify_email/notify_sms (and email/sms with
        # NOTIFY_TRANSPORT=notify) go there instead.
        channels = {**channels, **notify}
        made = build_watchdog(
            table, channels, clock, prober=prober, links=sign, max_attempts=settings.max_attempts
        )
        made.after_tick.extend(after_tick)
        made.probe_wait = settings.probe_wait_seconds
        return made

    marker = (
        TickMarker(store.client, store.table_name) if isinstance(store, DynamoDBStore) else None
    )
    sms_spend = None
    if settings.sms_monthly_spend_limit_usd is not None:
        sms_spend = SmsSpendWatch(
            settings.sms_monthly_spend_limit_usd, settings.sms_spend_alarm_percent
        )
    invoker, claims = _sharding(settings, store)
    return Poller(
        watchdog,
        settings,
        store=store,
        clock=clock,
        idle_ticks=not after_tick,
        marker=marker,
        ack_links=refreshing,
        sms_spend=sms_spend,
        invoker=invoker,
        claims=claims,
    )


def _sharding(settings: PollerSettings, store: Store) -> tuple[Invoker | None, ShardClaims | None]:
    """Lambda's Invoke on this very function (its name is in AWS_LAMBDA_FUNCTION_NAME) and the
    shard tokens in the table; neither outside Lambda, nor with SHARD_SIZE 0."""
    from ..store.dynamodb import DynamoDBStore
    from .shards import LambdaInvoker, MemoryShardClaims, TableShardClaims

    if not settings.shard_size or not settings.function_name:
        return None, None
    claims: ShardClaims
    if isinstance(store, DynamoDBStore):
        claims = TableShardClaims(store.client, store.table_name)
    else:
        claims = MemoryShardClaims()
    return LambdaInvoker(settings.function_name), claims


class AckLinks:
    """Signed acknowledge links, the key read from SSM (SecureString) at the start of each
    invocation (`refresh`; aws/secure_parameters.py keeps it for 5 minutes).

    Without the key the watchdog still alerts, with messages that carry no ack link: a missing
    parameter must never silence an escalation. `refresh` says why, for the log and the
    Problems metric (and its alarm), every invocation until the parameter is fixed.
    """

    def __init__(
        self,
        base_url: str,
        parameter_name: str,
        read: Callable[[str], bytes] | None = None,
    ) -> None:
        self.base_url = base_url
        self.parameter_name = parameter_name
        self._read = read or read_ack_secret
        self._links: Links = NoLinks()
        self._secret: bytes | None = None

    def refresh(self) -> str | None:
        """Re-read the key; None when links are signed, else the reason (no secret in it)."""
        try:
            secret = self._read(self.parameter_name)
            if secret != self._secret:
                self._links = SignedLinks.from_secret(self.base_url, secret)
                self._secret = secret
        except Exception as exc:
            self._links, self._secret = NoLinks(), None
            problem = unreadable_secret(self.parameter_name, exc)
            log.error("%s: messages go out without acknowledge links", problem)
            return problem
        return None

    def ack_url(self, release_id: str, contact_id: str, step: int, now: datetime) -> str | None:
        return self._links.ack_url(release_id, contact_id, step, now)

    def release_url(self, release_id: str) -> str | None:
        return self._links.release_url(release_id)

    def confirm_url(
        self, release_id: str, contact_id: str, now: datetime, due: datetime
    ) -> str | None:
        return self._links.confirm_url(release_id, contact_id, now, due)


def unreadable_secret(parameter_name: str, exc: BaseException) -> str:
    """Why the key could not be used, naming the parameter and the error, never the value."""
    if isinstance(exc, ValueError):  # read, but too short to sign with
        return f"ack secret {parameter_name} is unusable: {exc}"
    # SSM's error (ParameterNotFound, AccessDenied), or the one a wrapper raised from
    cause = exc.__cause__ or exc.__context__ or exc
    return f"ack secret {parameter_name} is unreadable: {type(cause).__name__}: {cause}"[:300]
