"""The ONS release calendar, from the search API (shapes: shared/CALENDARS.md).

`/v1/search/releases?release-type=type-upcoming&fromDate=<today>` (unpublished, uncancelled),
then `release-type=type-cancelled` from today (cancelled releases are `published` too and so
never upcoming), each paged with limit (<= 1000) and offset until offset >= breakdown.total.
Pages that do not add up (a total that changes or that the releases fall short of, a release
repeated from an earlier page) fail the source, as GOV.UK's do (govuk.py). `release_date` is
UTC. Only a `finalised` release has an exact time and is watched; the others
are provisional (listed, not watched). `date_changes[-1]` is the latest move: its
`change_notice` is told with it.

The page watched is the release page, `<site>/releases/<slug>`. It answers 200 long before
publication (the calendar entry), so status 200 proves nothing: an imported release is live
only when the page says it is published (ons_rule).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ..probe.ons import ons_rule
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
from .spec import OnsSpec

RELEASES_PATH = "/v1/search/releases"
PRODUCER = "Office for National Statistics"
ORGANISATION = "office-for-national-statistics"  # its GOV.UK slug: a series may match it
MAX_PAGES = 100  # 100,000 releases a query: far past ONS's calendar (~1,000 upcoming)
KINDS = ("type-upcoming", "type-cancelled")


def search_params(spec: OnsSpec, kind: str, today: str, offset: int) -> list[tuple[str, str]]:
    return [
        ("release-type", kind),
        ("fromDate", today),
        ("sort", "release_date_asc"),
        ("limit", str(spec.page_size)),
        ("offset", str(offset)),
        ("highlight", "false"),  # no <em> tags in titles
    ]


async def fetch_ons(spec: OnsSpec, fetcher: FeedFetcher, now: datetime) -> Parsed:
    """Every upcoming and cancelled release from today; FeedError if any page fails, or the
    answers cannot end (the source is all-or-nothing)."""
    today = now.astimezone(UTC).date().isoformat()
    base, site = spec.base_url.rstrip("/"), spec.site_url.rstrip("/")
    found: dict[str, Parsed] = {}
    received = 0
    for kind in KINDS:
        parsed = found[kind] = Parsed()
        offset, previous_page, first_total = 0, None, None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            body = await fetcher.get(base + RELEASES_PATH, search_params(spec, kind, today, offset))
            received = count_bytes(received, body)
            page, total = parse_page(body, site, offset=offset, kind=kind, into=parsed)
            if total > spec.page_size * MAX_PAGES:
                raise FeedError(
                    f"{kind}: breakdown.total {total} is more than {MAX_PAGES} pages of "
                    f"{spec.page_size}; not believed"
                )
            if page and page == previous_page:
                raise FeedError(f"{kind}: offset {offset} answered the same page as before")
            _check_adds_up(kind, offset, page, total, first_total, seen, spec.page_size)
            first_total = total if first_total is None else first_total
            seen.update(page)
            previous_page = page
            offset += spec.page_size
            if offset >= total:
                break
        else:
            raise FeedError(f"{kind}: more than {MAX_PAGES} pages")
    out = found["type-cancelled"]
    cancelled = {a.id for a in out.announcements}
    upcoming = found["type-upcoming"]
    out.announcements[:0] = [a for a in upcoming.announcements if a.id not in cancelled]
    out.skipped[:0] = upcoming.skipped
    out.check()  # the two kinds together
    return out


def _check_adds_up(
    kind: str,
    offset: int,
    page: list[str],
    total: int,
    first_total: int | None,
    seen: set[str],
    page_size: int,
) -> None:
    """FeedError unless this page fits the pages before it: the same total, no release from an
    earlier page, and full up to the total. A partial calendar is never taken for the whole:
    the releases it left out would look withdrawn."""
    if first_total is not None and total != first_total:
        raise FeedError(
            f"{kind}: breakdown.total changed from {first_total} to {total} at offset {offset}: "
            "the calendar changed while it was read; the next sync reads it again"
        )
    again = next((uri for uri in page if uri in seen), None)
    if again is not None:
        raise FeedError(
            f"{kind}: offset {offset} repeats {again[:80]!r} from an earlier page: the results "
            "shifted while they were read; the next sync reads them again"
        )
    if len(page) < min(page_size, total - offset):
        raise FeedError(
            f"{kind}: breakdown.total says {total}, but the releases end at "
            f"{offset + len(page)} (offset {offset}): not the whole calendar, so none of it is "
            "used"
        )


def parse_page(
    body: bytes, site: str, *, offset: int = 0, kind: str = KINDS[0], into: Parsed | None = None
) -> tuple[list[str], int]:
    """Add one page's releases to `into`; (the page's URIs, breakdown.total)."""
    out = into if into is not None else Parsed()
    try:
        return _parse_page(body, site, offset, kind, out)
    except FeedError:
        raise
    except Exception as exc:  # hostile input fails this source alone, with a reason
        raise FeedError(
            f"the ONS search API answer cannot be read ({type(exc).__name__})"
        ) from None


def _parse_page(
    body: bytes, site: str, offset: int, kind: str, out: Parsed
) -> tuple[list[str], int]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        raise FeedError("the ONS search API answer is not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("releases"), list):
        raise FeedError("the ONS search API answer has no releases list")
    breakdown = data.get("breakdown")
    total = breakdown.get("total") if isinstance(breakdown, dict) else None
    if not isinstance(total, int) or isinstance(total, bool) or total < 0:
        raise FeedError("the ONS search API answer has no breakdown.total")
    releases: list[Any] = data["releases"]
    uris: list[str] = []
    for i, item in enumerate(releases):
        uri = item.get("uri") if isinstance(item, dict) else None
        uris.append(uri if isinstance(uri, str) else f"#{i}")
        result = parse_release(item, site)
        if isinstance(result, Announcement):
            out.add(result)
            continue
        desc = item.get("description") if isinstance(item, dict) else None
        title = desc.get("title") if isinstance(desc, dict) else None
        out.skip(
            Skipped(
                f"{kind} releases[{offset + i}]",
                result,
                plain(title) if isinstance(title, str) else "",
            )
        )
    return uris, total


def parse_release(item: Any, site: str) -> Announcement | str:
    """One release as an Announcement, or why it cannot be one."""
    if not isinstance(item, dict):
        return "not an object"
    uri, desc = item.get("uri"), item.get("description")
    if not isinstance(uri, str) or not uri.startswith("/releases/"):
        return f"uri {str(uri)[:80]!r} is not a /releases/ path"
    slug = uri.removeprefix("/releases/").strip("/")
    if not slug or "/" in slug or plain(slug) != slug:
        return f"uri {uri[:80]!r} is not a /releases/ path"
    if not isinstance(desc, dict):
        return "no description"
    title = desc.get("title")
    if not isinstance(title, str) or not plain(title):
        return "no title"
    flags: dict[str, bool] = {}
    for name in ("published", "cancelled", "finalised"):
        value = desc.get(name, False)
        if not isinstance(value, bool):
            return f"{name} {str(value)[:20]!r} is not true or false"
        flags[name] = value
    due: datetime | None = None
    stamp = desc.get("release_date")
    if isinstance(stamp, str) and stamp:
        due_or_reason = _utc(stamp)
        if isinstance(due_or_reason, str):
            if flags["finalised"] and not flags["cancelled"]:
                return due_or_reason
        else:
            due = due_or_reason
    elif flags["finalised"] and not flags["cancelled"]:
        return "finalised, but no release_date"
    if flags["published"] and not flags["cancelled"]:
        return "already published (not upcoming)"
    provisional = desc.get("provisional_date")
    display = plain(provisional) if isinstance(provisional, str) else ""
    if flags["cancelled"]:
        state = AnnState.CANCELLED
    elif flags["finalised"]:
        state = AnnState.CONFIRMED
    else:
        state = AnnState.PROVISIONAL
    note, previous = _latest_change(item.get("date_changes"))
    clean = plain(title)
    return Announcement(
        id=release_id("ons", slug),
        title=clean,
        url=site + "/releases/" + slug,
        state=state,
        due=due,
        display_date=display,
        producer=PRODUCER,
        organisations=(ORGANISATION,),
        live=ons_rule(clean),
        change_note=note,
        previous_date=previous,
    )


def _utc(stamp: str) -> datetime | str:
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return f"release_date {stamp[:40]!r} is not an ISO 8601 time"
    if when.tzinfo is None:
        return f"release_date {stamp[:40]!r} has no offset (ONS gives UTC, with Z)"
    return utc_instant(when, "release_date")


def _latest_change(changes: Any) -> tuple[str, str]:
    """(change_notice, previous_date) of the last well-formed date change, else empty."""
    if not isinstance(changes, list):
        return "", ""
    for change in reversed(changes):
        if isinstance(change, dict):
            notice, previous = change.get("change_notice"), change.get("previous_date")
            return (
                plain(notice)[:500] if isinstance(notice, str) else "",
                plain(previous)[:60] if isinstance(previous, str) else "",
            )
    return "", ""
