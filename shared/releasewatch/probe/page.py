"""Probe an HTML page and judge it with the release's live rule."""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from ..model import Release
from .base import Fetch, Fetched, Outcome
from .rules import judge_page, needs_body
from .text import PageText

# Bodies at least this big are parsed on a worker thread: libxml2's parsing and libxslt's
# transform run without the GIL (lxml's FAQ, "threading"), so a GOV.UK page (~100 KB, a
# millisecond or two of CPU) is read while the event loop goes on with the other probes.
THREAD_FROM = 16 * 1024


async def probe_page(fetch: Fetch, release: Release) -> Outcome:
    """Fetch the page and judge it."""
    return await judge(await fetch_page(fetch, release))


async def fetch_page(fetch: Fetch, release: Release) -> Outcome:
    """Fetch the page only: an Outcome still `to_judge` (see `judge`) unless the fetch failed.

    HttpProber judges after giving back its host's slot: reading a page needs no connection,
    and a slot held while a worker thread waits for the GIL is a request not sent.
    """
    fetched = await fetch(release.url, read_body=needs_body(release.rule))
    if fetched.error is not None:
        return Outcome(fetched, False, fetched.reason or fetched.error, fetched.error)
    return Outcome(fetched, False, "not judged", to_judge=release.rule)


async def judge(outcome: Outcome) -> Outcome:
    """Judge a fetched page by its rule (its visible text parsed once); as is if already judged."""
    rule = outcome.to_judge
    if rule is None:
        return outcome
    fetched = outcome.fetched
    text = await page_text(fetched)
    source = fetched.text() if rule.markup or rule.not_markup else None
    verdict = judge_page(rule, fetched.status, fetched.final_url, text, source)
    outcome.live, outcome.reason, outcome.to_judge = verdict.live, verdict.reason, None
    return outcome


async def page_text(fetched: Fetched) -> PageText | None:
    """The fetched body's visible text (None when the body was not read)."""
    if fetched.body is None or len(fetched.body) < THREAD_FROM:
        return fetched.visible()
    return await asyncio.get_running_loop().run_in_executor(_parsers(), fetched.visible)


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _parsers() -> ThreadPoolExecutor:
    """Threads of our own: the loop's default executor also runs notifier sends, and a slow
    SMTP server must not hold up reading pages (nor a thousand pages a send)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            workers = min(4, os.cpu_count() or 1)
            _pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="rw-page-text")
        return _pool
