"""GOV.UK mode: decide from the Content API item, not from what the page looks like.

For a page `https://www.gov.uk<path>` we fetch `https://www.gov.uk/api/content<path>` (same
host, same cache-busting, same guard) and judge the item (rules.judge_govuk): only a
statistics publication is live, and its `first_published_at` is `published_at`.

- a `statistics_announcement`: not live (the reason names its state and display date);
- a `redirect` to `/government/statistics/announcements`: not live, "announcement deleted
  without publication";
- a `redirect` to another path on the same host: only a hint. We fetch the destination's
  own item and decide from that, following at most `max_redirects` such items;
- a `redirect` to another host (`https://somewhere.else.gov.uk`): there is no Content API
  there, so the full URL is fetched (guarded and busted like every request) and reported as
  what it is; never live. It is never reduced to its path on www.gov.uk, where `/` would be
  GOV.UK's homepage item. An HTTP redirect of the Content API request to another host is
  likewise reported, never judged as an item.

The Check's `url` is the first Content API request, `redirects` runs from the announcement's
item to the item that decided, and `judged_url` is the page of the item that decided (or the
other host's URL).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from .base import Fetch, Fetched, Outcome
from .rules import GovukVerdict, judge_govuk

API_PREFIX = "/api/content"


@dataclass
class Followed:
    """What following one page's content items ended on."""

    outcome: Outcome
    # The announcement item when that is where it ended and it is not cancelled: the
    # publication may be live without the announcement having been redirected to it.
    announcement: Mapping[str, Any] | None = None


def content_api_url(page_url: str) -> str:
    """The Content API URL for a page on its own host."""
    url = httpx.URL(page_url)
    target = url.path if url.path.startswith(API_PREFIX + "/") else API_PREFIX + url.path
    return str(url.copy_with(path=target, query=None, fragment=None))


def page_url_of(api_url: str) -> str:
    """The page a Content API URL describes (the inverse of content_api_url)."""
    url = httpx.URL(api_url)
    path = url.path.removeprefix(API_PREFIX) if url.path.startswith(API_PREFIX + "/") else url.path
    return str(url.copy_with(path=path or "/", query=None, fragment=None))


def same_site(a: httpx.URL, b: httpx.URL) -> bool:
    """Whether two URLs are on one site: gov.uk redirects to www.gov.uk, so "www." is moot."""
    return (a.scheme, _site(a.host), a.port) == (b.scheme, _site(b.host), b.port)


def _site(host: str) -> str:
    return host.lower().rstrip(".").removeprefix("www.")


async def follow_govuk(
    fetch: Fetch,
    page_url: str,
    *,
    max_redirects: int = 5,
    since: datetime | None = None,
    announced: datetime | None = None,
) -> Followed:
    """Judge `page_url` by its content item, following content redirects (see module doc).
    `since`, `announced`: see rules.judge_govuk (an earlier edition; a guessed URL's document
    first published after this release's announcement was made)."""
    home = httpx.URL(page_url)
    current = home
    first = await fetch(content_api_url(page_url), read_body=True)
    chain: list[str] = list(first.redirects)
    fetched = first
    hints: list[str] = []
    for hop in range(max_redirects + 1):
        # Reached by a content redirect (the announcement's own): vouched for as this
        # release's publication, early or not (rules.judge_govuk).
        judged = _judge_fetched(fetched, since, vouched=hop > 0, announced=announced)
        if isinstance(judged, Outcome):
            return Followed(_recorded(judged, first, chain, hints))
        verdict, item = judged
        if verdict.follow is None:
            outcome = Outcome(
                fetched,
                verdict.live,
                verdict.reason,
                published_at=verdict.published_at,
                judged_url=page_url_of(fetched.final_url or fetched.url),
                cancellation=verdict.cancelled,
            )
            announcement = item if _in_place_announcement(item) else None
            return Followed(_recorded(outcome, first, chain, hints), announcement)
        if hop == max_redirects:
            break
        hints.append(verdict.reason)
        try:
            destination = current.join(verdict.follow)
            destination = destination.copy_with(path=destination.path, fragment=None)
        except (httpx.InvalidURL, ValueError, UnicodeError):
            bad = Outcome(fetched, False, f"malformed redirect destination {verdict.follow!r}")
            bad.error = "invalid_url"
            return Followed(_recorded(bad, first, chain, hints))
        if not same_site(destination, home):
            elsewhere = await fetch(str(destination), read_body=False)
            chain += [elsewhere.url, *elsewhere.redirects]
            return Followed(_recorded(_off_site(elsewhere, home), first, chain, hints))
        current = destination
        fetched = await fetch(content_api_url(str(destination)), read_body=True)
        chain += [fetched.url, *fetched.redirects]
    too_many = Outcome(fetched, False, "too many content redirects", "too_many_redirects")
    return Followed(_recorded(too_many, first, chain, hints))


