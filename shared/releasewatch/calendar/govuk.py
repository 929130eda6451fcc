"""GOV.UK statistics announcements from the search API (shapes: shared/CALENDARS.md).

`/api/search.json?filter_format=statistics_announcement&filter_organisations=<slug>...`, from
today (UTC), soonest first, paged with count (<= 1500) and start until start >= total; with
`organisations: all` no filter_organisations is sent (every organisation, ~3,000+ upcoming).
Only parameters the search API knows are sent: it answers 422 to any other (a cache-buster too).

The source is all-or-nothing, and a partial answer is never taken for the whole: a partial
calendar would make every announcement it left out look withdrawn. So these fail the source
(its last good import is kept), each with its reason, and never wait out hundreds of requests:
a `total` past the source's entry cap (MAX_SOURCE_ENTRIES, or MAX_EVERYTHING_ENTRIES for
`all`: the page limit follows from it), a page answered twice, a result already seen on an
earlier page or a `total` that changes between pages (the index moved under the paging), results
that end before `total`, SOURCE_MAX_BYTES.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import httpx

from .announcement import (
    MAX_EVERYTHING_ENTRIES,
    MAX_SOURCE_ENTRIES,
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


def entry_cap(spec: GovukSpec) -> int:
    return MAX_EVERYTHING_ENTRIES if spec.everything else MAX_SOURCE_ENTRIES


async def fetch_govuk(spec: GovukSpec, fetcher: FeedFetcher, now: datetime) -> Parsed:
    """Every page from today; FeedError if any page fails or the pages do not add up to the
    `total` they claim (the source is all-or-nothing)."""
    today = now.astimezone(UTC).date().isoformat()
    base = spec.base_url.rstrip("/")
    cap = entry_cap(spec)
    parsed = Parsed(limit=cap)
    start, received, previous, first_total = 0, 0, None, None
    seen: set[str] = set()
    for _ in range(-(-cap // spec.page_size) + 1):  # the cap's pages, and one to end on
        body = await fetcher.get(base + SEARCH_PATH, search_params(spec, today, start))
        received = count_bytes(received, body)
        links: list[str] = []
        results, total = parse_page(body, base, offset=start, into=parsed, links=links)
        if total > cap:
            raise FeedError(
                f"total {total} is more than {cap} announcements (the cap for this calendar "
                "source); not believed"
            )
        if first_total is None:
            first_total = total
        elif total != first_total:
            raise FeedError(
                f"total changed from {first_total} to {total} at start={start}: the index "
                "changed while it was read; the next sync reads it again"
            )
        if results and links == previous:
            raise FeedError(f"start={start} answered the same page as before")
        again = next((link for link in links if link in seen), None)
        if again is not None:
            raise FeedError(
                f"start={start} repeats {again[:80]!r} from an earlier page: the results "
                "shifted while they were read; the next sync reads them again"
            )
        seen.update(links)
        previous = links
        if start + results < min(total, start + spec.page_size):
            raise FeedError(
                f"total says {total}, but the results end at {start + results} "
                f"(start={start}): not the whole calendar, so none of it is used"
            )
        start += spec.page_size
        if start >= total:
            return parsed
    raise FeedError(f"more pages than total {first_total} needs at {spec.page_size} a page")


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
        organisations=_slugs(item.get("organisations")),
        govuk=True,
    )


def _producer(orgs: Any) -> str:
    if not isinstance(orgs, Sequence) or isinstance(orgs, str):
        return ""
    titles = [o["title"] for o in orgs if isinstance(o, dict) and isinstance(o.get("title"), str)]
    return ", ".join(plain(t) for t in titles)


def _slugs(orgs: Any) -> tuple[str, ...]:
    if not isinstance(orgs, Sequence) or isinstance(orgs, str):
        return ()
    found = (o.get("slug") for o in orgs if isinstance(o, dict))
    return tuple(plain(s)[:200] for s in found if isinstance(s, str) and plain(s))


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
