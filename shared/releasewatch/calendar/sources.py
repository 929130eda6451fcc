"""Fetch and parse one configured source: a file is read (bounded), a URL fetched (guarded)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from .announcement import FeedError, Parsed
from .csv_source import parse_csv
from .fetch import FeedFetcher
from .govuk import fetch_govuk
from .ics_source import parse_ics
from .ons import fetch_ons
from .spec import CalendarSpec


async def read_source(
    spec: CalendarSpec, fetcher: FeedFetcher, now: datetime, config_dir: Path
) -> Parsed:
    """The source's announcements and skipped entries; FeedError if it cannot be used whole."""
    if spec.govuk is not None:
        return await fetch_govuk(spec.govuk, fetcher, now)
    if spec.ons is not None:
        return await fetch_ons(spec.ons, fetcher, now)
    location = spec.csv if spec.csv is not None else spec.ics
    assert location is not None
    if "://" in location:
        data = await fetcher.get(location)
    else:
        data = _read_file(config_dir / location, fetcher.max_bytes)
    return parse_csv(data) if spec.csv is not None else parse_ics(data, now)


def _read_file(path: Path, cap: int) -> bytes:
    try:
        with path.open("rb") as f:
            data = f.read(cap + 1)
    except OSError as exc:
        raise FeedError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > cap:
        raise FeedError(f"{path} is larger than {cap} bytes")
    return data
