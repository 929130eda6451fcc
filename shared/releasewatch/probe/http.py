"""HttpProber: cache-busting, guarded, bounded probing of release pages with httpx.

Every request gets a fresh cache-busting query parameter (unless the release switches it off)
and `Cache-Control: no-cache` / `Pragma: no-cache`, because GOV.UK's CDN caches 404s too: a
404 seen at 09:31 may be five minutes old. Redirects are followed here, hop by hop, so the SSRF
guard (netguard) checks every hop and every hop is busted afresh.

Limits: connect/read/total timeouts, at most `max_redirects` redirects, at most
`max_body_bytes` of body read, a global concurrency limit and a per-host one. AsyncClients
per event loop and address policy (production only ever uses the strict one), made lazily.

Requests go through ProbeTransport (transport.py): HTTP/1.1 on asyncio streams with the SSRF
guard at connect time. httpx's own transport spent more CPU per request than the network time
the busiest minute waits for (tests/bench/bench_fanout.py).

The public path: when the origin (cache-busted) does not show the release live, the same probe
is sent again as the public sees it (no parameter, no no-cache headers; `public_path`). At
09:30 an overloaded origin may answer with an error page while the CDN already serves the
publication; a CDN cannot serve what the origin never had, so this release's publication there
(the same rules and edition checks) proves it live. Both answers go on the Check. An origin that
answers cleanly that the release is not live (a 404, the announcement, ONS's "upcoming" page)
has the public path asked beside it about once a PUBLIC_RECHECK per release, each release at
its own moment of the minute (recheck.py): a copy the CDN still serves after the origin lost
it is caught within that time, and at the busiest minute most checks cost one request, not
two, spread evenly over the rounds (asking every time would halve how often each release is
checked within the politeness budget). An origin that fails has it asked every time.

Every request, on either path, takes a slot of its host's politeness budget (budget.py) first;
the time spent waiting for one is added to the probe's total timeout, which bounds the
network, not the queue. A 429 pauses the host for its Retry-After.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
import secrets
import ssl
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal, NamedTuple

import httpcore
import httpx

from .. import __version__
from ..clock import Clock
from ..errors import ProbeRefused
from ..model import Check, PublicCopy, Release
from .base import Fetched, Outcome
from .budget import HostBudget, HostPaused
from .decoding import (
    ACCEPT_ENCODING,
    BadEncoding,
    BodyTooLarge,
    UnsupportedEncoding,
    parse_encodings,
    read_decoded,
)
from .discover import Discovery, probe_release
from .netguard import (
    AddressPolicy,
    GuardedBackend,
    Resolver,
    SystemResolver,
    UnresolvableHost,
    check_url,
    policy_for,
)
from .page import judge
from .recheck import PUBLIC_RECHECK, public_recheck_due
from .transport import ProbeTransport

log = logging.getLogger(__name__)

DEFAULT_USER_AGENT = f"releasewatch/{__version__} (+https://github.com/releasewatch)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Headers that ask caches for a fresh answer: sent on the origin path only.
NO_CACHE_HEADERS = ("Cache-Control", "Pragma")
PublicPath = Literal["fallback", "always", "off"]
PUBLIC_PATHS: tuple[PublicPath, ...] = ("fallback", "always", "off")
MAX_REMEMBERED = 20_000  # releases remembered for it; older entries are dropped past this
# Origin errors the public path cannot get round: the same guard refuses the same host, the
# host asked for a pause, or the page itself is at fault (not an overloaded origin).
NOT_RETRIED_ON_PUBLIC = frozenset(
    {
        "refused",
        "dns",
        "invalid_url",
        "rate_limited",
        "redirect_loop",
        "too_many_redirects",
        "body_too_large",
        "unsupported_encoding",
        "bad_encoding",
        "bad_content",
    }
)


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 10.0
    total_timeout: float = 20.0  # a whole probe: every hop, and the Content API in GOV.UK mode
    max_redirects: int = 5
    max_body_bytes: int = 2 * 1024 * 1024
    global_limit: int = 200
    per_host_limit: int = 50
    user_agent: str = DEFAULT_USER_AGENT
    # Requests per second per host across all releases (budget.py); None: its DEFAULT_RATES.
    host_rates: Mapping[str, float] | None = None
    # When to probe the public path too: when the origin did not show the release live
    # ("fallback": every time it failed, once a minute beside a clean "not live"), on every
    # probe ("always"), or never ("off").
    public_path: PublicPath = "fallback"

    def httpx_timeout(self) -> httpx.Timeout:
        """The per-phase timeouts of one request (the whole probe has total_timeout)."""
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=self.read_timeout,
            write=self.read_timeout,
            pool=self.total_timeout,
        )

    def __post_init__(self) -> None:
        for name in ("connect_timeout", "read_timeout", "total_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        for name in ("max_body_bytes", "global_limit", "per_host_limit"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must not be negative")
        if self.public_path not in PUBLIC_PATHS:
            raise ValueError(f"public_path must be one of {', '.join(PUBLIC_PATHS)}")


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport with its pool rebuilt on the guarded network backend (for the
    calendar and webhook clients; probes use ProbeTransport).

    httpx 0.28 takes no `network_backend` (encode/httpx discussion #3180, PR #3749), so the
    pool is replaced with an httpcore pool built the same way plus our backend.
    """

    def __init__(
        self,
        resolver: Resolver,
        policy: AddressPolicy,
        *,
        limits: httpx.Limits,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        # One SSLContext for both: building one loads the CA bundle (~15 ms of CPU).
        context = verify if isinstance(verify, ssl.SSLContext) else _ssl_context(verify)
        super().__init__(verify=context, limits=limits, trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            network_backend=GuardedBackend(resolver, policy),
        )


@dataclass
class _LoopState:
    global_sem: asyncio.Semaphore
    transports: dict[AddressPolicy | None, httpx.AsyncBaseTransport] = field(default_factory=dict)
    host_sems: dict[str, asyncio.Semaphore] = field(default_factory=dict)


class HttpProber:
    """Probes release pages over HTTP(S); see the module docstring.

    `resolver` defaults to the system's; tests pass a StaticResolver. `transport` replaces the
    guarded transport (tests with httpx.MockTransport): the URL checks still apply to every
    hop, but the address checks live in the guarded transport, so never pass one in production.
    `verify` is the TLS verification setting (an SSLContext for a private CA in tests).
    """

    def __init__(
        self,
        clock: Clock,
        settings: ProbeSettings | None = None,
        *,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: ssl.SSLContext | bool = True,
        budget: HostBudget | None = None,
    ) -> None:
        self._clock = clock
        self.settings = settings or ProbeSettings()
        # When each release last had its public path asked beside a clean "not live" origin.
        self._public_asked: dict[str, datetime] = {}
        # Shared by every probe of this prober: the per-host counts a report prints.
        self.budget = budget or HostBudget(self.settings.host_rates)
        self._resolver = resolver or SystemResolver()
        self._transport = transport
        self._verify = verify
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )
        self._counter = itertools.count(1)
        self._salt = secrets.token_hex(3)  # distinct tokens across processes too
        self._discovery = Discovery()  # when each release last searched GOV.UK (a bound)
        self._timeouts = self.settings.httpx_timeout().as_dict()
        self._headers = httpx.Headers(
            {
                "User-Agent": self.settings.user_agent,
                "Cache-Control": "no-cache",
                "Pragma": "no-cache",
                "Accept": "text/html,application/json;q=0.9,*/*;q=0.8",
                # Only what decoding.py undoes within the cap (no br/zstd even if installed).
                "Accept-Encoding": ACCEPT_ENCODING,
            }
        )
        # As a browser asks: whatever the CDN holds.
        self._public_headers = httpx.Headers(
            [(k, v) for k, v in self._headers.multi_items() if k.title() not in NO_CACHE_HEADERS]
        )

    async def probe_many(self, releases: Sequence[Release]) -> list[Check]:
        return list(await asyncio.gather(*(self.probe(r) for r in releases)))

    async def probe(self, release: Release) -> Check:
        # Everything about one release is inside this guard: a hostile URL or answer (invalid
        # IDNA, JSON nested 200,000 deep, a date out of range) or a bug of ours becomes this
        # release's failed check, and probe_many's gather goes on with the others.
        started = self._clock.now()
        try:
            state = self._state()
            # One total for the whole probe; with a public path to try, the origin leaves it
            # a quarter (an origin that hangs must not leave nothing for the CDN).
            total = self.settings.total_timeout
            reserve = total / 4 if self._public_possible(release) else 0.0
            # Host first, then global: a slow host must not sit on global slots while it waits.
            async with self._host_sem(state, release.url), state.global_sem:
                answered = await self._probe_now(state, release, allowed=total - reserve)
            # Judged once the slots are free: reading the page needs no connection.
            outcome = await judge(answered.outcome)
            public: PublicCopy | None = None
            if self._public_wanted(release, outcome, answered.at):
                async with self._host_sem(state, release.url), state.global_sem:
                    seen = await self._probe_now(
                        state, release, allowed=reserve, after=answered.until, public=True
                    )
                public = _public_copy(seen.outcome, await judge(seen.outcome))
                if public.live:
                    # Seen live when the public copy came; a stale copy that is not live says
                    # nothing of its time, so a not-live check keeps the origin's.
                    answered = answered._replace(at=seen.at)
            return _serialisable(_to_check(release, answered, outcome, public))
        except Exception as exc:
            if isinstance(exc, RecursionError):  # its traceback is as deep as its cause
                log.warning("probe of release %r: answer nested too deeply", _id(release))
            elif isinstance(exc, OverflowError):  # hostile data (a year-1 date), not our bug
                log.warning("probe of release %r: a date or number out of range", _id(release))
            else:
                log.exception("probe of release %r failed", _id(release))
            return failed_check(release, started, self._clock.now(), exc)

    def _public_possible(self, release: Release) -> bool:
        # Without a parameter the origin path already asks what the public gets.
        return self.settings.public_path != "off" and release.cache_bust_param is not None

    def _public_wanted(self, release: Release, origin: Outcome, now: datetime) -> bool:
        """`now`: when the origin answered."""
        if not self._public_possible(release):
            return False
        if self.settings.public_path == "always":
            return True
        if origin.live and origin.error is None:
            return False
        if origin.cancellation is not None or origin.error in NOT_RETRIED_ON_PUBLIC:
            return False
        clean = origin.error is None and not _origin_failed(origin.fetched.status)
        # A clean "not yet": asked beside it now and then, not at every check.
        if clean and not public_recheck_due(release.id, self._public_asked.get(release.id), now):
            return False
        if len(self._public_asked) >= MAX_REMEMBERED:
            self._public_asked = {
                rid: at for rid, at in self._public_asked.items() if now - at < PUBLIC_RECHECK
            }
        self._public_asked[release.id] = now
        return True

    async def warm_up(self, release: Release) -> None:
        """Build the client a probe of `release` uses (its TLS context, ~25 ms), so that a
        one-off timed probe (`releasewatch check`) measures the request."""
        self._transport_for(self._state(), httpx.URL(release.url), release.allow_loopback)

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        state = self._states.pop(loop, None)
        if state is not None:
            for transport in state.transports.values():
                await transport.aclose()
        self._states.clear()

    # -- one probe -------------------------------------------------------------------

    async def _probe_now(
        self,
        state: _LoopState,
        release: Release,
        *,
        allowed: float,
        after: float | None = None,
        public: bool = False,
    ) -> _Answered:
        """Send one path's requests within `allowed` seconds from now (after its slots), and
        `allowed` past `after` (the origin's deadline: the public path gets what it left)."""
        started_at = self._clock.now()
        started = time.perf_counter()
        seen: list[Fetched] = []
        deadline: asyncio.Timeout | None = None

        def waited(seconds: float) -> None:
            # Time queued for the host's budget is not the host being slow.
            when = deadline.when() if deadline is not None else None
            if deadline is not None and when is not None and seconds > 0:
                deadline.reschedule(when + seconds)

        async def fetch(url: str, *, read_body: bool, bust: bool = True) -> Fetched:
            fetched = Fetched(url=url, final_url=url)
            seen.append(fetched)
            plain = public or not bust
            target = release.model_copy(update={"cache_bust_param": None}) if plain else release
            await self._fetch(
                state, target, fetched, read_body=read_body, public=public, waited=waited
            )
            return fetched

        loop = asyncio.get_running_loop()
        until = max(loop.time(), after or 0.0) + allowed
        allowed = until - loop.time()
        try:
            async with asyncio.timeout_at(until) as deadline:
                outcome = await probe_release(
                    fetch,
                    release,
                    started_at,
                    self._discovery,
                    max_redirects=self.settings.max_redirects,
                )
        except TimeoutError:
            last = seen[-1] if seen else Fetched(url=release.url, final_url=release.url)
            reason = f"timeout: no complete answer within {allowed:.3g}s (total)"
            outcome = Outcome(last, False, reason, "timeout")
            if len(seen) > 1:
                outcome.url = seen[0].requested_url or seen[0].url
        elapsed_ms = (time.perf_counter() - started) * 1000
        # The check's time is when its answer arrived, not when the request left: a probe sent
        # at 09:29:59 and answered at 09:30:01 saw the page as it was after 09:30.
        at = self._clock.now()
        ended = deadline.when() if deadline is not None else None
        return _Answered(outcome, started_at, at, elapsed_ms, until if ended is None else ended)

    async def _fetch(
        self,
        state: _LoopState,
        release: Release,
        fetched: Fetched,
        *,
        read_body: bool,
        public: bool = False,
        waited: Callable[[float], None] = lambda seconds: None,
    ) -> None:
        try:
            await self._follow(
                state, release, fetched, read_body=read_body, public=public, waited=waited
            )
        except HostPaused as exc:
            fetched.fail("rate_limited", str(exc))
        except ProbeRefused as exc:
            fetched.fail("refused", str(exc))
        except UnresolvableHost as exc:
            fetched.fail("dns", str(exc))
        except httpx.InvalidURL as exc:
            fetched.fail("invalid_url", f"invalid URL: {exc}")
        except (httpx.HTTPError, httpcore.NetworkError, OSError) as exc:
            fetched.fail(*classify(exc))
        except Exception as exc:  # a probe reports; it never takes the tick down
            log.exception("unexpected probe failure for release %s", release.id)
            fetched.fail("unexpected", f"unexpected {type(exc).__name__}")

    async def _follow(
        self,
        state: _LoopState,
        release: Release,
        fetched: Fetched,
        *,
        read_body: bool,
        public: bool,
        waited: Callable[[float], None],
    ) -> None:
        settings = self.settings
        current = parsed_url(fetched.url)
        visited: set[str] = set()
        for hop in range(settings.max_redirects + 1):
            plain = strip_param(current, release.cache_bust_param)
            visited.add(str(plain))
            target = bust_url(current, release.cache_bust_param, self._token())
            if hop == 0:
                fetched.requested_url = str(target)
            else:
                fetched.redirects.append(str(plain))
            fetched.final_url = str(plain)
            check_url(current, allow_loopback=release.allow_loopback)  # every hop, not just one
            transport = self._transport_for(state, current, release.allow_loopback)
            # No cookies: probes share connections, not a session, so one page's cookie must
            # not change what another is served.
            request = httpx.Request(
                "GET",
                target,
                headers=self._public_headers if public else self._headers,
                extensions={"timeout": self._timeouts},
            )
            await self.budget.take(current.host, waited)
            response = await transport.handle_async_request(request)
            try:
                _record_response(fetched, response)
                if response.status_code == 429:
                    now = self._clock.now()
                    wait = retry_after(response.headers.get("retry-after"), now)
                    paused = self.budget.pause(current.host, wait)
                    fetched.fail(
                        "rate_limited",
                        f"status 429 from {current.host}: no requests to it for "
                        f"{paused.total_seconds():g}s (its Retry-After, capped)",
                    )
                    return
                location = response.headers.get("location")
                if response.status_code in REDIRECT_STATUSES and location:
                    nxt = current.join(location)
                    if str(strip_param(nxt, release.cache_bust_param)) in visited:
                        fetched.fail("redirect_loop", f"redirect loop back to {nxt}")
                        return
                    if hop == settings.max_redirects:
                        fetched.fail(
                            "too_many_redirects", f"more than {settings.max_redirects} redirects"
                        )
                        return
                    current = nxt
                    continue
                if response.status_code >= 500:
                    fetched.fail("http_5xx", f"status {response.status_code} from the server")
                elif read_body:
                    await _read_body(fetched, response, settings.max_body_bytes)
                return
            finally:
                await response.aclose()

    # -- plumbing --------------------------------------------------------------------

    def _token(self) -> str:
        return f"{next(self._counter)}-{self._salt}{secrets.token_hex(4)}"

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            state = _LoopState(global_sem=asyncio.Semaphore(self.settings.global_limit))
            self._states[loop] = state
        return state

    def _host_sem(self, state: _LoopState, url: str) -> asyncio.Semaphore:
        try:
            host = parsed_url(url).host.lower()
        except httpx.InvalidURL:
            host = ""
        sem = state.host_sems.get(host)
        if sem is None:
            sem = state.host_sems[host] = asyncio.Semaphore(self.settings.per_host_limit)
        return sem

    def _transport_for(
        self, state: _LoopState, url: httpx.URL, allow_loopback: bool
    ) -> httpx.AsyncBaseTransport:
        """The transport for `url`'s address policy, made on first use (per event loop)."""
        if self._transport is not None:
            return self._transport
        policy = policy_for(url, allow_loopback)
        transport = state.transports.get(policy)
        if transport is None:
            transport = state.transports[policy] = self._new_transport(policy)
        return transport

    def _new_transport(self, policy: AddressPolicy) -> ProbeTransport:
        if not isinstance(self._verify, ssl.SSLContext):
            self._verify = _ssl_context(self._verify)  # once per prober, for every policy
        return ProbeTransport(self._resolver, policy, self._verify)


