"""HttpProber against httpx.MockTransport: a routing function by path stands in for GOV.UK.

Edge cases live here (stale 404, redirect loop, 503, huge body, announcement → publication);
the wire itself (cache-busting, timeouts, resets) is tested against a loopback server.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime

import httpx
import pytest

from releasewatch.model import LiveRule, Release
from releasewatch.probe import HttpProber, Prober, ProbeSettings
from releasewatch.probe.http import DEFAULT_USER_AGENT, bust_url, strip_param
from tests.probe_support import (
    ANNOUNCEMENT,
    PUBLICATION,
    TITLE,
    FakeClock,
    announcement_item,
    as_json,
    make_release,
    publication_item,
    redirect_item,
)

HOST = "https://www.gov.uk"
LIVE_HTML = f"<html><h1>{TITLE}</h1><p>Main points</p></html>"
ANNOUNCEMENT_HTML = f"<html><h1>{TITLE}</h1><p>Statistics release announcement</p></html>"

Route = Callable[[httpx.Request], httpx.Response]


def prober(route: Route, **settings: object) -> HttpProber:
    return HttpProber(
        FakeClock(),
        ProbeSettings(**settings),
        transport=httpx.MockTransport(route),  # type: ignore[arg-type]
    )


async def probe_one(
    route: Route, release: Release, **settings: object
) -> tuple[object, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def recording(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return route(request)

    p = prober(recording, **settings)
    try:
        return await p.probe(release), seen
    finally:
        await p.aclose()


def gov_uk(request: httpx.Request) -> httpx.Response:
    """A GOV.UK stand-in after a release went live, with the usual failure pages."""
    path = request.url.path
    if path == "/stale":
        return httpx.Response(404, text="Not found", headers={"Age": "240", "X-Cache": "HIT"})
    if path in ("/loop/a", "/loop/b"):
        return httpx.Response(
            301, headers={"Location": "/loop/b" if path.endswith("a") else "/loop/a"}
        )
    if path.startswith("/hop/"):
        n = int(path.rsplit("/", 1)[1])
        return httpx.Response(302, headers={"Location": f"/hop/{n + 1}"})
    if path == "/down":
        return httpx.Response(503, text="Service unavailable")
    if path == ANNOUNCEMENT:
        return httpx.Response(
            301,
            headers={"Location": f"{HOST}{PUBLICATION}", "Cache-Control": "max-age=1800, public"},
        )
    if path == PUBLICATION:
        return httpx.Response(
            200,
            text=LIVE_HTML,
            headers={"Age": "0", "Cache-Control": "max-age=300, public", "X-Cache": "MISS"},
        )
    if path == "/api/content" + ANNOUNCEMENT:
        return httpx.Response(200, content=as_json(redirect_item(PUBLICATION)))
    if path == "/api/content" + PUBLICATION:
        return httpx.Response(200, content=as_json(publication_item()))
    return httpx.Response(404, text="Not found")


# -- what every request carries --------------------------------------------------------------


async def test_every_request_is_busted_with_a_fresh_value_and_no_cache_headers() -> None:
    release = make_release(f"{HOST}{ANNOUNCEMENT}")
    check, seen = await probe_one(gov_uk, release)
    assert check.live
    assert [r.url.path for r in seen] == [ANNOUNCEMENT, PUBLICATION]
    tokens = [r.url.params.get_list("rwcb") for r in seen]
    assert all(len(t) == 1 and t[0] for t in tokens)
    assert tokens[0] != tokens[1]
    for request in seen:
        assert request.headers["cache-control"] == "no-cache"
        assert request.headers["pragma"] == "no-cache"
        assert request.headers["user-agent"] == DEFAULT_USER_AGENT
    assert (
        DEFAULT_USER_AGENT.startswith("releasewatch/0.")
        and "(+https://github.com/releasewatch)" in DEFAULT_USER_AGENT
    )


async def test_values_differ_across_probes_of_the_same_page() -> None:
    seen: list[httpx.Request] = []

    def route(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    p = prober(route)
    await p.probe_many([make_release(f"{HOST}/p")] * 20)
    await p.aclose()
    values = {r.url.params["rwcb"] for r in seen}
    assert len(values) == 20


async def test_param_is_appended_to_an_existing_query_string_unchanged() -> None:
    release = make_release(f"{HOST}/search?q=labour%20market&page=2")
    check, seen = await probe_one(lambda r: httpx.Response(200), release)
    raw = seen[0].url.query.decode()
    assert raw.startswith("q=labour%20market&page=2&rwcb=")
    assert check.url == str(seen[0].url)
    assert check.final_url == f"{HOST}/search?q=labour%20market&page=2"


async def test_param_name_comes_from_the_release() -> None:
    _, seen = await probe_one(
        lambda r: httpx.Response(200), make_release(f"{HOST}/p", cache_bust_param="cb")
    )
    assert set(seen[0].url.params) == {"cb"}


async def test_no_param_when_cache_busting_is_off_but_headers_stay() -> None:
    release = make_release(f"{HOST}/p?x=1", cache_bust_param=None)
    check, seen = await probe_one(lambda r: httpx.Response(200), release)
    assert str(seen[0].url) == f"{HOST}/p?x=1"
    assert seen[0].headers["cache-control"] == "no-cache"
    assert check.url == f"{HOST}/p?x=1"


def test_bust_url_replaces_a_stale_value_rather_than_adding_a_second() -> None:
    url = bust_url(httpx.URL(f"{HOST}/p?rwcb=old&a=1"), "rwcb", "new")
    assert url.params.get_list("rwcb") == ["new"]
    assert url.params["a"] == "1"
    assert strip_param(url, "rwcb") == httpx.URL(f"{HOST}/p?a=1")
    assert strip_param(httpx.URL(f"{HOST}/p?rwcb=1"), "rwcb") == httpx.URL(f"{HOST}/p")


# -- what every Check records -----------------------------------------------------------------


async def test_check_records_the_redirect_chain_headers_and_timing() -> None:
    release = make_release(f"{HOST}{ANNOUNCEMENT}", rule=LiveRule(contains=(TITLE,)))
    check, seen = await probe_one(gov_uk, release)
    assert check.live, check.reason
    assert check.url == str(seen[0].url) and "rwcb=" in check.url
    assert check.status == 200
    assert check.final_url == f"{HOST}{PUBLICATION}"
    assert check.redirects == (f"{HOST}{PUBLICATION}",)
    assert check.age == "0"
    assert check.cache_control == "max-age=300, public"
    assert check.x_cache == "MISS"
    assert check.elapsed_ms >= 0
    assert check.at == datetime(2025, 7, 17, 8, 30, tzinfo=UTC)
    assert check.release_id == release.id


async def test_stale_404_from_the_cache_is_not_live_and_keeps_its_cache_headers() -> None:
    check, _ = await probe_one(gov_uk, make_release(f"{HOST}/stale"))
    assert not check.live
    assert check.error is None  # a 404 is an answer, not a failure
    assert check.reason == "status 404, expected 200"
    assert (check.age, check.x_cache) == ("240", "HIT")


async def test_final_url_rule_sees_where_the_redirects_ended() -> None:
    rule = LiveRule(final_url=r"/government/statistics/labour-market-overview-uk-july-2025$")
    check, _ = await probe_one(gov_uk, make_release(f"{HOST}{ANNOUNCEMENT}", rule=rule))
    assert check.live, check.reason


async def test_announcement_text_still_on_the_page_is_not_live() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=ANNOUNCEMENT_HTML)

    rule = LiveRule(contains=(TITLE,), not_contains=("Statistics release announcement",))
    check, _ = await probe_one(route, make_release(f"{HOST}{ANNOUNCEMENT}", rule=rule))
    assert not check.live
    assert check.reason == "text 'Statistics release announcement' still present"


# -- failures are findings, never exceptions ----------------------------------------------


async def test_redirect_loop_is_a_failed_check() -> None:
    check, seen = await probe_one(gov_uk, make_release(f"{HOST}/loop/a"))
    assert not check.live
    assert check.error == "redirect_loop"
    assert "loop" in check.reason
    assert len(seen) == 2


async def test_more_redirects_than_allowed_is_a_failed_check() -> None:
    check, seen = await probe_one(gov_uk, make_release(f"{HOST}/hop/0"), max_redirects=3)
    assert check.error == "too_many_redirects"
    assert not check.live
    assert len(seen) == 4  # the first request and three redirects followed
    assert len(check.redirects) == 3


async def test_server_error_is_a_failed_check() -> None:
    check, _ = await probe_one(gov_uk, make_release(f"{HOST}/down"))
    assert not check.live
    assert check.status == 503
    assert check.error == "http_5xx"
    assert "503" in check.reason


async def test_huge_streamed_body_is_capped_not_read_whole() -> None:
    produced = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal produced
        while produced < 100 * 1024 * 1024:
            produced += 16 * 1024
            yield b"y" * (16 * 1024)

    def route(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    release = make_release(f"{HOST}/big", rule=LiveRule(contains=("never",)))
    check, _ = await probe_one(route, release, max_body_bytes=64 * 1024)
    assert not check.live
    assert check.error == "body_too_large"
    assert produced <= 64 * 1024 + 16 * 1024


async def test_declared_oversized_body_is_refused_without_reading() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"z" * 10, headers={"Content-Length": str(10**9)})

    release = make_release(f"{HOST}/big", rule=LiveRule(contains=("z",)))
    check, _ = await probe_one(route, release)
    assert check.error == "body_too_large"


async def test_body_is_not_read_when_the_rule_has_no_text_checks() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"z" * (3 * 1024 * 1024))

    check, _ = await probe_one(route, make_release(f"{HOST}/big"))
    assert check.live and check.error is None


async def test_transport_exceptions_become_failed_checks() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    check, _ = await probe_one(route, make_release(f"{HOST}/slow"))
    assert (check.live, check.error) == (False, "timeout")
    assert "read" in check.reason


async def test_an_unexpected_bug_in_a_route_is_a_failed_check_not_an_exception() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("boom")

    check, _ = await probe_one(route, make_release(f"{HOST}/p"))
    assert (check.live, check.error) == (False, "unexpected")


async def test_http_url_is_refused_without_a_request() -> None:
    check, seen = await probe_one(gov_uk, make_release("http://www.gov.uk/p"))
    assert check.error == "refused"
    assert seen == []


# -- GOV.UK mode ---------------------------------------------------------------------------


def content(items: dict[str, object]) -> Route:
    def route(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.startswith("/api/content"):
            item = items.get(path.removeprefix("/api/content"))
            if item is None:
                return httpx.Response(404, json={"error": {"code": 404}})
            return httpx.Response(200, content=as_json(item), headers={"Age": "1"})
        return gov_uk(request)

    return route


GOVUK = LiveRule(govuk=True)


async def test_govuk_announcement_still_in_place_is_not_live() -> None:
    route = content({ANNOUNCEMENT: announcement_item("confirmed", "17 July 2025 9:30am")})
    check, seen = await probe_one(route, make_release(f"{HOST}{ANNOUNCEMENT}", rule=GOVUK))
    assert not check.live
    assert "confirmed" in check.reason and "17 July 2025 9:30am" in check.reason
    assert seen[0].url.path == "/api/content" + ANNOUNCEMENT
    assert "rwcb" in seen[0].url.params  # the Content API is busted too
    assert check.published_at is None


async def test_govuk_redirect_to_a_live_publication_is_live_with_its_publish_time() -> None:
    route = content({ANNOUNCEMENT: redirect_item(PUBLICATION), PUBLICATION: publication_item()})
    check, seen = await probe_one(route, make_release(f"{HOST}{ANNOUNCEMENT}", rule=GOVUK))
    assert check.live, check.reason
    assert check.published_at == datetime(2025, 7, 17, 8, 30, 36, tzinfo=UTC)
    assert [r.url.path for r in seen] == [
        "/api/content" + ANNOUNCEMENT,
        "/api/content" + PUBLICATION,
    ]
    assert check.redirects == (f"{HOST}/api/content{PUBLICATION}",)
    assert f"redirects to {PUBLICATION}" in check.reason


async def test_govuk_redirect_to_a_publication_not_yet_there_is_not_live() -> None:
    route = content({ANNOUNCEMENT: redirect_item(PUBLICATION)})
    check, _ = await probe_one(route, make_release(f"{HOST}{ANNOUNCEMENT}", rule=GOVUK))
    assert not check.live
    assert "not found" in check.reason


async def test_govuk_announcement_deleted_without_publication_is_not_live() -> None:
    route = content({ANNOUNCEMENT: redirect_item("/government/statistics/announcements")})
    # The origin's requests only (the public path is tested in test_public_path.py).
    release = make_release(f"{HOST}{ANNOUNCEMENT}", rule=GOVUK)
    check, seen = await probe_one(route, release, public_path="off")
    assert not check.live
    assert check.reason == "announcement deleted without publication"
    assert len(seen) == 1


async def test_govuk_publication_url_watched_directly() -> None:
    route = content({PUBLICATION: publication_item()})
    check, _ = await probe_one(route, make_release(f"{HOST}{PUBLICATION}", rule=GOVUK))
    assert check.live
    before, _ = await probe_one(content({}), make_release(f"{HOST}{PUBLICATION}", rule=GOVUK))
    assert not before.live and before.status == 404


async def test_govuk_endless_content_redirects_stop() -> None:
    loop = {ANNOUNCEMENT: redirect_item("/a"), "/a": redirect_item("/a")}
    check, seen = await probe_one(
        content(loop), make_release(f"{HOST}{ANNOUNCEMENT}", rule=GOVUK), max_redirects=2
    )
    assert check.error == "too_many_redirects"
    assert len(seen) == 3


async def test_govuk_broken_json_is_not_live() -> None:
    def route(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>oops</html>")

    check, _ = await probe_one(route, make_release(f"{HOST}{ANNOUNCEMENT}", rule=GOVUK))
    assert (check.live, check.error) == (False, "bad_content")


async def test_govuk_page_checks_must_agree_with_the_content_item() -> None:
    items = {ANNOUNCEMENT: redirect_item(PUBLICATION), PUBLICATION: publication_item()}
    good = LiveRule(govuk=True, contains=(TITLE,))
    check, seen = await probe_one(content(items), make_release(f"{HOST}{ANNOUNCEMENT}", rule=good))
    assert check.live, check.reason
    assert check.published_at is not None
    assert check.final_url == f"{HOST}{PUBLICATION}"  # the page's facts, once it was fetched
    assert seen[-1].url.path == PUBLICATION

    bad = LiveRule(govuk=True, contains=("Not on the page",))
    check, _ = await probe_one(content(items), make_release(f"{HOST}{ANNOUNCEMENT}", rule=bad))
    assert not check.live
    assert "missing text 'Not on the page'" in check.reason


# -- many at once ---------------------------------------------------------------------------


async def test_probe_many_keeps_order_and_gives_one_check_per_release() -> None:
    paths = ["/stale", PUBLICATION, "/down", "/loop/a", ANNOUNCEMENT, "http-only"]
    releases = [
        make_release(f"{HOST}{p}" if p.startswith("/") else "http://www.gov.uk/x", id=f"r{i}")
        for i, p in enumerate(paths)
    ]
    p = prober(gov_uk)
    checks = await p.probe_many(releases)
    await p.aclose()
    assert [c.release_id for c in checks] == [r.id for r in releases]
    assert [c.live for c in checks] == [False, True, False, False, True, False]
    assert [c.error for c in checks] == [None, None, "http_5xx", "redirect_loop", None, "refused"]


async def test_per_host_and_global_limits_bound_concurrency() -> None:
    in_flight: dict[str, int] = {}
    peak: dict[str, int] = {}
    total = {"now": 0, "peak": 0}

    async def handler(request: httpx.Request) -> httpx.Response:
        host = request.url.host
        in_flight[host] = in_flight.get(host, 0) + 1
        total["now"] += 1
        peak[host] = max(peak.get(host, 0), in_flight[host])
        total["peak"] = max(total["peak"], total["now"])
        await asyncio.sleep(0.01)
        in_flight[host] -= 1
        total["now"] -= 1
        return httpx.Response(200)

    settings = ProbeSettings(per_host_limit=3, global_limit=5)
    p = HttpProber(FakeClock(), settings, transport=httpx.MockTransport(handler))
    # GIVEN a busy host first in the batch, then a few others
    hosts = ["busy.example"] * 30 + [f"host{i}.example" for i in range(10)]
    releases = [make_release(f"https://{h}/p", id=f"r{i}") for i, h in enumerate(hosts)]
    checks = await p.probe_many(releases)
    await p.aclose()
    assert all(c.live for c in checks)
    assert peak["busy.example"] == 3  # never more than the per-host limit
    assert total["peak"] == 5  # and never more than the global one


async def test_check_time_comes_from_the_injected_clock() -> None:
    clock = FakeClock(at=datetime(2025, 1, 16, 9, 30, tzinfo=UTC))
    p = HttpProber(clock, transport=httpx.MockTransport(gov_uk))
    check = await p.probe(make_release(f"{HOST}{PUBLICATION}"))
    await p.aclose()
    assert check.at == datetime(2025, 1, 16, 9, 30, tzinfo=UTC)
    assert clock.calls


def test_http_prober_satisfies_the_prober_protocol() -> None:
    p: Prober = HttpProber(FakeClock())
    assert callable(p.probe_many)


@pytest.mark.parametrize(
    "bad", [{"total_timeout": 0}, {"per_host_limit": 0}, {"max_redirects": -1}]
)
def test_settings_reject_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        ProbeSettings(**bad)  # type: ignore[arg-type]
