"""The SSRF guard holds on every redirect hop, for a host that looks public.

MockTransport answers for every host, so nothing but the per-hop URL check (netguard.check_url)
stands between a redirect and a request: the connection guard, which refuses private
addresses, is not in play. A refused hop must never be requested.
"""

from __future__ import annotations

import httpx
import pytest

from releasewatch.model import Check
from releasewatch.probe import HttpProber
from tests.probe_support import FakeClock, make_release

START = "https://www.gov.uk/government/statistics/announcements/labour-market"


async def follow(target: str) -> tuple[Check, list[str]]:
    requested: list[str] = []

    def route(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url.copy_with(query=None)))
        if request.url.path == "/government/statistics/announcements/labour-market":
            return httpx.Response(301, headers={"Location": target})
        return httpx.Response(200, text="<h1>Labour market overview, UK: July 2025</h1>")

    prober = HttpProber(FakeClock(), transport=httpx.MockTransport(route))
    try:
        return await prober.probe(make_release(START)), requested
    finally:
        await prober.aclose()


@pytest.mark.parametrize(
    ("target", "why"),
    [
        ("https://user:pw@public.example/publication", "credentials"),
        ("https://user@public.example/publication", "credentials"),
        ("http://public.example/publication", "only https"),
        ("http://www.gov.uk/government/statistics/labour-market", "only https"),
    ],
)
async def test_a_redirect_hop_the_guard_refuses_is_never_requested(target: str, why: str) -> None:
    check, requested = await follow(target)
    assert (check.live, check.error) == (False, "refused")
    assert why in check.reason
    assert requested == [START]  # the refused hop was never asked for
    assert check.redirects == (target,)  # and the check says where it was sent


async def test_a_redirect_to_a_public_https_host_is_followed() -> None:
    check, requested = await follow("https://public.example/publication")
    assert check.live and check.error is None
    assert requested == [START, "https://public.example/publication"]