def _ssl_context(verify: bool) -> ssl.SSLContext:
    return httpx.create_ssl_context(verify=verify, trust_env=False)


def bust_url(url: httpx.URL, param: str | None, token: str) -> httpx.URL:
    """`url` with a single `param=token` appended (any old value dropped); as is if no param.
    `token` is made of letters, digits and '-', which a query carries as they are."""
    if param is None:
        return url
    kept = strip_param(url, param).query.decode("ascii")
    extra = _param_prefix(param) + token
    return url.copy_with(query=(f"{kept}&{extra}" if kept else extra).encode("ascii"))


@functools.lru_cache(maxsize=64)
def _param_prefix(param: str) -> str:
    """`param=` as a query carries it (escaped)."""
    return f"{httpx.QueryParams({param: ''})}"


@functools.lru_cache(maxsize=4096)
def parsed_url(url: str) -> httpx.URL:
    """`httpx.URL(url)`, parsed once per address (a release's is parsed at every probe, and
    parsing is a tenth of a millisecond: at 09:30 that is 300 of them a round). An address
    that does not parse raises each time; nothing is cached for it."""
    return httpx.URL(url)


def strip_param(url: httpx.URL, param: str | None) -> httpx.URL:
    """`url` without any `param=` pair, the rest of the query left byte for byte."""
    if param is None or not url.query:
        return url
    name = str(httpx.QueryParams({param: ""})).rstrip("=")
    pairs = [p for p in url.query.decode("ascii").split("&") if p.split("=", 1)[0] != name]
    query = "&".join(p for p in pairs if p)
    return url.copy_with(query=query.encode("ascii") if query else None)


