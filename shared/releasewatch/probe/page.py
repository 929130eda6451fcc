"""Probe an HTML page and judge it with the release's live rule."""

from __future__ import annotations

import asyncio
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from ..model import LiveRule, Release
from .base import Fetch, Fetched, Outcome
from .pagefacts import (
    PageFacts,
    cancellation,
    mentions_cancellation,
    read_facts,
    read_text_and_facts,
    withdrawn,
)
from .rules import GOVUK_NOT_LIVE_WORDING, STATISTICS_TYPES, judge_page, needs_body, page_problems
from .text import PageText, is_html
from .titles import title_match

ANNOUNCEMENT_PATH = "/statistics/announcements/"

# Bodies at least this big are parsed on a worker thread: Lexbor parses without the GIL
# (selectolax), so a GOV.UK page (~100 KB, a millisecond or two of CPU) is read while the
# event loop goes on with the other probes (tests/bench/bench_fanout.py: ~10 % faster).
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
    outcome = Outcome(fetched, False, "not judged", to_judge=release.rule)
    outcome.window_start = release.due - release.cadence.lookahead
    return outcome


async def judge(outcome: Outcome) -> Outcome:
    """Judge a fetched page by its rule (its visible text parsed once); as is if already judged."""
    rule = outcome.to_judge
    if rule is None:
        return outcome
    fetched = outcome.fetched
    text, facts = await read_page(fetched)
    source = fetched.text() if rule.markup or rule.not_markup else None
    verdict = judge_page(rule, fetched.status, fetched.final_url, text, source)
    outcome.live, outcome.reason, outcome.to_judge = verdict.live, verdict.reason, None
    # Facts are read at most once, and only when they can matter (or came with the text).
    if not verdict.live and _only_the_title_missing(rule, fetched, text, source):
        facts = facts or await page_facts(fetched)
        _accept_retitled(outcome, facts, rule.contains[0])
    if outcome.live and fetched.body is not None:
        _judge_edition(outcome, facts or await page_facts(fetched))
    elif mentions_cancellation(text):
        assert text is not None
        found = cancellation(facts or await page_facts(fetched), text)
        # The rule's reason already quotes the cancellation wording; the reason given goes
        # with the check, for the notice (policy.page_cancellation).
        outcome.cancellation = found
    return outcome


def _only_the_title_missing(
    rule: LiveRule, fetched: Fetched, text: PageText | None, source: str | None
) -> bool:
    """The default GOV.UK rule failed only for want of the release's title on the page."""
    if rule.not_contains != GOVUK_NOT_LIVE_WORDING or len(rule.contains) != 1:
        return False
    problems = page_problems(rule, fetched.status, fetched.final_url, text, source)
    return len(problems) == 1 and problems[0].startswith("missing text ")


def _accept_retitled(outcome: Outcome, facts: PageFacts, title: str) -> None:
    """Producers retitle at publication. Under the default rule, a page without the release's
    title is still its publication when GOV.UK's own meta tags say it is a statistics
    publication and either the announcement redirected to it or its title matches loosely
    (titles.py); error and maintenance pages carry no such tags and stay refused. Which
    evidence chose it goes in the reason; _judge_edition then dates it (or refuses it)."""
    if facts.format not in STATISTICS_TYPES:
        return
    match = title_match(title, facts.title)
    if _from_announcement(outcome.fetched):
        how = "the announcement redirects to it"
    elif match.matches:
        how = match.describe()
    else:
        return
    outcome.live = True
    outcome.reason = (
        f"status {outcome.fetched.status}, a statistics publication (govuk:format "
        f"{facts.format}) titled '{facts.title[:80]}', not as announced; {how}"
    )


def _judge_edition(outcome: Outcome, facts: PageFacts) -> None:
    """A page that passed its rule may still be another edition of the document: withdrawn,
    or (by its `govuk:` meta tags) first published before this release's window and not
    updated since. One first published in the window is dated by GOV.UK, as in GOV.UK mode."""
    gone = withdrawn(facts)
    if gone is not None:
        outcome.live = False
        outcome.reason = f"{gone}: a withdrawn document is not this release ({outcome.reason})"
        return
    first, since = facts.first_published_at, outcome.window_start
    if first is None or since is None:
        return
    if first >= since:
        outcome.published_at = first
        outcome.reason += f"; first published {first.isoformat()} (govuk:first-published-at)"
        return
    updated = facts.public_updated_at
    if updated is not None and updated > since:
        # A document updated in place, this edition in the window: live, its time unknown.
        outcome.reason += f"; a document updated in place, this edition {updated.isoformat()}"
        return
    if _from_announcement(outcome.fetched):
        # The announcement redirected here: its publication, however early.
        outcome.published_at = first
        return
    last = updated.isoformat() if updated is not None else "never since"
    outcome.live = False
    outcome.reason = (
        f"first published {first.isoformat()}, last updated {last}: an earlier edition, "
        f"before this release's window (from {since.isoformat()}), not this release's"
    )


def _from_announcement(fetched: Fetched) -> bool:
    if not fetched.redirects:
        return False
    return ANNOUNCEMENT_PATH in httpx.URL(fetched.url).path


async def page_facts(fetched: Fetched) -> PageFacts:
    """The page's meta tags and notices (pagefacts.py), read off the loop for a big body."""
    if fetched.body is None or len(fetched.body) < THREAD_FROM:
        return read_facts(fetched.body, fetched.charset)
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_parsers(), read_facts, fetched.body, fetched.charset)


async def read_page(fetched: Fetched) -> tuple[PageText | None, PageFacts | None]:
    """The fetched body's visible text (None when the body was not read); a big HTML page is
    read off the loop, its facts with it from the same parse (pagefacts.py)."""
    body = fetched.body
    if body is None or len(body) < THREAD_FROM:
        return fetched.visible(), None
    loop = asyncio.get_running_loop()
    if is_html(body, fetched.content_type):
        return await loop.run_in_executor(_parsers(), read_text_and_facts, body, fetched.charset)
    return await loop.run_in_executor(_parsers(), fetched.visible), None


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
