"""The base URL every message's links start with (--public-url / RELEASEWATCH_PUBLIC_URL)."""

from __future__ import annotations

import pytest

from releasewatch.links.tokens import TokenCodec
from releasewatch.links.urls import SignedLinks

CODEC = TokenCodec(b"p" * 32)


@pytest.mark.parametrize(
    ("base", "why"),
    [
        ("https://user:pw@rw.example.com", "user name or password"),
        ("https://oncall@rw.example.com", "user name or password"),
        ("https://rw.example.com/?x=1", "query or fragment"),
        ("https://rw.example.com#top", "query or fragment"),
        ("https://rw.example.com/a b", "space or control character"),
        ("https://rw.example.com/\x1b[2J", "space or control character"),
        ("https://", "names no host"),
        ("https://rw.example.com:99999", "not a valid URL"),
    ],
)
def test_a_base_url_that_would_leak_or_break_every_link_is_refused(base: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        SignedLinks(base, CODEC)


@pytest.mark.parametrize(
    "base",
    ["https://rw.example.com", "https://rw.example.com:8443/watch/", "http://127.0.0.1:8765"],
)
def test_an_ordinary_base_url_is_accepted(base: str) -> None:
    assert SignedLinks(base, CODEC).release_url("r1") == base.rstrip("/") + "/r/r1"