async def read_capped(response: httpx.Response, cap: int) -> bytes | None:
    """At most `cap` bytes of decoded body, or None if it is longer (the rest is never read).

    Raises UnsupportedEncoding or BadEncoding for a body we cannot decode.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        return None
    if response.is_stream_consumed:
        # Only an in-memory answer (httpx.MockTransport in tests) arrives already read, and
        # decoded by httpx; from the network the stream is always still to be read.
        return response.content if len(response.content) <= cap else None
    encodings = parse_encodings(response.headers.get("content-encoding"))
    try:
        return await read_decoded(response.aiter_raw(), encodings, cap)
    except BodyTooLarge:
        return None


async def _read_body(fetched: Fetched, response: httpx.Response, cap: int) -> None:
    try:
        fetched.body = await read_capped(response, cap)
    except UnsupportedEncoding as exc:
        fetched.fail("unsupported_encoding", f"{exc}; not judged")
        return
    except BadEncoding as exc:
        fetched.fail("bad_encoding", f"{exc}; not judged")
        return
    if fetched.body is None:
        fetched.fail("body_too_large", f"body larger than {cap} bytes decoded; not judged")


def classify(exc: BaseException) -> tuple[str, str]:
    """A short error kind and a readable reason for a transport failure."""
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException | httpcore.TimeoutException | TimeoutError):
        phases: dict[type[BaseException], str] = {
            httpx.ConnectTimeout: "connect",
            httpx.ReadTimeout: "read",
            httpx.WriteTimeout: "write",
            httpx.PoolTimeout: "pool",
        }
        phase = phases.get(type(exc), "")
        return "timeout", f"timeout ({phase} phase)" if phase else "timeout"
    if _caused_by(exc, ssl.SSLError):
        return "tls", f"TLS failure: {detail}"
    if isinstance(exc, httpx.ConnectError | httpcore.ConnectError | ConnectionRefusedError):
        return "connect", f"could not connect: {detail}"
    if isinstance(exc, httpx.RemoteProtocolError) and not _looks_like_reset(detail):
        return "protocol", f"bad HTTP from the server: {detail}"
    if isinstance(exc, httpx.TransportError | httpcore.NetworkError | OSError):
        return "reset", f"connection reset or closed: {detail}"
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return "invalid_url", f"invalid URL: {detail}"
    return "http_error", f"{type(exc).__name__}: {detail}"


def _looks_like_reset(detail: str) -> bool:
    lowered = detail.lower()
    return "disconnected" in lowered or "closed" in lowered or "reset" in lowered


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def http_date(value: str | None) -> datetime | None:
    """An HTTP Date header (RFC 9110 IMF-fixdate, or the obsolete forms) in UTC; None when it
    is missing or unreadable (a server's header is never trusted to parse)."""
    if not value or len(value) > 64:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 5322's "no zone information"; HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return when.astimezone(UTC)


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as a wait (delta-seconds or an HTTP date); None if absent or unreadable.
    The budget caps it (budget.MAX_PAUSE)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=min(int(text[:9]), 10**8))
    when = http_date(text)
    return None if when is None else max(when - now, timedelta(0))


