"""Calendar sync of 3,000 GOV.UK announcements: two search pages of 1,500 from a loopback
server, planned against and applied to a fresh SQLite store, then synced again (nothing
changes). Prints time, requests and peak memory (tracemalloc) for each; targets, printed not
asserted: the first sync under 10 s, the second writes nothing.
Content API reads (change notes, cancellation reasons) are not part of sync yet.
Then the same for 3,000 ONS releases (three pages of 1,000, plus the cancelled query), and the
expansion of a recurring ICS calendar (100 weekly and 10 daily series, a 400-day horizon).

Run: .venv/bin/python -m tests.bench.bench_calendar_sync   (or every bench: python -m tests.bench)
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

from releasewatch.calendar.announcement import FeedError, Parsed
from releasewatch.calendar.fetch import FeedFetcher
from releasewatch.calendar.ics_source import parse_ics
from releasewatch.calendar.imports import Imports, imports_path
from releasewatch.calendar.sync import apply_plan, fetch_sources, plan_sync, stored_records
from releasewatch.config.load import load_config
from releasewatch.store.sqlite import SQLiteStore
from tests.calendar_support import FakeOns, FakeSearch, ons_release, result
from tests.probe_support import loopback_server

COUNT = 3000
NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def announcements() -> FakeSearch:
    start = datetime(2026, 7, 2, 8, 30, tzinfo=UTC)
    return FakeSearch(
        [
            result(
                f"stats-{i:04d}", f"Statistics number {i}", (start + timedelta(hours=i)).isoformat()
            )
            for i in range(COUNT)
        ]
    )


def one_sync(config_path: Path, db: Path) -> tuple[float, int, float, int, bool]:
    config = load_config(config_path)
    fetcher = FeedFetcher(local_mode=True)
    tracemalloc.start()
    began = time.perf_counter()

    async def fetch() -> dict[str, Parsed | FeedError]:
        try:
            return await fetch_sources(config, fetcher, NOW)
        finally:
            await fetcher.aclose()

    results = asyncio.run(fetch())
    with SQLiteStore(db) as store:
        plan = plan_sync(
            config,
            results,
            Imports.load(imports_path(db)),
            stored_records(store),
            NOW,
        )
        apply_plan(plan, store, imports_path(db), NOW)
    elapsed = time.perf_counter() - began
    peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    tracemalloc.stop()
    added = plan.counts.get("add", 0)
    return elapsed, fetcher.requests, peak, added, plan.changed


def main() -> None:
    with loopback_server(announcements()) as server, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "rw.yaml"
        config.write_text(
            "local_mode: true\n"
            "contacts:\n  team: {name: Stats team, email: team@example.com}\n"
            "chains:\n  default:\n    - {after: 5m, notify: [team]}\n"
            "calendars:\n"
            f"  - govuk: {{organisations: [intellectual-property-office], "
            f'base_url: "{server.url("").rstrip("/")}"}}\n'
        )
        db = Path(tmp) / "rw.db"
        print(f"calendar sync of {COUNT} GOV.UK announcements (pages of 1,500, loopback):")
        for name in ("first", "second"):
            elapsed, requests, peak, added, changed = one_sync(config, db)
            print(
                f"  {name} sync: {elapsed:.2f} s, {requests} requests, peak {peak:.1f} MB "
                f"(tracemalloc), {added} added, store written: {'yes' if changed else 'no'}"
            )
    ons_main()
    recurring_main()


def ons_releases() -> FakeOns:
    start = datetime(2026, 7, 2, 6, 0, tzinfo=UTC)
    return FakeOns(
        [
            ons_release(
                f"stats{i:04d}",
                f"Statistics number {i}",
                (start + timedelta(hours=i)).isoformat().replace("+00:00", "Z"),
            )
            for i in range(COUNT)
        ]
    )


def ons_main() -> None:
    with loopback_server(ons_releases()) as server, tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "rw.yaml"
        base = server.url("").rstrip("/")
        config.write_text(
            "local_mode: true\n"
            "contacts:\n  team: {name: Stats team, email: team@example.com}\n"
            "chains:\n  default:\n    - {after: 5m, notify: [team]}\n"
            f'calendars:\n  - ons: {{base_url: "{base}", site_url: "{base}"}}\n'
        )
        db = Path(tmp) / "rw.db"
        print(f"calendar sync of {COUNT} ONS releases (pages of 1,000, loopback):")
        for name in ("first", "second"):
            elapsed, requests, peak, added, changed = one_sync(config, db)
            print(
                f"  {name} sync: {elapsed:.2f} s, {requests} requests, peak {peak:.1f} MB "
                f"(tracemalloc), {added} added, store written: {'yes' if changed else 'no'}"
            )


def recurring_main() -> None:
    events = []
    for i in range(110):
        rule = "FREQ=DAILY" if i < 10 else "FREQ=WEEKLY"
        events.append(
            f"BEGIN:VEVENT\r\nUID:series-{i}\r\nSUMMARY:Series {i}: {{dd}} {{Month}} {{yyyy}}\r\n"
            f"URL:https://www.example.com/series-{i}\r\n"
            f"DTSTART;TZID=Europe/London:20250106T093000\r\nRRULE:{rule}\r\nEND:VEVENT\r\n"
        )
    data = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + "".join(events) + "END:VCALENDAR\r\n").encode()
    began = time.perf_counter()
    parsed = parse_ics(data, NOW)
    elapsed = time.perf_counter() - began
    tracemalloc.start()  # a second run for memory: tracemalloc slows parsing several times over
    parse_ics(data, NOW)
    peak = tracemalloc.get_traced_memory()[1] / 1024 / 1024
    tracemalloc.stop()
    print(
        f"recurring ICS: 100 weekly + 10 daily series -> {len(parsed.announcements)} releases "
        f"in {elapsed:.2f} s, peak {peak:.1f} MB (tracemalloc), {len(parsed.skipped)} skipped"
    )


if __name__ == "__main__":
    main()
