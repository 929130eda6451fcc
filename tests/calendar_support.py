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

    def __call__(self, h: Handler) -> None:
        if h.route_path != "/api/search.json":
            h.reply(404, b"not found")
            return
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
