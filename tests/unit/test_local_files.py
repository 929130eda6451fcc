"""Calendar and rota files are read from the config's folder only (symlinks resolved), never a
FIFO, and an error never echoes what a file holds."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from releasewatch.calendar.announcement import FeedError, Parsed
from releasewatch.calendar.csv_source import parse_csv
from releasewatch.calendar.fetch import FeedFetcher
from releasewatch.calendar.sources import read_source
from releasewatch.calendar.spec import CalendarSpec
from releasewatch.config.load import load_config
from releasewatch.errors import ConfigError

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
ROTA = (
    b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:r1\r\nSUMMARY:alice\r\n"
    b"DTSTART:20260701T070000Z\r\nDTEND:20260701T170000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
)
CONFIG = """\
local_mode: true
contacts:
  team: {name: Stats team, email: team@example.com}
  alice: {name: Alice Publisher, email: alice@example.com}
  oncall: {name: On call, rota: {ics: ../oncall.ics}}
chains:
  default:
    - {after: 5m, notify: [team]}
"""


def read(spec: dict[str, str], folder: Path) -> Parsed | FeedError:
    fetcher = FeedFetcher(local_mode=True)
    try:
        return asyncio.run(read_source(CalendarSpec.model_validate(spec), fetcher, NOW, folder))
    except FeedError as exc:
        return exc


def test_calendar_files_outside_the_config_folder_are_refused_without_echoing_them(tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "link.csv").symlink_to(secret)
    for spec in ({"csv": "../secret.csv"}, {"csv": str(secret)}, {"ics": "link.csv"}):
        out = read(spec, folder)
        assert isinstance(out, FeedError), spec
        assert "is outside the config's folder" in str(out)
        assert "root:x" not in str(out)


def test_a_file_inside_the_folder_that_is_not_a_calendar_is_not_echoed(tmp_path):
    (tmp_path / "passwd.csv").write_text("root:x:0:0:root:/root:/bin/bash\n")
    (tmp_path / "passwd.ics").write_text("root:x:0:0:root:/root:/bin/bash\n")
    for spec in ({"csv": "passwd.csv"}, {"ics": "passwd.ics"}):
        out = read(spec, tmp_path)
        assert isinstance(out, FeedError), spec
        assert "root" not in str(out)
    # A column that looks like one is still named, so a typo is easy to find.
    with pytest.raises(FeedError, match=r"unknown column\(s\) colour"):
        parse_csv(b"id,title,url,due,colour\n")


def test_a_fifo_in_the_config_folder_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "pipe.ics")
    started = time.perf_counter()
    out = read({"ics": "pipe.ics"}, tmp_path)
    assert isinstance(out, FeedError) and "'pipe.ics' is not a regular file" in str(out)
    assert time.perf_counter() - started < 2


def test_a_rota_file_outside_the_config_folder_is_a_config_problem(tmp_path):
    (tmp_path / "oncall.ics").write_bytes(ROTA)
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "releasewatch.yaml").write_text(CONFIG)
    with pytest.raises(ConfigError, match="is outside the config's folder"):
        load_config(folder / "releasewatch.yaml")
    (folder / "oncall.ics").write_bytes(ROTA)
    (folder / "releasewatch.yaml").write_text(CONFIG.replace("../oncall.ics", "oncall.ics"))
    assert load_config(folder / "releasewatch.yaml").contacts["oncall"].rota is not None


def test_push_never_bundles_a_file_linked_from_outside_the_config_folder(tmp_path):
    from releasewatch.aws.pushed_config import bundle

    (tmp_path / "secret.csv").write_text("root:x:0:0:root:/root:/bin/bash\n")
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "releases.csv").symlink_to(tmp_path / "secret.csv")
    config_file = folder / "releasewatch.yaml"
    config_file.write_text(
        CONFIG.replace("  oncall: {name: On call, rota: {ics: ../oncall.ics}}\n", "")
        + "calendars:\n  - csv: releases.csv\n"
    )
    config = load_config(config_file)  # calendars are read at sync time, not here
    with pytest.raises(ConfigError) as caught:
        bundle(config_file, config)
    assert "is outside the config's folder" in str(caught.value)
    assert "root:x" not in str(caught.value)
