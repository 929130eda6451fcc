"""One probe of a release: its URL, and the publication itself when the announcement lingers.

GOV.UK unpublishes an announcement as a redirect to its publication asynchronously, and that
has been known to fail: the announcement stays in place while the publication is live. So a
release is live when its publication is, however it is reached:

- `publication_url` named in the config: judged whenever the announcement is not live
  (in page mode it is judged by the rule first: an announcement page that answers 200 must
  not pass for the publication; the announcement counts only when it redirects to another
  document, which is then judged by the rule, since publication_url may be a wrong guess);
- GOV.UK mode with only the announcement URL, while its announcement is still in place:
  (a) from `due - pre_window` on, the path derived from its slug
      (`/government/statistics/announcements/<slug>` → `/government/statistics/<slug>`),
      once per probe;
  (b) from `due` on, at most once every SEARCH_EVERY per release (per process), GOV.UK's
      search API for statistics publications by the announcement's organisations published
      since `due - pre_window`, matched by title loosely (titles.py: producers retitle at
      publication); the best matches' content items must themselves be statistics
      publications first published in the release's window.
  A guessed publication (a or b) first published before the announcement itself is an older
  document (last year's edition, whose identical title holds the slug): never live. One first
  published after the announcement was made, even days before the release's window, did not
  exist when this release was announced: this release's publication, released early with its
  announcement left in place (rules.judge_govuk `announced`), not another edition.

So a probe in GOV.UK mode sends at most: 1 Content API request for the announcement (plus
one per content redirect), +1 for the derived slug, and once per SEARCH_EVERY +1 search and
+1 Content API request for a matching result. Search requests carry GOV.UK's own `c`
cache-buster, never the release's parameter: the search API refuses unknown parameters.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import httpx

from ..model import Release
from .base import Fetch, Outcome
from .govuk import Followed, follow_govuk, parse_item, same_site
from .page import fetch_page, probe_page
from .rules import ANNOUNCEMENTS_INDEX, STATISTICS_TYPES, has_page_checks, parse_timestamp
from .titles import title_match

SEARCH_EVERY = timedelta(minutes=5)
SEARCH_PATH = "/api/search.json"
SEARCH_COUNT = 20
MAX_MATCHES = 2  # content items fetched for search results whose titles match
ANNOUNCEMENT_PATH = re.compile(r"/government/statistics/announcements/([^/?#]+)/?")
ORGANISATION_PATH = re.compile(r"/government/organisations/([^/?#]+)/?")


@dataclass
class Discovery:
    """When each release last searched GOV.UK: the bound on search requests."""

    search_every: timedelta = SEARCH_EVERY
    last_search: dict[str, datetime] = field(default_factory=dict)

    def search_due(self, release: Release, now: datetime) -> bool:
        if now < release.due:
            return False
        last = self.last_search.get(release.id)
        return last is None or not last <= now < last + self.search_every

    def searched(self, release: Release, now: datetime) -> None:
        self.last_search[release.id] = now


async def probe_release(
    fetch: Fetch,
    release: Release,
    now: datetime,
    discovery: Discovery,
    *,
    max_redirects: int = 5,
) -> Outcome:
    """Probe a release once, in page or GOV.UK mode; see the module docstring."""
    if not release.rule.govuk:
        if release.publication_url is None:
            # Fetched only: HttpProber judges it once the host's slot is free (page.fetch_page).
            return await fetch_page(fetch, release)
        outcome = await probe_page(fetch, _at(release, release.publication_url))
        outcome.reason = f"publication {release.publication_url}: {outcome.reason}"
        if outcome.live:
            return outcome
        # publication_url is a guess: GOV.UK may publish under another slug and redirect the
        # announcement there. Only a redirected announcement is judged (one answering 200 is
        # the announcement itself), and never one sent to the announcements list or the
        # homepage, which is how GOV.UK removes an announcement without a publication.
        announced = await probe_page(fetch, release)
        if announced.live and _redirected_to_a_document(release.url, announced):
            where = announced.fetched.final_url
            announced.reason = f"announcement redirected to {where}: {announced.reason}"
            return announced
        if announced.cancellation is not None:  # a cancellation wins (policy)
            outcome.cancellation = announced.cancellation
            outcome.reason = f"{outcome.reason}; announcement: {announced.reason}"
        return outcome
    content = await _probe_govuk(fetch, release, now, discovery, max_redirects)
    if not content.live or not has_page_checks(release.rule):
        return content
    # Page checks, if any, must agree, on the page of the document that was judged.
    page = await probe_page(fetch, _at(release, content.judged_url or release.url))
    page.published_at = content.published_at
    page.live = page.live and content.live
    page.reason = f"{content.reason}; page: {page.reason}"
    return page


async def _probe_govuk(
    fetch: Fetch, release: Release, now: datetime, discovery: Discovery, max_redirects: int
) -> Outcome:
    since = release.due - release.cadence.lookahead  # older editions are not this release's
    main = await follow_govuk(fetch, release.url, max_redirects=max_redirects, since=since)
    if main.outcome.live:
        return main.outcome
    tried: list[str] = []
    candidates: list[tuple[str, str]] = []
    if release.publication_url is not None:
        candidates.append(("publication", release.publication_url))
    elif main.announcement is not None and now >= release.due - release.pre_window:
        derived = derived_publication_url(release.url, main.announcement)
        if derived is not None:
            candidates.append(("publication at the announcement's slug", derived))
    announced = announced_at(main.announcement)
    for how, url in candidates:
        guessed = how != "publication"  # a guess, not named in the config
        found = await follow_govuk(
            fetch,
            url,
            max_redirects=max_redirects,
            since=since,
            announced=announced if guessed else None,
        )
        if guessed:
            _older_than(found, main.announcement)
        if found.outcome.live:
            return _found(found, how, main.outcome)
        tried.append(f"{how} {url}: {found.outcome.reason}")
    if (
        release.publication_url is None
        and main.announcement is not None
        and discovery.search_due(release, now)
    ):
        discovery.searched(release, now)
        paths, note = await search_publications(fetch, release, main.announcement)
        for path, why in paths[:MAX_MATCHES]:
            url = str(httpx.URL(release.url).join(path).copy_with(query=None, fragment=None))
            found = await follow_govuk(
                fetch, url, max_redirects=max_redirects, since=since, announced=announced
            )
            _older_than(found, main.announcement)
            if found.outcome.live:
                how = f"publication found by GOV.UK search, {why}"
                return _found(found, how, main.outcome)
            tried.append(f"search result {url}: {found.outcome.reason}")
        if note:
            tried.append(note)
    if tried:
        main.outcome.reason = "; ".join([main.outcome.reason, *tried])
    return main.outcome


def _redirected_to_a_document(url: str, outcome: Outcome) -> bool:
    fetched = outcome.fetched
    if not fetched.redirects or fetched.error is not None:
        return False
    final = httpx.URL(fetched.final_url).path.rstrip("/")
    return final not in ("", httpx.URL(url).path.rstrip("/"), ANNOUNCEMENTS_INDEX)


def announced_at(announcement: Mapping[str, Any] | None) -> datetime | None:
    """When the announcement was made (its first_published_at), if it says."""
    stamp = announcement.get("first_published_at") if announcement is not None else None
    return parse_timestamp(stamp) if isinstance(stamp, str) else None


def _older_than(found: Followed, announcement: Mapping[str, Any] | None) -> None:
    """A guessed publication (derived slug, search) dated before the announcement was made is
    an older document (last year's edition, whose identical title holds the slug), not the
    publication the announcement announces: not live."""
    outcome = found.outcome
    stamp = announcement.get("first_published_at") if announcement is not None else None
    announced = parse_timestamp(stamp) if isinstance(stamp, str) else None
    if not outcome.live or outcome.published_at is None or announced is None:
        return
    if outcome.published_at < announced:
        outcome.live = False
        outcome.reason = (
            f"{outcome.reason}, before the announcement was made ({announced.isoformat()}): "
            "an older document, not this release's publication"
        )
        outcome.published_at = None


def _found(found: Followed, how: str, announcement: Outcome) -> Outcome:
    outcome = found.outcome
    outcome.reason = f"{outcome.reason} ({how}; announcement: {announcement.reason})"
    return outcome


def _at(release: Release, url: str) -> Release:
    return release if url == release.url else release.model_copy(update={"url": url})


def derived_publication_url(announcement_url: str, item: Mapping[str, Any]) -> str | None:
    """`/government/statistics/announcements/<slug>` → `/government/statistics/<slug>`."""
    base = item.get("base_path")
    path = base if isinstance(base, str) else httpx.URL(announcement_url).path
    match = ANNOUNCEMENT_PATH.fullmatch(path)
    if match is None:
        return None
    url = httpx.URL(announcement_url)
    return str(url.copy_with(path=f"/government/statistics/{match[1]}", query=None, fragment=None))


def organisation_slugs(item: Mapping[str, Any]) -> list[str]:
    links = item.get("links")
    orgs = links.get("organisations") if isinstance(links, Mapping) else None
    slugs: list[str] = []
    for org in orgs if isinstance(orgs, list) else []:
        base = org.get("base_path") if isinstance(org, Mapping) else None
        match = ORGANISATION_PATH.fullmatch(base) if isinstance(base, str) else None
        if match is not None and match[1] not in slugs:
            slugs.append(match[1])
    return slugs


def normalise_title(title: str) -> str:
    """Case, accents' forms, punctuation and spacing do not tell two titles apart."""
    text = unicodedata.normalize("NFKC", title).casefold()
    return " ".join(re.sub(r"[\W_]+", " ", text).split())


def search_url(release: Release, organisations: list[str]) -> str:
    """GOV.UK search for statistics publications by these organisations since the pre-window."""
    since = (release.due - release.pre_window).astimezone(UTC)
    params: list[tuple[str, str]] = [("filter_organisations", slug) for slug in organisations]
    params += [("filter_content_store_document_type", t) for t in sorted(STATISTICS_TYPES)]
    params += [
        ("filter_public_timestamp", f"from:{since:%Y-%m-%d %H:%M}"),
        ("order", "-public_timestamp"),
        ("count", str(SEARCH_COUNT)),
        *[("fields", f) for f in ("title", "link", "public_timestamp")],
        ("c", secrets.token_hex(4)),  # the only cache-buster the search API accepts
    ]
    url = httpx.URL(release.url).copy_with(path=SEARCH_PATH, query=None, fragment=None)
    return str(url.copy_with(query=urlencode(params).encode("ascii")))


async def search_publications(
    fetch: Fetch, release: Release, announcement: Mapping[str, Any]
) -> tuple[list[tuple[str, str]], str | None]:
    """Paths of search results titled like the announcement, best first, each with the
    evidence that chose it; and a note when none were.

    The search is narrowed by what GOV.UK says of the document (the announcement's
    organisations, a statistics document type, public since the pre-window); the title is
    matched loosely (titles.py: words, not strings, dates and boilerplate weighed down), since
    producers retitle at publication. The content item then decides (statistics publication,
    first published in the release's window)."""
    organisations = organisation_slugs(announcement)
    if not organisations:
        return [], "search skipped: the announcement names no organisation"
    title = announcement.get("title")
    wanted = title if isinstance(title, str) and title else release.title
    fetched = await fetch(search_url(release, organisations), read_body=True, bust=False)
    if fetched.error is not None or fetched.status != 200:
        return [], f"search failed: {fetched.reason or f'status {fetched.status}'}"
    answer = parse_item(fetched.body)
    results = answer.get("results") if answer is not None else None
    if not isinstance(results, list):
        return [], "search failed: the answer has no results list"
    home = httpx.URL(release.url)
    scored: list[tuple[float, str, str]] = []
    by = ", ".join(organisations)
    for result in results:
        if not isinstance(result, Mapping):
            continue
        found_title, link = result.get("title"), result.get("link")
        if not isinstance(found_title, str) or not isinstance(link, str):
            continue
        match = title_match(wanted, found_title)
        if not match.matches:
            continue
        try:
            target = home.join(link)
        except (httpx.InvalidURL, ValueError, UnicodeError):
            continue
        if same_site(target, home) and target.path not in {p for _, p, _ in scored}:
            # A result on another host has no content item.
            why = f"by {by}, titled {_quote(found_title)}, {match.describe()}"
            scored.append((match.score, target.path, why))
    if not scored:
        return (
            [],
            "search found no statistics publication with the announcement's title or one like it",
        )
    scored.sort(key=lambda s: -s[0])  # stable: GOV.UK's newest first among equals
    return [(path, why) for _, path, why in scored], None


def _quote(text: str, limit: int = 80) -> str:
    short = text if len(text) <= limit else text[: limit - 1] + "…"
    return f"'{short}'"
