"""GOV.UK mode: decide from the Content API item, not from what the page looks like.

For a release URL `https://www.gov.uk<path>` we fetch `https://www.gov.uk/api/content<path>`
(same host, same cache-busting, same guard) and judge the item (rules.judge_govuk):

- a publication, or any other document with `first_published_at`: live, and
  `published_at` is that time;
- a `statistics_announcement`: not live (the reason names its state and display date);
- a `redirect` to `/government/statistics/announcements`: not live, "announcement deleted
  without publication";
- a `redirect` to anything else: only a hint. We fetch the destination's own item and decide
  from that (live only if it is published), following at most `max_redirects` such items.

The HTML page is fetched too only when the rule has page checks (`contains`,
`not_contains`, `final_url`) and the content item already says live; then those checks must
hold as well, and the Check's HTTP facts describe the page. Otherwise the Check describes the
content item fetches: `url` is the first Content API request, `redirects` runs from the
announcement's item to the item that decided.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from ..model import Release
from .base import Fetch, Fetched, Outcome
from .page import probe_page
from .rules import GovukVerdict, has_page_checks, judge_govuk

API_PREFIX = "/api/content"


def content_api_url(page_url: str, path: str | None = None) -> str:
    """The Content API URL for a page (or for `path` on the page's host)."""
    url = httpx.URL(page_url)
    # An absolute destination keeps only its path: the item is read on the release's host.
    target = url.path if path is None else url.join(path).path
    if not target.startswith(API_PREFIX + "/"):
        target = API_PREFIX + (target if target.startswith("/") else "/" + target)
    return str(url.copy_with(path=target, query=None, fragment=None))


async def probe_govuk(fetch: Fetch, release: Release, *, max_redirects: int = 5) -> Outcome:
    first = await fetch(content_api_url(release.url), read_body=True)
    chain: list[str] = list(first.redirects)
    fetched = first
    hints: list[str] = []
    for hop in range(max_redirects + 1):
        judged = _judge_fetched(fetched)
        if isinstance(judged, Outcome):
            return _recorded(judged, first, chain, hints)
        if hop == max_redirects or judged.follow is None:
            break
        hints.append(judged.reason)
        fetched = await fetch(content_api_url(release.url, judged.follow), read_body=True)
        chain += [fetched.url, *fetched.redirects]
    too_many = Outcome(fetched, False, "too many content redirects", "too_many_redirects")
    return _recorded(too_many, first, chain, hints)


def _judge_fetched(fetched: Fetched) -> Outcome | GovukVerdict:
    """An Outcome when this fetch settles it, else the verdict (possibly a redirect to follow)."""
    if fetched.error is not None:
        return Outcome(fetched, False, fetched.reason or fetched.error, fetched.error)
    if fetched.status == 404:
        return Outcome(fetched, False, "content item not found (status 404)")
    if fetched.status != 200:
        return Outcome(fetched, False, f"content API status {fetched.status}, expected 200")
    item = _parse_item(fetched.body)
    if item is None:
        return Outcome(fetched, False, "content API answer is not a JSON object", "bad_content")
    verdict = judge_govuk(item)
    if verdict.follow is not None:
        return verdict
    return Outcome(fetched, verdict.live, verdict.reason, published_at=verdict.published_at)


def _parse_item(body: bytes | None) -> dict[str, Any] | None:
    try:
        item = json.loads(body or b"")
    except ValueError:
        return None
    return item if isinstance(item, dict) else None


def _recorded(outcome: Outcome, first: Fetched, chain: list[str], hints: list[str]) -> Outcome:
    outcome.url = first.requested_url or first.url
    outcome.redirects = chain
    if hints:
        outcome.reason = "; ".join([*hints, outcome.reason])
    return outcome


async def probe_govuk_with_page(
    fetch: Fetch, release: Release, *, max_redirects: int = 5
) -> Outcome:
    """GOV.UK mode as a whole: the content item decides; page checks, if any, must agree."""
    content = await probe_govuk(fetch, release, max_redirects=max_redirects)
    if not content.live or not has_page_checks(release.rule):
        return content
    page = await probe_page(fetch, release)
    page.published_at = content.published_at
    page.live = page.live and content.live
    page.reason = f"{content.reason}; page: {page.reason}"
    return page
