"""Config models for `calendars:` and `series:` (validated by config.py with located errors)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..model import IDENT, LiveRule
from ..readiness.config_in import ReadinessIn

GOVUK_BASE = "https://www.gov.uk"
MAX_GOVUK_PAGE = 1500  # the search API refuses count > 1500 (an error, not a clamp)
ONS_API = "https://api.beta.ons.gov.uk"
ONS_SITE = "https://www.ons.gov.uk"
MAX_ONS_PAGE = 1000  # dp-search-api answers 400 to limit > 1000


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


ALL = "all"  # `organisations: all`: every organisation's announcements


class GovukSpec(_In):
    # Organisation slugs, or () for `organisations: all` (no filter_organisations sent).
    organisations: tuple[str, ...]
    base_url: str = GOVUK_BASE
    page_size: int = Field(default=MAX_GOVUK_PAGE, ge=1, le=MAX_GOVUK_PAGE)

    @property
    def everything(self) -> bool:
        """Every organisation's announcements (`organisations: all`)."""
        return not self.organisations

    @field_validator("organisations", mode="before")
    @classmethod
    def _all(cls, v: Any) -> Any:
        if v == ALL:
            return ()
        if isinstance(v, str) or (isinstance(v, (list, tuple)) and not v):
            raise ValueError("expected a list of organisation slugs, or all")
        return v

    @field_validator("organisations")
    @classmethod
    def _slugs(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for slug in v:
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug):
                raise ValueError(
                    f"{slug!r} is not an organisation slug (the last part of "
                    "https://www.gov.uk/government/organisations/<slug>)"
                )
        return v


class OnsSpec(_In):
    """The ONS release calendar: the search API (base_url) and the site whose /releases/<slug>
    pages are watched (site_url); both configurable for tests, mirrors and proxies."""

    base_url: str = ONS_API
    site_url: str = ONS_SITE
    page_size: int = Field(default=MAX_ONS_PAGE, ge=1, le=MAX_ONS_PAGE)


class CalendarSpec(_In):
    """One entry of `calendars:`: exactly one of govuk, ons, csv, ics."""

    govuk: GovukSpec | None = None
    ons: OnsSpec | None = None
    csv: str | None = None  # a file, relative to the config file
    ics: str | None = None  # a file or an http(s) URL
    # The chain for this source's releases that no series maps ("none": observed). Unset:
    # defaults.chain, except for `organisations: all`, whose unmapped releases are observed.
    chain: str | None = None

    @field_validator("chain")
    @classmethod
    def _chain(cls, v: str | None) -> str | None:
        if v is not None and not IDENT.fullmatch(v):
            raise ValueError("chain names use letters, digits, '.', '_' and '-'")
        return v

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        if isinstance(data, dict):
            kinds = [k for k in ("govuk", "ons", "csv", "ics") if k in data]
            if len(kinds) != 1:
                raise ValueError(
                    "expected exactly one source: govuk: {organisations: [...]}, ons: {}, "
                    "csv: FILE or ics: FILE-or-URL"
                )
            if "ons" in data and data["ons"] is None:
                data = {**data, "ons": {}}  # `- ons:` alone: the defaults
        return data

    @property
    def kind(self) -> str:
        if self.govuk is not None:
            return "govuk"
        if self.ons is not None:
            return "ons"
        return "csv" if self.csv is not None else "ics"

    @property
    def label(self) -> str:
        """A stable name for this source: the key its last good import is kept under."""
        if self.govuk is not None:
            return "govuk:" + (",".join(self.govuk.organisations) or ALL)
        if self.ons is not None:
            return "ons" if self.ons.base_url == ONS_API else f"ons:{self.ons.base_url}"
        return f"{self.kind}:{self.csv if self.csv is not None else self.ics}"


class SeriesSpec(_In):
    """Overrides for imported releases whose title matches `match` and whose producer is
    `organisation` (either or both; the first series that matches wins)."""

    match: str | None = None
    # A GOV.UK organisation slug (ONS's releases: office-for-national-statistics).
    organisation: str | None = None
    chain: str | None = None
    live: LiveRule | None = None
    # Over defaults.readiness field by field: `{enabled: false}` for a series nobody needs to
    # be asked about, other times or other people for one.
    readiness: ReadinessIn | None = None

    @field_validator("match")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        try:
            re.compile(v or "")
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return v

    @field_validator("organisation")
    @classmethod
    def _slug(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", v):
            raise ValueError(
                f"{v!r} is not an organisation slug (the last part of "
                "https://www.gov.uk/government/organisations/<slug>)"
            )
        return v

    @model_validator(mode="after")
    def _something_to_match(self) -> SeriesSpec:
        if self.match is None and self.organisation is None:
            raise ValueError("give match (a title pattern), organisation (a slug), or both")
        return self

    @field_validator("chain")
    @classmethod
    def _chain(cls, v: str | None) -> str | None:
        if v is not None and not IDENT.fullmatch(v):
            raise ValueError("chain names use letters, digits, '.', '_' and '-'")
        return v

    def matches(self, title: str, organisations: tuple[str, ...] = ()) -> bool:
        if self.organisation is not None and self.organisation not in organisations:
            return False
        return self.match is None or re.search(self.match, title) is not None