def _record_response(fetched: Fetched, response: httpx.Response) -> None:
    fetched.status = response.status_code
    fetched.age = response.headers.get("age")
    fetched.cache_control = response.headers.get("cache-control")
    fetched.x_cache = response.headers.get("x-cache")
    fetched.date = http_date(response.headers.get("date"))
    fetched.charset = response.charset_encoding
    fetched.content_type = response.headers.get("content-type")


class _Answered(NamedTuple):
    """A probe's fetches done: what they gave, when they started and ended, how long."""

    outcome: Outcome
    started_at: datetime
    at: datetime
    elapsed_ms: float
    until: float  # the loop time it had to finish by, budget waits added


def _public_copy(requested: Outcome, outcome: Outcome) -> PublicCopy:
    """What the public path served, judged by the same rules and edition checks."""
    f = outcome.fetched
    return PublicCopy(
        url=outcome.url or f.requested_url or f.url or requested.fetched.url,
        live=outcome.live and outcome.error is None,
        reason=outcome.reason,
        status=f.status,
        final_url=f.final_url or None,
        judged_url=outcome.judged_url or f.final_url or None,
        age=f.age,
        cache_control=f.cache_control,
        x_cache=f.x_cache,
        error=outcome.error,
        published_at=outcome.published_at,
    )


