"""What every source yields: announcements, and the entries it skipped with a located reason."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import StrEnum

from pydantic import Field

from ..model import IDENT, Frozen, LiveRule, UtcDatetime, is_control_char


class AnnState(StrEnum):
    CONFIRMED = "confirmed"  # an exact date and time: watched
    PROVISIONAL = "provisional"  # a month or a range: listed, not watched
    CANCELLED = "cancelled"


class Announcement(Frozen):
    id: str  # the release id it becomes
    title: str
    url: str
    state: AnnState
    due: UtcDatetime | None = None  # None: no exact time (provisional, or a cancelled one)
    display_date: str = ""
    publication_url: str | None = None
    producer: str = ""
    # The producers' GOV.UK organisation slugs (series match them). Left out of the saved
    # imports while empty, so a version from before it still reads them.
    organisations: tuple[str, ...] = Field(default=(), exclude_if=lambda value: not value)
    chain: str | None = None
    govuk: bool = False  # judged in GOV.UK mode (announcement → publication) by default
    live: LiveRule | None = None  # the source's own live rule (a series' `live` still wins)
    # The feed's own account of the latest date change (ONS date_changes), told with a move.
    change_note: str = ""
    previous_date: str = ""
    series: str = ""  # a recurring event's UID: its occurrences share a page, not duplicates


@dataclass(frozen=True)
class Skipped:
    """A feed entry not imported: where it is in the feed, and why."""

    where: str  # 'results[3]', 'line 4', 'event 2 (UID x)'
    reason: str
    title: str = ""


# Bounds on what one source may yield: a hostile or broken feed must fail alone, in bounded
# memory and time, and never crowd out the rest of the config. A year of every UK official
# statistic is ~3,500 announcements (CALENDARS.md, Scale); one source rarely holds a tenth.
MAX_SOURCE_ENTRIES = 4000  # announcements and skipped entries of one source
# `govuk: {organisations: all}`: every organisation's upcoming announcements, provisional ones
# a year or more ahead and cancelled ones included: three times the year's count.
MAX_EVERYTHING_ENTRIES = 12000
FIRST_YEAR, LAST_YEAR = 2000, 2100  # a release date outside these years is a broken feed


class FeedError(Exception):
    """The feed as a whole cannot be used (unreachable, refused, not the expected format)."""


@dataclass
class Parsed:
    announcements: list[Announcement] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    limit: int = MAX_SOURCE_ENTRIES

    def add(self, announcement: Announcement) -> None:
        self.announcements.append(announcement)
        self.check()

    def skip(self, skipped: Skipped) -> None:
        self.skipped.append(skipped)
        self.check()

    def check(self) -> None:
        if len(self.announcements) + len(self.skipped) > self.limit:
            raise FeedError(
                f"more than {self.limit} entries (the cap per calendar source); nothing from "
                "it is imported: split it or narrow it"
            )


def in_range(when: datetime | date, name: str) -> str | None:
    """Why `when` cannot be a release date (a year outside FIRST_YEAR..LAST_YEAR), or None."""
    if FIRST_YEAR <= when.year <= LAST_YEAR:
        return None
    return f"{name} is in the year {when.year}: expected {FIRST_YEAR} to {LAST_YEAR}"


def utc_instant(when: datetime, name: str) -> datetime | str:
    """An aware datetime as UTC within the sane years, or why not (never OverflowError: a
    date at the edge of the calendar overflows when moved to UTC)."""
    why = in_range(when, name)
    if why is not None:
        return why
    try:
        return when.astimezone(UTC)
    except (OverflowError, ValueError):
        return f"{name} cannot be expressed in UTC"


def release_id(prefix: str, slug: str) -> str:
    """A valid release id from a feed's own identifier; long or odd ones keep a short hash so
    that two announcements never share an id."""
    clean = re.sub(r"[^A-Za-z0-9._-]+", "-", slug).strip("-.") or "x"
    candidate = f"{prefix}-{clean}"
    if IDENT.fullmatch(candidate) and clean == slug:
        return candidate
    digest = hashlib.sha1(slug.encode("utf-8", "replace")).hexdigest()[:10]  # noqa: S324
    return f"{prefix}-{clean[:100]}-{digest}"


def plain(text: str) -> str:
    """Feed text made safe for a terminal and a message: control characters (ESC, newlines,
    bidi overrides) become spaces, runs of space one."""
    return " ".join("".join(" " if is_control_char(ch) else ch for ch in text).split())
