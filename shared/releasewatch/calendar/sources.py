"""Fetch and parse one configured source: a file is read (from the config's folder only,
bounded: localfiles.py), a URL fetched (guarded)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

from ..config.localfiles import LocalFileError, read_local
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
        try:
            data = read_local(config_dir, location, fetcher.max_bytes)
        except LocalFileError as exc:
            raise FeedError(str(exc)) from None
    # In a worker thread: parsing is bounded (about a second at worst for a recurring ICS),
    # but run's loop keeps ticking meanwhile.
    if spec.csv is not None:
        return await asyncio.to_thread(parse_csv, data)
    return await asyncio.to_thread(parse_ics, data, now)
