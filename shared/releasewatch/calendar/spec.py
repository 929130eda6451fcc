"""Config models for `calendars:` and `series:` (validated by config.py with located errors)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..model import IDENT, LiveRule

GOVUK_BASE = "https://www.gov.uk"
MAX_GOVUK_PAGE = 1500  # the search API refuses count > 1500 (an error, not a clamp)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GovukSpec(_In):
    organisations: tuple[str, ...] = Field(min_length=1)
    base_url: str = GOVUK_BASE
    page_size: int = Field(default=MAX_GOVUK_PAGE, ge=1, le=MAX_GOVUK_PAGE)

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


class CalendarSpec(_In):
    """One entry of `calendars:`: exactly one of govuk, csv, ics."""

    govuk: GovukSpec | None = None
    csv: str | None = None  # a file, relative to the config file
    ics: str | None = None  # a file or an http(s) URL

    @model_validator(mode="before")
    @classmethod
    def _one_kind(cls, data: Any) -> Any:
        if isinstance(data, dict):
            kinds = [k for k in ("govuk", "csv", "ics") if k in data]
            if len(kinds) != 1:
                raise ValueError(
                    "expected exactly one source: govuk: {organisations: [...]}, csv: FILE "
                    "or ics: FILE-or-URL"
                )
        return data

    @property
    def kind(self) -> str:
        return "govuk" if self.govuk is not None else "csv" if self.csv is not None else "ics"

    @property
    def label(self) -> str:
        """A stable name for this source: the key its last good import is kept under."""
        if self.govuk is not None:
            return "govuk:" + ",".join(self.govuk.organisations)
        return f"{self.kind}:{self.csv if self.csv is not None else self.ics}"


class SeriesSpec(_In):
    """Overrides for imported releases whose title matches `match` (the first match wins)."""

    match: str
    chain: str | None = None
    live: LiveRule | None = None

    @field_validator("match")
    @classmethod
    def _regex(cls, v: str) -> str:
        try:
            re.compile(v)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return v

    @field_validator("chain")
    @classmethod
    def _chain(cls, v: str | None) -> str | None:
        if v is not None and not IDENT.fullmatch(v):
            raise ValueError("chain names use letters, digits, '.', '_' and '-'")
        return v

    def matches(self, title: str) -> bool:
        return re.search(self.match, title) is not None
