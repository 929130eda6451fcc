"""The probing port, and what one fetch saw.

A `Prober` turns a release into a `Check`. Page problems (timeouts, resets, 5xx, refused
targets, redirect loops, oversized bodies) are findings, not exceptions: `probe` and
`probe_many` always return a Check, with `live=False`, `error` set to a short kind and a
readable `reason`. So is anything else that goes wrong with one release (a hostile URL or
answer, a bug): one release's fault never takes the others' checks with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ..model import Check, LiveRule, Release
from .text import PageText, decode, visible_text


class Prober(Protocol):
    async def probe(self, release: Release) -> Check:
        """Probe the release's page once; never raises."""
        ...

    async def probe_many(self, releases: Sequence[Release]) -> list[Check]:
        """One Check per release, in the same order; never raises."""
        ...

    async def aclose(self) -> None:
        """Release connections; the prober may not be used afterwards."""
        ...


@dataclass
class Fetched:
    """One URL fetched hop by hop; filled in as it goes, so a timeout keeps what was seen."""

    url: str  # the URL asked for, without a cache-busting parameter
    requested_url: str = ""  # the first request actually sent, with the parameter
    final_url: str = ""  # the last URL requested, without the parameter
    redirects: list[str] = field(default_factory=list)  # every hop after the first
    status: int | None = None
    age: str | None = None
    cache_control: str | None = None
    x_cache: str | None = None
    date: datetime | None = None  # the answer's Date header: when the server made it, its clock
    body: bytes | None = None  # None when not read
    charset: str | None = None
    content_type: str | None = None
    error: str | None = None
    reason: str | None = None

    def fail(self, error: str, reason: str) -> None:
        self.error = error
        self.reason = reason

    def text(self) -> str | None:
        """The body decoded as text, markup and all (None when not read); rules judge `visible`."""
        return None if self.body is None else decode(self.body, self.charset)

    def visible(self) -> PageText | None:
        """What a person sees of the body (see text.py); None when not read."""
        if self.body is None:
            return None
        return visible_text(self.body, self.content_type, self.charset)


class Fetch(Protocol):
    async def __call__(self, url: str, *, read_body: bool, bust: bool = True) -> Fetched:
        """Fetch `url` for the current release, following redirects hop by hop.

        `bust=False` sends no cache-busting parameter (GOV.UK's search API refuses unknown
        parameters with 422; the caller adds the `c` it accepts).
        """
        ...


@dataclass
class Outcome:
    """A judged probe: the fetch whose facts go on the Check, and the verdict."""

    fetched: Fetched
    live: bool
    reason: str
    error: str | None = None
    published_at: datetime | None = None
    url: str | None = None  # the requested URL to record, when not fetched.requested_url
    redirects: list[str] | None = None  # the chain to record, when not fetched.redirects
    judged_url: str | None = None  # the page whose content decided; fetched.final_url if None
    to_judge: LiveRule | None = None  # a page fetched, still to be judged by this rule
    cancellation: str | None = None  # the announcement says cancelled: its reason ("" if none)
    window_start: datetime | None = None  # a page mode edition older than this is not this one
