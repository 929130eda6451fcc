"""The calendar sources' HTTP client: the prober's guard and limits, none of its cache-busting.

Every request (and every redirect hop) passes netguard.check_url and connects only to checked
addresses (GuardedTransport); loopback only in local mode. Timeouts and the body cap are the
prober's (ProbeSettings), the cap raised for feeds, decoded within it by probe/decoding. No
cache-bust parameter is ever added: the GOV.UK search API answers 422 to any it does not know.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from ..errors import ProbeRefused
from ..probe.decoding import ACCEPT_ENCODING, BadEncoding, UnsupportedEncoding
from ..probe.http import (
    REDIRECT_STATUSES,
    GuardedTransport,
    ProbeSettings,
    classify,
    read_capped,
)
from ..probe.netguard import (
    AddressPolicy,
    Resolver,
    SystemResolver,
    UnresolvableHost,
    check_url,
    policy_for,
)
from .announcement import FeedError

# A search page of 1,500 announcements is ~1.5 MB; parsed JSON takes ~15 times its size in
# memory, so a page may not be much more (the AWS sync function has 512 MB).
FEED_MAX_BYTES = 4 * 1024 * 1024
SOURCE_MAX_BYTES = 24 * 1024 * 1024  # one source's pages together (govuk.py, ons.py)


def count_bytes(received: int, body: bytes) -> int:
    """Bytes a source has received with this page; FeedError past SOURCE_MAX_BYTES."""
    received += len(body)
    if received > SOURCE_MAX_BYTES:
        raise FeedError(
            f"its pages together are larger than {SOURCE_MAX_BYTES} bytes (the cap per "
            "calendar source); nothing from it is imported"
        )
    return received


class FeedFetcher:
    def __init__(
        self,
        *,
        local_mode: bool,
        settings: ProbeSettings | None = None,
        max_bytes: int = FEED_MAX_BYTES,
        resolver: Resolver | None = None,
    ) -> None:
        self.local_mode = local_mode
        self.settings = settings or ProbeSettings()
        self.max_bytes = max_bytes
        self._resolver = resolver or SystemResolver()
        self._clients: dict[AddressPolicy, httpx.AsyncClient] = {}
        self.requests = 0

    async def get(
        self, url: str, params: Sequence[tuple[str, str]] = (), *, max_bytes: int | None = None
    ) -> bytes:
        """The decoded body of a 200 answer (at most `max_bytes`, else the fetcher's cap);
        FeedError naming the URL and what went wrong."""
        cap = min(max_bytes, self.max_bytes) if max_bytes is not None else self.max_bytes
        try:
            current = httpx.URL(url, params=list(params)) if params else httpx.URL(url)
        except httpx.InvalidURL as exc:
            raise FeedError(f"invalid URL {url!r}: {exc}") from None
        try:
            async with asyncio.timeout(self.settings.total_timeout):
                return await self._get(current, cap)
        except TimeoutError:
            raise FeedError(
                f"{_short(current)}: no complete answer within {self.settings.total_timeout:g}s"
            ) from None

    async def _get(self, current: httpx.URL, cap: int) -> bytes:
        try:
            for _ in range(self.settings.max_redirects + 1):
                check_url(current, allow_loopback=self.local_mode)
                client = self._client(current)
                self.requests += 1
                request = client.build_request("GET", current)
                response = await client.send(request, stream=True)
                try:
                    location = response.headers.get("location")
                    if response.status_code in REDIRECT_STATUSES and location:
                        current = current.join(location)
                        continue
                    body = await read_capped(response, cap)
                    if body is None:
                        raise FeedError(f"{_short(current)}: body larger than {cap} bytes")
                    if response.status_code != 200:
                        raise FeedError(
                            f"{_short(current)}: status {response.status_code}"
                            + (f": {_excerpt(body)}" if body.strip() else "")
                        )
                    return body
                finally:
                    await response.aclose()
            raise FeedError(f"{_short(current)}: more than {self.settings.max_redirects} redirects")
        except ProbeRefused as exc:
            raise FeedError(f"{_short(current)}: {exc}") from None
        except UnresolvableHost as exc:
            raise FeedError(f"{_short(current)}: {exc}") from None
        except (UnsupportedEncoding, BadEncoding) as exc:
            raise FeedError(f"{_short(current)}: {exc}") from None
        except httpx.InvalidURL as exc:
            raise FeedError(f"invalid URL {current!r}: {exc}") from None
        except (httpx.HTTPError, OSError) as exc:
            raise FeedError(f"{_short(current)}: {classify(exc)[1]}") from None

    def _client(self, url: httpx.URL) -> httpx.AsyncClient:
        policy = policy_for(url, self.local_mode)
        client = self._clients.get(policy)
        if client is None:
            s = self.settings
            limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
            client = self._clients[policy] = httpx.AsyncClient(
                transport=GuardedTransport(self._resolver, policy, limits=limits),
                timeout=s.httpx_timeout(),
                headers={
                    "User-Agent": s.user_agent,
                    "Accept": "application/json, text/calendar, text/csv;q=0.9, */*;q=0.5",
                    "Accept-Encoding": ACCEPT_ENCODING,
                },
                follow_redirects=False,
                trust_env=False,
            )
        return client

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def _short(url: httpx.URL) -> str:
    text = str(url.copy_with(query=None))
    return text if len(text) <= 120 else text[:119] + "…"


def _excerpt(body: bytes) -> str:
    text = body[:300].decode("utf-8", "replace")
    return "".join(ch if ch.isprintable() else " " for ch in text).strip()
