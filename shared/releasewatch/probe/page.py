"""Probe an HTML page and judge it with the release's live rule."""

from __future__ import annotations

import asyncio

from ..model import Release
from .base import Fetch, Fetched, Outcome
from .rules import judge_page, needs_body
from .text import PageText

# Bodies at least this big are parsed on a worker thread: libxml2's parsing and libxslt's
# transform run without the GIL (lxml's FAQ, "threading"), so a GOV.UK page (~100 KB, a
# millisecond or two) is read while the event loop goes on with the other probes.
THREAD_FROM = 16 * 1024


async def probe_page(fetch: Fetch, release: Release) -> Outcome:
    fetched = await fetch(release.url, read_body=needs_body(release.rule))
    if fetched.error is not None:
        return Outcome(fetched, False, fetched.reason or fetched.error, fetched.error)
    text = await page_text(fetched)
    verdict = judge_page(release.rule, fetched.status, fetched.final_url, text)
    return Outcome(fetched, verdict.live, verdict.reason)


async def page_text(fetched: Fetched) -> PageText | None:
    """The fetched body's visible text, parsed once (None when the body was not read)."""
    if fetched.body is None or len(fetched.body) < THREAD_FROM:
        return fetched.visible()
    return await asyncio.to_thread(fetched.visible)