def _to_check(
    release: Release, answered: _Answered, outcome: Outcome, public: PublicCopy | None = None
) -> Check:
    f = outcome.fetched
    live = outcome.live and outcome.error is None  # an error is never a confirmation
    if public is not None and public.live and not live:
        # The CDN serves this release's publication: proof it is live, whatever the origin
        # answered (its status and cache headers stay on the Check, its reason in this one).
        return Check(
            release_id=release.id,
            at=answered.at,
            started_at=answered.started_at,
            url=outcome.url or f.requested_url or f.url,
            live=True,
            reason=f"the public path serves it: {public.reason}; the origin: {outcome.reason}",
            status=f.status,
            final_url=f.final_url or None,
            redirects=tuple(f.redirects if outcome.redirects is None else outcome.redirects),
            age=f.age,
            cache_control=f.cache_control,
            x_cache=f.x_cache,
            elapsed_ms=round(answered.elapsed_ms, 1),
            published_at=public.published_at,
            judged_url=public.judged_url,
            origin_date=f.date,
            public=public,
        )
    return Check(
        release_id=release.id,
        at=answered.at,
        started_at=answered.started_at,
        url=outcome.url or f.requested_url or f.url,
        live=live,
        reason=outcome.reason,
        status=f.status,
        final_url=f.final_url or None,
        redirects=tuple(f.redirects if outcome.redirects is None else outcome.redirects),
        age=f.age,
        cache_control=f.cache_control,
        x_cache=f.x_cache,
        error=outcome.error,
        elapsed_ms=round(answered.elapsed_ms, 1),
        published_at=outcome.published_at,
        judged_url=outcome.judged_url or f.final_url or None,
        origin_date=f.date,
        cancellation=None if live else _cancellation(outcome.cancellation),
        public=public,
    )


