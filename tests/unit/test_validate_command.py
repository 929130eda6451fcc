"""`releasewatch validate` (and run/push, which load configs the same way) as a user runs it:
in-process, the wall clock as the present."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releasewatch.cli import main
from releasewatch.timefmt import LONDON

CONFIG = """\
contacts:
  team: {{name: Stats team, email: team@example.com}}
chains:
  default: [{{after: 5m, notify: [team]}}]
releases:
  - id: lms
    title: Labour market
    url: https://www.gov.uk/government/statistics/lms
    due: "{due:%Y-%m-%d %H:%M}"
"""


def write(tmp_path: Path, due: datetime, extra: str = "") -> Path:
    path = tmp_path / "rw.yaml"
    path.write_text(CONFIG.format(due=due.astimezone(LONDON)) + extra)
    return path


def test_a_due_time_in_the_past_is_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, datetime.now(UTC) - timedelta(days=2))
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"warning: {path}:9: releases[0].due: " in out and "ago" in out


def test_a_due_time_weeks_past_is_refused_by_validate_run_and_push(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, datetime.now(UTC) - timedelta(days=30))
    db = tmp_path / "rw.db"
    assert main(["validate", str(path)]) == 2
    assert main(["run", "--config", str(path), "--db", str(db), "--once"]) == 2
    assert main(["push", "--config", str(path), "--table", "t"]) == 2
    err = capsys.readouterr().err
    assert err.count(f"{path}:9: releases[0].due: ") == 3
    assert "more than 7 days in the past" in err and "past_due_ok: true" in err
    assert not db.exists()


def test_past_due_ok_says_an_old_due_time_is_deliberate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, datetime.now(UTC) - timedelta(days=30), "    past_due_ok: true\n")
    assert main(["validate", str(path)]) == 0
    assert "warning" not in capsys.readouterr().out


def test_validate_lists_schema_reference_and_url_problems_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rw.yaml"
    path.write_text(
        "contacts:\n  team: {name: Stats team, email: team@example.com}\n"
        "chains:\n  default: [{after: 5, notify: [team, nobody]}]\n"
        "releases:\n  - {id: lms, url: 'http://www.gov.uk/x', due: '2098-07-17 09:30',"
        " chain: fast}\n"
    )
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"{path}: 5 problems\n")
    for where in (
        ":4: chains.default[0].after: 5 has no unit",
        ":4: chains.default[0].notify[1]: unknown contact 'nobody'",
        ":6: releases[0].title: required field is missing",
        ":6: releases[0].url: only https",
        ":6: releases[0].chain: unknown chain 'fast'",
    ):
        assert f"{path}{where}" in err


def test_a_config_of_calendars_says_how_many_it_will_read_not_just_0_releases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "rw.yaml"
    path.write_text(
        CONFIG.split("releases:")[0].replace("{{", "{").replace("}}", "}")
        + "calendars:\n"
        + "  - govuk: {organisations: [office-for-national-statistics]}\n"
        + "  - ons: {}\n"
    )
    assert main(["validate", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"{path}: OK, 0 release(s) written in the file, and 2 calendar sources to read (sync "
        "and run read them; their releases are not counted here)"
    )
    assert lines[1:] == ["  calendar govuk:office-for-national-statistics", "  calendar ons"]