def _judge_fetched(
    fetched: Fetched,
    since: datetime | None = None,
    *,
    vouched: bool = False,
    announced: datetime | None = None,
) -> Outcome | tuple[GovukVerdict, Mapping[str, Any]]:
    """An Outcome when this fetch settles it without an item, else the item's verdict."""
    if fetched.error is not None:
        return Outcome(fetched, False, fetched.reason or fetched.error, fetched.error)
    asked, answered = httpx.URL(fetched.url), httpx.URL(fetched.final_url or fetched.url)
    if not same_site(asked, answered):
        # An HTTP redirect off the host: whatever answered there is not a content item.
        return Outcome(
            fetched,
            False,
            f"content API request redirected to another host, {fetched.final_url} "
            f"(status {fetched.status}); not a statistics publication",
            judged_url=fetched.final_url,
        )
    page = page_url_of(fetched.final_url or fetched.url)
    if fetched.status == 404:
        return Outcome(fetched, False, "content item not found (status 404)", judged_url=page)
    if fetched.status == 410:
        return Outcome(fetched, False, "content item gone (status 410)", judged_url=page)
    if fetched.status != 200:
        reason = f"content API status {fetched.status}, expected 200"
        return Outcome(fetched, False, reason, judged_url=page)
    item = parse_item(fetched.body)
    if item is None:
        reason = "content API answer is not a JSON object"
        if _too_deep(fetched.body):
            reason = "answer nested too deeply to read"
        return Outcome(fetched, False, reason, "bad_content", judged_url=page)
    return judge_govuk(item, since, vouched=vouched, announced=announced), item


def _off_site(fetched: Fetched, home: httpx.URL) -> Outcome:
    where = fetched.final_url or fetched.url
    if fetched.error is not None:
        seen = fetched.reason or fetched.error
    else:
        seen = f"status {fetched.status}"
    reason = (
        f"announcement redirects off {home.host} to {where} ({seen}); there is no "
        "Content API there: not a statistics publication"
    )
    return Outcome(fetched, False, reason, fetched.error, judged_url=where)


def _in_place_announcement(item: Mapping[str, Any]) -> bool:
    details = item.get("details")
    state = details.get("state") if isinstance(details, Mapping) else None
    return item.get("schema_name") == "statistics_announcement" and state != "cancelled"


def parse_item(body: bytes | None) -> dict[str, Any] | None:
    try:
        item = json.loads(body or b"")
    except (ValueError, RecursionError):
        return None
    return item if isinstance(item, dict) else None


def _too_deep(body: bytes | None) -> bool:
    try:
        json.loads(body or b"")
    except RecursionError:
        return True
    except ValueError:
        return False
    return False


def _recorded(outcome: Outcome, first: Fetched, chain: list[str], hints: list[str]) -> Outcome:
    outcome.url = first.requested_url or first.url
    outcome.redirects = chain
    if hints:
        outcome.reason = "; ".join([*hints, outcome.reason])
    return outcome
