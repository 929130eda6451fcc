"""GOV.UK mode on the real wire, through the guarded transport: two loopback servers stand in
for www.gov.uk and another host; what each one was asked is recorded."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

from releasewatch.model import Check, LiveRule, Release
from releasewatch.probe import HttpProber, ProbeSettings
from tests.probe_support import (
    ANNOUNCEMENT,
    DUE,
    PUBLICATION,
    TITLE,
    FakeClock,
    Handler,
    announcement_item,
    as_json,
    loopback_server,
    make_release,
    publication_item,
    redirect_item,
)

GOVUK = LiveRule(govuk=True)
HOMEPAGE = Path(__file__).parent.parent / "fixtures" / "govuk" / "homepage.json"


async def probe(release: Release, at: object = DUE, **settings: Any) -> Check:
    prober = HttpProber(FakeClock(at=at), ProbeSettings(**settings))  # type: ignore[arg-type]
    try:
        return await prober.probe(release)
    finally:
        await prober.aclose()


async def test_a_redirect_to_another_host_is_fetched_there_in_full_never_as_a_govuk_path() -> None:
    def other(h: Handler) -> None:
        h.reply(200, b"<html>Somewhere else</html>")

    with loopback_server(other) as elsewhere:
        destination = elsewhere.url("/")  # another host:port

        def govuk(h: Handler) -> None:
            if h.route_path == "/api/content" + ANNOUNCEMENT:
                h.reply(200, as_json(redirect_item(destination)))
            else:  # GOV.UK's homepage item, which used to be taken for the publication
                h.reply(200, HOMEPAGE.read_bytes())

        with loopback_server(govuk) as site:
            release = make_release(site.url(ANNOUNCEMENT), rule=GOVUK, allow_loopback=True)
            check = await probe(release, public_path="off")  # the origin's requests
    assert not check.live
    assert [s.path for s in site.seen] == ["/api/content" + ANNOUNCEMENT]
    assert [s.path for s in elsewhere.seen] == ["/"]
    assert "rwcb" in elsewhere.seen[0].query  # busted there too
    assert check.judged_url == destination
    assert "there is no Content API there" in check.reason


async def test_search_on_the_wire_has_no_cache_bust_param_and_finds_the_publication() -> None:
    def govuk(h: Handler) -> None:
        if h.route_path == "/api/content" + ANNOUNCEMENT:
            h.reply(200, as_json(announcement_item()))
        elif h.route_path == "/api/search.json":
            if set(h.query) - {
                "filter_organisations",
                "filter_content_store_document_type",
                "filter_public_timestamp",
                "order",
                "count",
                "fields",
                "c",
            }:
                h.reply(422, b'{"error":"Unexpected parameters"}')  # as GOV.UK does
                return
            rows = [{"title": TITLE, "link": PUBLICATION}]
            h.reply(200, json.dumps({"results": rows, "total": 1}).encode())
        elif h.route_path == "/api/content" + PUBLICATION:
            h.reply(200, as_json(publication_item()))
        else:
            h.reply(404, b"Not found")

    with loopback_server(govuk) as site:
        release = make_release(site.url(ANNOUNCEMENT), rule=GOVUK, allow_loopback=True)
        check = await probe(release, at=DUE + timedelta(minutes=2))
    [search] = [s for s in site.seen if s.path == "/api/search.json"]
    assert "rwcb" not in search.query and search.query["c"]
    assert search.query["filter_public_timestamp"] == ["from:2025-07-17 08:15"]
    assert check.live, check.reason
    assert check.judged_url == site.url(PUBLICATION)
