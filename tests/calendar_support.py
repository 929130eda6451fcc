"""A loopback server playing the GOV.UK search API for statistics announcements (shapes from
shared/CALENDARS.md): unknown parameters and count > 1500 answer 422, as the real one does;
organisations and `from:` filter; `start`/`count` page; `total` counts every match."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tests.probe_support import Handler

KNOWN_PARAMS = {
    "filter_format",
    "filter_organisations",
    "filter_release_timestamp",
    "filter_statistics_announcement_state",
    "order",
    "count",
    "start",
    "fields",
    "c",
}
IPO = {
    "slug": "intellectual-property-office",
    "title": "Intellectual Property Office",
    "acronym": "IPO",
    "link": "/government/organisations/intellectual-property-office",
}


def result(
    slug: str,
    title: str,
    when: str | None,
    state: str = "confirmed",
    display: str = "",
    org: dict[str, str] = IPO,
) -> dict[str, Any]:
    """One search result, as the search API gives it."""
    item: dict[str, Any] = {
        "title": title,
        "link": f"/government/statistics/announcements/{slug}",
        "display_date": display or (when or ""),
        "statistics_announcement_state": state,
        "content_store_document_type": "official_statistics_announcement",
        "organisations": [org],
        "index": "govuk",
        "es_score": None,
        "_id": f"/government/statistics/announcements/{slug}",
        "elasticsearch_type": "edition",
        "document_type": "edition",
    }
    if when is not None:
        item["release_timestamp"] = when
    return item


@dataclass
class FakeSearch:
    results: list[dict[str, Any]] = field(default_factory=list)
    fail_with: int | None = None  # answer every request with this status instead
    requests: int = 0  # search requests answered: how often GOV.UK was asked

    def __call__(self, h: Handler) -> None:
        if h.route_path != "/api/search.json":
            h.reply(404, b"not found")
            return
        self.requests += 1
        if self.fail_with is not None:
            h.reply(self.fail_with, b'{"error":"unavailable"}')
            return
        q = h.query
        unknown = sorted(set(q) - KNOWN_PARAMS)
        if unknown:
            body = {"error": f"Unexpected parameters: {', '.join(unknown)}"}
            h.reply(422, json.dumps(body).encode(), {"Content-Type": "application/json"})
            return
        count = int(q.get("count", ["10"])[0])
        start = int(q.get("start", ["0"])[0])
        if count > 1500:
            h.reply(422, b'{"error":"Maximum result set size (as set by count) is 1500"}')
            return
        orgs = set(q.get("filter_organisations", []))
        matching = [
            r for r in self.results if not orgs or {o["slug"] for o in r["organisations"]} & orgs
        ]
        page = matching[start : start + count]
        body = {"results": page, "total": len(matching), "start": start, "suggested_queries": []}
        h.reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})


# The ONS search API's release calendar (dp-search-api /v1/search/releases; shapes from
# shared/CALENDARS.md and dp-search-api transformer/releasetransformer.go).
ONS_PARAMS = {"release-type", "fromDate", "toDate", "sort", "limit", "offset", "highlight"}


def ons_release(
    slug: str,
    title: str,
    when: str | None,
    *,
    finalised: bool = True,
    cancelled: bool = False,
    published: bool = False,
    provisional_date: str = "",
    date_changes: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    """One release, as the ONS search API gives it."""
    description: dict[str, Any] = {
        "title": title,
        "summary": "Statistics.",
        "published": published,
        "cancelled": cancelled,
        "finalised": finalised,
        "postponed": bool(date_changes),
        "census": False,
        "keywords": [],
    }
    if when is not None:
        description["release_date"] = when
    if provisional_date:
        description["provisional_date"] = provisional_date
    return {
        "uri": f"/releases/{slug}",
        "date_changes": date_changes or [],
        "description": description,
    }


@dataclass
class FakeOns:
    """`release-type=type-upcoming` gives the unpublished, uncancelled ones (and anything
    malformed, as a broken index would); `type-cancelled` the cancelled ones; limit/offset page;
    limit over 1000 is a 400, as dp-search-api answers."""

    releases: list[Any] = field(default_factory=list)
    fail_with: int | None = None
    same_page_forever: bool = False  # ignore offset (a broken proxy)
    claimed_total: int | None = None  # breakdown.total to claim instead of the real one

    def __call__(self, h: Handler) -> None:
        if h.route_path != "/v1/search/releases":
            h.reply(404, b"not found")
            return
        if self.fail_with is not None:
            h.reply(self.fail_with, b"unavailable")
            return
        q = h.query
        unknown = sorted(set(q) - ONS_PARAMS)
        limit = int(q.get("limit", ["10"])[0])
        offset = int(q.get("offset", ["0"])[0])
        if unknown or limit > 1000:
            h.reply(400, b"Invalid limit parameter" if not unknown else b"bad parameter")
            return
        kind = q.get("release-type", ["type-published"])[0]

        def cancelled(r: Any) -> bool:
            return isinstance(r, dict) and r.get("description", {}).get("cancelled") is True

        matching = [r for r in self.releases if cancelled(r) == (kind == "type-cancelled")]
        start = 0 if self.same_page_forever else offset
        total = self.claimed_total if self.claimed_total is not None else len(matching)
        body = {
            "took": 3,
            "breakdown": {"total": total},
            "releases": matching[start : start + limit],
        }
        h.reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
