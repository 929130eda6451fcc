"""GOV.UK statistics announcements from the search API (shapes: shared/CALENDARS.md).

`/api/search.json?filter_format=statistics_announcement&filter_organisations=<slug>...`, from
today (UTC), soonest first, paged with count (<= 1500) and start until start >= total. Only
parameters the search API knows are sent: it answers 422 to any other (a cache-buster too).
A `total` that cannot be true (more than MAX_PAGES pages), a page answered twice, more than
MAX_PAGES pages, SOURCE_MAX_BYTES or MAX_SOURCE_ENTRIES fail the source (its last good import
is kept), never wait out hundreds of requests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from .announcement import (
    Announcement,
    AnnState,
    FeedError,
    Parsed,
    Skipped,
    plain,
    release_id,
    utc_instant,
)
from .fetch import FeedFetcher, count_bytes
from .spec import GovukSpec

SEARCH_PATH = "/api/search.json"
CONTENT_PREFIX = "/api/content"
ANNOUNCEMENT_PREFIX = "/government/statistics/announcements/"
FIELDS = (
    "title,link,display_date,release_timestamp,statistics_announcement_state,organisations,"
    "content_store_document_type"
)
# A Content API item is ~10 KB; up to 200 are read per sync, 4 at a time.
NOTE_MAX_BYTES = 512 * 1024
MAX_PAGES = 50  # 75,000 announcements at 1,500 a page: far past any organisation's calendar


def search_params(spec: GovukSpec, today: str, start: int) -> list[tuple[str, str]]:
    params = [("filter_format", "statistics_announcement")]
    params += [("filter_organisations", slug) for slug in spec.organisations]
    params += [
        ("filter_release_timestamp", f"from:{today}"),
        ("order", "release_timestamp"),
        ("count", str(spec.page_size)),
        ("start", str(start)),
        ("fields", FIELDS),
    ]
    return params


async def fetch_govuk(spec: GovukSpec, fetcher: FeedFetcher, now: datetime) -> Parsed:
    """Every page from today; FeedError if any page fails (the source is all-or-nothing)."""
    today = now.astimezone(UTC).date().isoformat()
    base = spec.base_url.rstrip("/")
    parsed = Parsed()
    start, received, previous = 0, 0, None
    for _ in range(MAX_PAGES):
        body = await fetcher.get(base + SEARCH_PATH, search_params(spec, today, start))
        received = count_bytes(received, body)
        links: list[str] = []
        results, total = parse_page(body, base, offset=start, into=parsed, links=links)
        if total > spec.page_size * MAX_PAGES:
            raise FeedError(
                f"total {total} is more than {MAX_PAGES} pages of {spec.page_size}; not believed"
            )
        if results and links == previous:
            raise FeedError(f"start={start} answered the same page as before")
        previous = links
        start += spec.page_size
        if not results or start >= total:
            return parsed
    raise FeedError(f"more than {MAX_PAGES} pages of announcements; narrow the organisations")


def parse_page(
    body: bytes,
    base: str,
    *,
    offset: int = 0,
    into: Parsed | None = None,
    links: list[str] | None = None,
) -> tuple[int, int]:
    """Add one search page's announcements to `into` and each result's link to `links` (to
    tell a repeated page); (results on the page, total)."""
    out = into if into is not None else Parsed()
    try:
        return _parse_page(body, base, offset, out, links if links is not None else [])
    except FeedError:
        raise
    except Exception as exc:  # hostile input fails this source alone, with a reason
        raise FeedError(f"the search API answer cannot be read ({type(exc).__name__})") from None


def _parse_page(
    body: bytes, base: str, offset: int, out: Parsed, links: list[str]
) -> tuple[int, int]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise FeedError("the search API answer is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise FeedError("the search API answer has no results list")
    total = data.get("total")
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise FeedError("the search API answer has no total")
    results: list[Any] = data["results"]
    for i, item in enumerate(results):
        where = f"results[{offset + i}]"
        link = item.get("link") if isinstance(item, dict) else None
        links.append(link if isinstance(link, str) else f"#{i}")
        result = parse_result(item, base)
        if isinstance(result, Announcement):
            out.add(result)
        else:
            title = item.get("title") if isinstance(item, dict) else None
            out.skip(Skipped(where, result, plain(title) if isinstance(title, str) else ""))
    return len(results), total


def parse_result(item: Any, base: str) -> Announcement | str:
    """One search result as an Announcement, or why it cannot be one."""
    if not isinstance(item, dict):
        return "not an object"
    title, link = item.get("title"), item.get("link")
    if not isinstance(title, str) or not plain(title):
        return "no title"
    if not isinstance(link, str) or not link.startswith(ANNOUNCEMENT_PREFIX):
        return f"link {str(link)[:80]!r} is not a statistics announcement path"
    slug = link.removeprefix(ANNOUNCEMENT_PREFIX).strip("/")
    if not slug or "/" in slug:
        return f"link {link[:80]!r} is not a statistics announcement path"
    raw_state = item.get("statistics_announcement_state")
    try:
        state = AnnState(str(raw_state))
    except ValueError:
        return f"unknown statistics_announcement_state {str(raw_state)[:40]!r}"
    display = item.get("display_date")
    display_date = display if isinstance(display, str) else ""
    due: datetime | None = None
    stamp = item.get("release_timestamp")
    if isinstance(stamp, str) and stamp:
        try:
            local = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        except ValueError:
            return f"release_timestamp {stamp[:40]!r} is not an ISO 8601 time"
        if local.tzinfo is None:
            return f"release_timestamp {stamp[:40]!r} has no offset"
        due_or_reason = utc_instant(local, "release_timestamp")
        if isinstance(due_or_reason, str):
            return due_or_reason
        due = due_or_reason
    elif state is AnnState.CONFIRMED:
        return "confirmed, but no release_timestamp"
    return Announcement(
        id=release_id("govuk", slug),
        title=plain(title),
        url=base + link,
        state=state,
        due=due,
        display_date=plain(display_date),
        publication_url=f"{base}/government/statistics/{slug}",
        producer=_producer(item.get("organisations")),
        govuk=True,
    )


def _producer(orgs: Any) -> str:
    if not isinstance(orgs, Sequence) or isinstance(orgs, str):
        return ""
    titles = [o["title"] for o in orgs if isinstance(o, dict) and isinstance(o.get("title"), str)]
    return ", ".join(plain(t) for t in titles)


async def read_note(url: str, fetcher: FeedFetcher, change: str) -> tuple[str, str]:
    """(note, previous_display_date) from an announcement's Content API item: for a cancellation
    its cancellation_reason, else its latest_change_note. FeedError if it cannot be read."""
    parsed = httpx.URL(url)
    content = str(parsed.copy_with(path=CONTENT_PREFIX + parsed.path, query=None))
    body = await fetcher.get(content, max_bytes=NOTE_MAX_BYTES)
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise FeedError("the Content API answer is not JSON") from None
    details = data.get("details") if isinstance(data, dict) else None
    if not isinstance(details, dict):
        raise FeedError("the Content API item has no details")
    field_name = "cancellation_reason" if change == "cancelled" else "latest_change_note"
    note, previous = details.get(field_name), details.get("previous_display_date")
    return (
        plain(note) if isinstance(note, str) else "",
        plain(previous) if isinstance(previous, str) else "",
    )
