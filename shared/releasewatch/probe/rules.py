"""Pure live-rule judging: what a fetched page (or GOV.UK content item) says about a release.

Nothing here does I/O; the probers fetch and hand over what they saw. Every verdict carries a
reason a person can read on the dashboard or in an alert.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

import httpx

from ..model import LiveRule
from .ons import ons_rule
from .text import PageText, normalise

ANNOUNCEMENTS_INDEX = "/government/statistics/announcements"

# Wording a page must not show to count as live under the default rule (default_rule, applied
# by config): GOV.UK pages that can be served with status 200 but are not the publication.
# Matched on the visible text, case and quote style ignored (text.normalise).
GOVUK_NOT_LIVE_WORDING: tuple[str, ...] = (
    # The error pages, alphagov/frontend app/views/static_error_pages/500..504.html.erb (until
    # January 2025 alphagov/static app/views/root/500.html.erb etc.): heading and intro.
    "Sorry, we're experiencing technical difficulties",
    "Please try again in a few moments",
    # The maintenance page, alphagov/static app/views/root/scheduled_maintenance.html.erb.
    "unavailable due to scheduled maintenance",
    # The statistics announcement page, alphagov/frontend
    # app/views/statistics_announcement/show.html.erb: its heading caption ("Official
    # statistics announcement", "Accredited official statistics announcement", from
    # config/locales/en.yml formats.*_announcement.name; "National statistics announcement"
    # on pages from before accreditation was renamed) and the cancellation notice. Every
    # announcement page carries a caption, so the forthcoming notice ("These statistics will
    # be released on ...") is not needed, and it is left out on purpose: a publication may
    # well say "these statistics will be released quarterly", and that must not hide it.
    "official statistics announcement",
    "national statistics announcement",
    "Statistics release cancelled",
)
_EXCERPT = 60


class Verdict(NamedTuple):
    live: bool
    reason: str


class GovukVerdict(NamedTuple):
    live: bool
    reason: str
    published_at: datetime | None = None
    follow: str | None = None  # a redirect's destination path whose item decides instead
    cancelled: str | None = None  # a cancelled announcement: GOV.UK's reason ("" if none)


def judge_page(
    rule: LiveRule,
    status: int | None,
    final_url: str,
    text: str | None,
    source: str | None = None,
) -> Verdict:
    """Judge a page against the rule's status, final URL, text and markup checks.

    `text` is what a person sees on the page (text.visible_text; any other str is normalised
    first); None when the rule has no text checks (the body was not read). `source` is the
    decoded body, markup and all, for the rule's `markup` checks.
    """
    problems = page_problems(rule, status, final_url, text, source)
    if problems:
        return Verdict(False, "; ".join(problems))
    return Verdict(True, f"status {status}, all checks passed")


def page_problems(
    rule: LiveRule,
    status: int | None,
    final_url: str,
    text: str | None,
    source: str | None = None,
) -> list[str]:
    if status is None:
        return ["no response"]
    if status != rule.status:
        # The other checks mean little on the wrong page; one clear reason is better.
        return [f"status {status}, expected {rule.status}"]
    problems: list[str] = []
    if rule.final_url is not None and re.search(rule.final_url, final_url) is None:
        problems.append(f"final URL {final_url} does not match {rule.final_url!r}")
    if rule.contains or rule.not_contains:
        seen = text if isinstance(text, PageText) else normalise(text or "")
        problems += [f"missing text {_quote(t)}" for t in rule.contains if normalise(t) not in seen]
        problems += [
            f"text {_quote(t)} still present" for t in rule.not_contains if normalise(t) in seen
        ]
    problems += [f"page source lacks {_quote(m)}" for m in rule.markup if m not in (source or "")]
    problems += [f"page source has {_quote(m)}" for m in rule.not_markup if m in (source or "")]
    return problems


def needs_body(rule: LiveRule) -> bool:
    return bool(rule.contains or rule.not_contains or rule.markup or rule.not_markup)


def has_page_checks(rule: LiveRule) -> bool:
    return needs_body(rule) or rule.final_url is not None


# The publication a statistics announcement leads to: whitehall lets an announcement name only
# these publication types ("Official Statistics" and "Accredited Official Statistics", shown
# from document type national_statistics). statistical_data_set is a separate schema for raw
# data, never an announcement's publication, so it is deliberately not here.
STATISTICS_TYPES = frozenset({"official_statistics", "national_statistics"})

# public_updated_at this long after first_published_at: the document was republished (a new
# edition of a page updated in place), not merely stamped twice when first published.
REPUBLISHED_AFTER = timedelta(days=1)

# How a reason names what an announcement led to instead of a statistics publication.
_KINDS = {
    "homepage": "the GOV.UK homepage",
    "finder": "an index page (finder)",
    "guidance": "a guidance page",
    "statutory_guidance": "a statutory guidance page",
    "detailed_guide": "a guidance page",
    "corporate_report": "a corporate report",
    "policy_paper": "a policy paper",
    "statistical_data_set": "a statistical data set",
    "official_statistics_announcement": "a statistics announcement",
    "national_statistics_announcement": "a statistics announcement",
}


def default_rule(title: str, rule: LiveRule, url: str | None = None) -> LiveRule:
    """`rule`, or for a rule that would check the status alone, the default content rule: the
    title must appear in the page's visible text and GOV.UK's error, maintenance and
    announcement wording must not. An ONS release page (`url` on ons.gov.uk under
    /releases/) gets the ONS rule instead, however the release came (the ONS calendar or a
    config written by hand): it answers 200 with the title long before it is published.
    `status_only: true` opts out; GOV.UK mode decides from the content item instead."""
    if rule.status_only or not checks_status_only(rule):
        return rule
    if url is not None and is_ons_release_page(url):
        ons = ons_rule(title)
        return rule.model_copy(
            update={
                "contains": ons.contains,
                "not_contains": ons.not_contains,
                "not_markup": ons.not_markup,
            }
        )
    return rule.model_copy(update={"contains": (title,), "not_contains": GOVUK_NOT_LIVE_WORDING})


ONS_HOSTS = frozenset({"ons.gov.uk", "www.ons.gov.uk"})
ONS_RELEASES = "/releases/"


def is_ons_release_page(url: str) -> bool:
    """A release page on the ONS website (dp-frontend-release-calendar, or the new CMS's)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError, UnicodeError):
        return False
    host = parsed.host.lower().rstrip(".")
    return host in ONS_HOSTS and parsed.path.startswith(ONS_RELEASES)


def checks_status_only(rule: LiveRule) -> bool:
    """A rule that any page served with the right status satisfies, error pages included."""
    return not rule.govuk and not has_page_checks(rule)


def judge_govuk(
    item: Mapping[str, Any],
    since: datetime | None = None,
    *,
    vouched: bool = False,
    announced: datetime | None = None,
) -> GovukVerdict:
    """Judge a GOV.UK Content API item (see GOVUK.md for the shapes).

    Only a statistics publication (schema `publication`, a STATISTICS_TYPES document type,
    not withdrawn, with a first_published_at) is live. Anything else is reported as what it
    is: a date alone proves nothing, since every published GOV.UK page has one.

    `since` (the release's due - lookahead) tells a new edition from an old one. Some series
    republish one document in place each time (its first_published_at years old): a document
    republished since its first publication (public_updated_at over a day later) is dated by
    public_updated_at, this edition's time, and is an earlier edition, not live, if that is
    not after `since`; a later edition is dated by the first entry of its change history after
    `since` (a correction made since moves public_updated_at, not this edition's time).

    A document never republished and first published before `since` is another edition (last
    year's at a configured or guessed URL), not live, unless it is `vouched` for: reached by
    the announcement's own redirect, so a publication released days early is still early; or
    first published after this release's announcement was made (`announced`, given for a
    guessed URL): a new document that did not exist when this release was announced is this
    release's publication, released early with its announcement left in place, not an earlier
    edition (an earlier edition was published before its successor was announced). A document
    republished in place gets no such credit: a correction to the last edition made after
    this announcement would look the same.
    """
    schema = item.get("schema_name")
    details = item.get("details")
    details = details if isinstance(details, Mapping) else {}
    where = _text(item.get("base_path")) or "(no path)"
    if schema == "statistics_announcement":
        state = details.get("state") or "unknown"
        shown = details.get("display_date") or "no display date"
        if state == "cancelled":
            why = details.get("cancellation_reason")
            why = why.strip() if isinstance(why, str) else ""
            told = f": {_quote(why)}" if why else ", no reason given"
            return GovukVerdict(
                False, f"statistics announcement cancelled (was {shown!s}){told}", cancelled=why
            )
        return GovukVerdict(
            False,
            f"statistics announcement still in place (state {state}, display date {shown})",
        )
    if schema == "redirect":
        destination = _redirect_destination(item)
        if destination is None:
            return GovukVerdict(False, "redirect item without a destination")
        path = destination.split("?", 1)[0].split("#", 1)[0].rstrip("/")
        if path == ANNOUNCEMENTS_INDEX:
            return GovukVerdict(False, "announcement deleted without publication")
        return GovukVerdict(False, f"announcement redirects to {destination}", follow=destination)
    if schema == "gone":
        return GovukVerdict(False, "document is gone")
    if schema == "vanish":
        return GovukVerdict(False, f"document {where} has vanished (removed without a trace)")
    doc_type = _text(item.get("document_type"))
    if schema != "publication" or doc_type not in STATISTICS_TYPES:
        kind = _KINDS.get(doc_type) or _KINDS.get(_text(schema)) or _a(doc_type or schema)
        return GovukVerdict(False, f"{kind} {where}, not a statistics publication")
    withdrawn = item.get("withdrawn_notice")
    if isinstance(withdrawn, Mapping) and withdrawn.get("withdrawn_at"):
        return GovukVerdict(
            False, f"statistics publication {where} withdrawn at {withdrawn['withdrawn_at']}"
        )
    first = item.get("first_published_at")
    if not isinstance(first, str) or not first:
        return GovukVerdict(False, f"statistics publication {where} has no first_published_at")
    published = parse_timestamp(first)
    if published is None:
        return GovukVerdict(False, f"unreadable first_published_at {_quote(first)}")
    updated = item.get("public_updated_at")
    edition = parse_timestamp(updated) if isinstance(updated, str) else None
    republished = edition is not None and edition - published > REPUBLISHED_AFTER
    after_announcement = announced is not None and published >= announced
    if since is not None and published < since and not republished and after_announcement:
        return GovukVerdict(
            True,
            f"statistics publication {where} first published {published.isoformat()}, "
            f"before this release's window (from {since.isoformat()}) but after its "
            f"announcement was made ({announced.isoformat() if announced else ''}): "
            "this release's publication, released early",
            published_at=published,
        )
    if since is not None and published < since and (republished or not vouched):
        if not republished or edition is None or edition <= since:
            last = edition.isoformat() if edition is not None else "never since"
            return GovukVerdict(
                False,
                f"statistics publication {where} first published {published.isoformat()}, "
                f"last updated {last}: an earlier edition, before this release's window "
                f"(from {since.isoformat()}), not this release's",
            )
        # This edition's own time, not the document's first one, nor a later correction's.
        published = edition_time(details, since) or edition
    label = "accredited official statistics" if doc_type == "national_statistics" else doc_type
    return GovukVerdict(
        True,
        f"statistics publication ({label.replace('_', ' ')}) {where} "
        f"first published {published.isoformat()}",
        published_at=published,
    )


def edition_time(details: Mapping[str, Any], since: datetime) -> datetime | None:
    """The first change-history entry after `since`: when this edition was published."""
    history = details.get("change_history")
    stamps = [
        parse_timestamp(entry["public_timestamp"])
        for entry in (history if isinstance(history, list) else [])
        if isinstance(entry, Mapping) and isinstance(entry.get("public_timestamp"), str)
    ]
    return min((s for s in stamps if s is not None and s > since), default=None)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _a(kind: Any) -> str:
    words = (_text(kind) or "unknown document").replace("_", " ")
    return f"{'an' if words[:1] in 'aeiou' else 'a'} {words}"


def _redirect_destination(item: Mapping[str, Any]) -> str | None:
    redirects = item.get("redirects")
    if not isinstance(redirects, list):
        return None
    base = item.get("base_path")
    candidates = [r for r in redirects if isinstance(r, Mapping) and r.get("destination")]
    exact = [r for r in candidates if r.get("path") == base]
    chosen = exact or candidates
    return str(chosen[0]["destination"]) if chosen else None


def parse_timestamp(text: str) -> datetime | None:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return when.astimezone(UTC)


def _quote(text: str) -> str:
    short = text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"
    return f"'{short}'"