def _cancellation(reason: str | None) -> str | None:
    """GOV.UK's reason as stored: one line, at most 2,000 characters."""
    if reason is None:
        return None
    text = " ".join(reason.split())
    return text if len(text) <= 2000 else text[:1999] + "…"


def failure_kind(exc: BaseException) -> tuple[str, str]:
    """The error kind and reason recorded for an exception that escaped one probe."""
    if isinstance(exc, RecursionError):
        return "bad_content", "answer nested too deeply to read"
    if isinstance(exc, OverflowError):
        return "bad_content", "a date or number in the answer is out of range"
    if isinstance(exc, httpx.InvalidURL | UnicodeError):
        return "invalid_url", f"invalid URL: {_short(str(exc))}"
    # The type only: the message of an unforeseen error may quote the hostile answer itself.
    return "unexpected", f"unexpected {type(exc).__name__}"


def failed_check(release: Release, started_at: datetime, at: datetime, exc: BaseException) -> Check:
    """A failed check for a probe that raised; built from plain text, so it cannot fail too."""
    error, reason = failure_kind(exc)
    return Check(
        release_id=_clean(getattr(release, "id", "")),
        at=at,
        started_at=started_at,
        url=_clean(getattr(release, "url", "")),
        live=False,
        reason=_clean(reason),
        error=error,
    )


def _serialisable(check: Check) -> Check:
    """`check`, or a copy whose text fields are cleaned if it would not serialise (a URL with
    lone surrogates from a hostile release): one unstorable check must not fail the batch
    the stores write it in."""
    try:
        check.model_dump_json().encode("utf-8")
    except (ValueError, UnicodeError):
        fields = (
            "release_id",
            "url",
            "reason",
            "final_url",
            "judged_url",
            "age",
            "cache_control",
            "x_cache",
        )
        update: dict[str, object] = {
            f: _clean(getattr(check, f)) for f in fields if getattr(check, f) is not None
        }
        update["redirects"] = tuple(_clean(r) for r in check.redirects)
        return check.model_copy(update=update)
    return check


def _id(release: Release) -> str:
    return _short(_clean(getattr(release, "id", "?")), 130)


def _clean(text: object) -> str:
    return str(text).encode("utf-8", errors="replace").decode("utf-8")


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _origin_failed(status: int | None) -> bool:
    """An answer that says the origin could not serve (overloaded, timed out, throttled), not
    what it has: the public path may still show what the CDN holds."""
    return status is None or status >= 500 or status in (408, 425, 429)
