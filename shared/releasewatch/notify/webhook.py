"""Posting to a chat webhook (Teams Workflows, Slack): the secret URL, the SSRF guard, limits.

The URL is a secret (whoever has it can post): a message is addressed to the *name* of the
environment variable or SSM SecureString that holds it (model.Webhook.ref), and the URL is read
only here, at send time. It never reaches a log, an error, the store or the console: logs and
stored reasons name the host at most.

Every post goes through the prober's SSRF guard (netguard.check_url, then a connection only to
checked addresses): https to a public address, or loopback in local mode only. No redirects
are followed; the answer is read up to a small cap; connect and total timeouts bound a send.

Answers, as SendError (the service's claim -> send -> mark contract does the rest):
    2xx                         sent
    408, 429, 5xx, network      transient: retried within the attempt bound; Retry-After
                                (seconds or an HTTP date) is passed on as the least wait
    3xx, other 4xx, refused     permanent, with the reason in words: the service falls back to
                                the contact's email (or SMS) and tells the next step
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import os
import re
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ..clock import Clock, SystemClock
from ..errors import ProbeRefused, SendError
from ..probe.decoding import BadEncoding, UnsupportedEncoding
from ..probe.http import GuardedTransport, read_capped
from ..probe.netguard import Resolver, SystemResolver, UnresolvableHost, check_url, policy_for

log = logging.getLogger("releasewatch.notify.webhook")


class _HideWebhookUrls(logging.Filter):
    """httpx logs every request's full URL at INFO ("HTTP Request: POST <url> ..."): for a
    webhook that is the secret itself. Such a record keeps only the host."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[str, str] = {}  # URL -> what to show instead
        self._lock = threading.Lock()

    def remember(self, url: str, host: str) -> None:
        with self._lock:
            self.secrets[url] = f"<webhook at {host}>"

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets and isinstance(record.args, tuple):
            record.args = tuple(
                self.secrets.get(str(arg), arg) if isinstance(arg, (str, httpx.URL)) else arg
                for arg in record.args
            )
        return True


_HIDE = _HideWebhookUrls()
logging.getLogger("httpx").addFilter(_HIDE)

MAX_RESPONSE_BYTES = 16 * 1024


@dataclass(frozen=True)
class WebhookSettings:
    connect_timeout: float = 5.0
    total_timeout: float = 15.0
    max_response_bytes: int = MAX_RESPONSE_BYTES
    user_agent: str = "releasewatch (webhook)"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: httpx.Headers
    body: bytes

    def text(self, limit: int = 300) -> str:
        raw = self.body[:limit].decode("utf-8", "replace")
        return "".join(ch if ch.isprintable() else " " for ch in raw).strip()


class WebhookSecrets:
    """Reads a webhook URL from its ref: `env:NAME` (the environment) or `ssm:/name` (an SSM
    SecureString, read by aws/secure_parameters.py and cached for 5 minutes)."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        read_ssm: Callable[[str], str] | None = None,
    ) -> None:
        self._env = env
        self._read_ssm = read_ssm or _read_ssm

    def url(self, ref: str) -> str:
        kind, _, name = ref.partition(":")
        if kind == "env":
            env = os.environ if self._env is None else self._env
            value = env.get(name, "").strip()
            if not value:
                raise SendError(
                    f"the environment variable {name}, which should hold the webhook URL, "
                    "is not set",
                    permanent=True,
                )
            return value
        if kind == "ssm":
            try:
                return self._read_ssm(name).strip()
            except Exception as exc:
                code = _aws_code(exc)
                raise SendError(
                    f"the SSM parameter {name}, which should hold the webhook URL, is "
                    f"unreadable: {code or type(exc).__name__}",
                    permanent=code in _SSM_PERMANENT,
                ) from None
        raise SendError(f"no webhook named by {kind!r}", permanent=True)


_SSM_PERMANENT = frozenset(
    {"ParameterNotFound", "ParameterVersionNotFound", "AccessDeniedException", "AccessDenied"}
)


def _aws_code(exc: BaseException) -> str:
    """The AWS error code behind `exc`: SSM's ClientError itself, or one a wrapper raised
    from (its cause or only its context)."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            break
        response: Any = getattr(seen, "response", None)
        if isinstance(response, dict):
            return str(response.get("Error", {}).get("Code", ""))
        seen = seen.__cause__ or seen.__context__
    return ""


def _read_ssm(name: str) -> str:
    from ..aws.secure_parameters import read_secure

    return read_secure(name)


