"""An iCal rota given by URL, read through the calendar fetcher: the prober's SSRF guard,
timeouts, body cap and User-Agent, loopback only in local mode (config.RotaFetch)."""

from __future__ import annotations

import asyncio

from ..calendar.announcement import FeedError
from ..calendar.fetch import FeedFetcher
from .rota import RotaError

ROTA_MAX_BYTES = 4 * 1024 * 1024  # a year of shifts is a few hundred KB


def fetch_rota(url: str, local_mode: bool) -> bytes:
    """The rota's body; RotaError naming the URL and what went wrong. Not inside a running
    event loop (push and the AWS sync read the config before theirs starts)."""

    async def get() -> bytes:
        fetcher = FeedFetcher(local_mode=local_mode, max_bytes=ROTA_MAX_BYTES)
        try:
            return await fetcher.get(url)
        finally:
            await fetcher.aclose()

    try:
        return asyncio.run(get())
    except FeedError as exc:
        raise RotaError(f"cannot fetch the rota: {exc}") from None
