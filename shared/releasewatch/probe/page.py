"""Probe an HTML page and judge it with the release's live rule."""

from __future__ import annotations

from ..model import Release
from .base import Fetch, Outcome
from .rules import judge_page, needs_body


async def probe_page(fetch: Fetch, release: Release) -> Outcome:
    fetched = await fetch(release.url, read_body=needs_body(release.rule))
    if fetched.error is not None:
        return Outcome(fetched, False, fetched.reason or fetched.error, fetched.error)
    verdict = judge_page(release.rule, fetched.status, fetched.final_url, fetched.visible())
    return Outcome(fetched, verdict.live, verdict.reason)