class WebhookPoster:
    """POSTs JSON to a webhook URL read from its ref; returns the answer or raises SendError.

    `service` names the channel in reasons ("Teams", "Slack"). `transport` replaces the guarded
    network transport (tests give an httpx.MockTransport; the guard's URL check still runs).
    """

    def __init__(
        self,
        service: str,
        *,
        allow_loopback: bool = False,
        secrets: WebhookSecrets | None = None,
        settings: WebhookSettings | None = None,
        resolver: Resolver | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.service = service
        self.clock = clock or SystemClock()
        self.allow_loopback = allow_loopback
        self.secrets = secrets or WebhookSecrets()
        self.settings = settings or WebhookSettings()
        self._resolver = resolver or SystemResolver()
        self._transport = transport
        self._ssl: ssl.SSLContext | None = None

    def post(self, ref: str, payload: Mapping[str, Any], key: str = "") -> Answer:
        """Send `payload`; a 2xx Answer, else SendError (reasons never hold the URL)."""
        url_text = self.secrets.url(ref)
        try:
            url = httpx.URL(url_text)
            host = url.host or "?"
        except (httpx.InvalidURL, ValueError):
            raise SendError(
                f"the {self.service} webhook in {ref} is not a valid URL", permanent=True
            ) from None
        try:
            check_url(url, allow_loopback=self.allow_loopback)
        except ProbeRefused as exc:  # names the host, never the path with its signature
            raise SendError(f"{self.service} webhook refused: {exc}", permanent=True) from None
        _HIDE.remember(str(url), host)
        answer = asyncio.run(self._post(url, host, payload))
        status = answer.status
        if 200 <= status < 300:
            log.info(
                "posted to the %s webhook",
                self.service,
                extra={"host": host, "status": status, "notification": key},
            )
            return answer
        log.warning(
            "the %s webhook answered %s",
            self.service,
            status,
            extra={"host": host, "status": status, "notification": key},
        )
        detail = _scrub(answer.text(), url_text)
        reason = f"{self.service} webhook at {host} answered {status}"
        if status == 408 or status == 429 or status >= 500:
            why = "busy, try later" if status == 429 else "not available"
            raise SendError(
                f"{reason} ({why})" + (f": {detail}" if detail else ""),
                permanent=False,
                retry_after=retry_after(answer.headers.get("retry-after"), self.clock.now()),
            )
        raise SendError(
            f"{reason}: {_MEANING.get(status, _OTHER)}" + (f" ({detail})" if detail else ""),
            permanent=True,
        )

    async def _post(self, url: httpx.URL, host: str, payload: Mapping[str, Any]) -> Answer:
        s = self.settings
        try:
            async with asyncio.timeout(s.total_timeout), self._client(url) as client:
                request = client.build_request("POST", url, json=dict(payload))
                response = await client.send(request, stream=True)
                try:
                    body = await read_capped(response, s.max_response_bytes)
                except (UnsupportedEncoding, BadEncoding):
                    body = None  # the status decides; an unreadable body must not undo a 202
                finally:
                    await response.aclose()
                return Answer(response.status_code, response.headers, body or b"")
        except TimeoutError:
            raise SendError(
                f"{self.service} webhook at {host}: no answer within {s.total_timeout:g}s"
            ) from None
        except ProbeRefused as exc:  # a name that resolved to a private or loopback address
            raise SendError(f"{self.service} webhook refused: {exc}", permanent=True) from None
        except UnresolvableHost:
            raise SendError(
                f"{self.service} webhook at {host}: the name does not resolve"
            ) from None
        except httpx.TimeoutException:
            raise SendError(f"{self.service} webhook at {host}: timed out") from None
        except (httpx.HTTPError, OSError) as exc:
            raise SendError(
                f"{self.service} webhook at {host}: {type(exc).__name__} (no answer)"
            ) from None

    def _client(self, url: httpx.URL) -> httpx.AsyncClient:
        s = self.settings
        transport = self._transport
        if transport is None:
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context(trust_env=False)
            transport = GuardedTransport(
                self._resolver,
                policy_for(url, self.allow_loopback),
                limits=httpx.Limits(max_connections=2, max_keepalive_connections=0),
                verify=self._ssl,
            )
        return httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(
                connect=s.connect_timeout,
                read=s.total_timeout,
                write=s.total_timeout,
                pool=s.total_timeout,
            ),
            headers={"User-Agent": s.user_agent},
            follow_redirects=False,
            trust_env=False,
        )


_MEANING = {
    300: "a redirect, which a webhook URL never gives: check the URL",
    301: "a redirect, which a webhook URL never gives: check the URL",
    302: "a redirect, which a webhook URL never gives: check the URL",
    307: "a redirect, which a webhook URL never gives: check the URL",
    308: "a redirect, which a webhook URL never gives: check the URL",
    400: "the message was refused as malformed",
    401: "the URL's signature was refused (the URL is wrong, or the workflow's URL was "
    "regenerated): copy it again",
    403: "not allowed to post there (the workflow or app is off, or may not post to that channel)",
    404: "no such webhook (the workflow or app was deleted, or the URL is wrong)",
    410: "the channel is archived or the webhook was removed",
    413: "the message is too large",
}
_OTHER = "refused"
_SIG = re.compile(r"(sig|code|token)=[^&\s\"']+", re.IGNORECASE)
_URL = re.compile(r"https?://\S+")


def _scrub(text: str, url: str) -> str:
    """An error body for a stored reason: without the URL, any URL, or a signature."""
    if url:
        text = text.replace(url, "<webhook>")
    text = _URL.sub("<url>", text)
    return _SIG.sub(r"\1=<hidden>", text)[:200]


MAX_RETRY_AFTER = timedelta(days=1)  # the service waits at most its longest backoff anyway


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """Retry-After as a wait: delta-seconds or an HTTP date; None if absent or unreadable.
    At most MAX_RETRY_AFTER: 30 digits of seconds would overflow a timedelta."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():  # not "²" or other Unicode digits
        seconds = int(value[:12])  # more digits than a day's worth cannot matter
        return min(timedelta(seconds=seconds), MAX_RETRY_AFTER)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(when - now, timedelta(0)), MAX_RETRY_AFTER)
