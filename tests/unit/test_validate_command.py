"""`releasewatch validate` (and run/push, which load configs the same way) as a user runs it:
in-process, the wall clock as the present."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releasewatch.cli import main
from releasewatch.config.load import parse_config
from releasewatch.model import Event, EventKind
from releasewatch.store.sqlite import SQLiteStore
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


NEXT = """\
  - id: next
    title: Next release
    url: https://www.gov.uk/government/statistics/next
    due: "{due:%Y-%m-%d %H:%M}"
"""


def with_next(path: Path) -> Path:
    due = (datetime.now(UTC) + timedelta(hours=1)).astimezone(LONDON)
    path.write_text(path.read_text() + NEXT.format(due=due))
    return path


def test_time_passing_never_refuses_a_config_the_stale_release_is_warned_about_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Valid last week; now one release is 30 days past due. The other must still be watched.
    path = with_next(write(tmp_path, datetime.now(UTC) - timedelta(days=30)))
    db = tmp_path / "rw.db"
    assert main(["validate", str(path)]) == 0
    assert main(["run", "--config", str(path), "--db", str(db), "--once"]) == 0
    captured = capsys.readouterr()
    assert "invalid, nothing applied" not in captured.err
    for said in (captured.out, captured.err):  # validate prints to stdout, run to stderr
        assert f"warning: {path}:9: releases[0].due: " in said
        assert "more than 7 days in the past" in said and "not started" in said
    with SQLiteStore(db) as store:
        assert [r.id for r in store.active_releases()] == ["next"]
        assert store.get_release("lms") is None


def test_a_stale_release_already_watched_keeps_its_record_after_a_restart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = with_next(write(tmp_path, datetime.now(UTC) - timedelta(days=30)))
    db = tmp_path / "rw.db"
    (stale, _) = parse_config(path.read_text(), str(path)).releases  # as it was last month
    with SQLiteStore(db) as store:
        store.apply_releases([stale], datetime.now(UTC) - timedelta(days=31))
        store.add_event(
            Event(
                release_id="lms", at=stale.due, kind=EventKind.STATE_CHANGED, detail={"to": "late"}
            )
        )
    assert main(["run", "--config", str(path), "--db", str(db), "--once"]) == 0
    with SQLiteStore(db) as store:
        assert sorted(r.id for r in store.all_releases()) == ["lms", "next"]
        record = store.get_release("lms")
        assert record is not None and record.active
        assert EventKind.STATE_CHANGED in [e.kind for e in store.events("lms")]
        assert EventKind.REMOVED not in [e.kind for e in store.events("lms")]


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
