"""`releasewatch report`: a breach report only where there is a breach."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releasewatch.cli import main
from releasewatch.model import ReleaseState
from releasewatch.store.sqlite import SQLiteStore
from tests.factories import DUE, make_check, make_release


def store_with(tmp_path: Path, state: ReleaseState, live_at: datetime | None, due=DUE) -> Path:  # type: ignore[no-untyped-def]
    db = tmp_path / "rw.db"
    with SQLiteStore(db) as store:
        release = make_release(due=due)
        store.apply_releases([release], due - timedelta(hours=1))
        record = store.get_release(release.id)
        assert record is not None
        store.update_release(record.model_copy(update={"state": state, "live_at": live_at}))
        if state == ReleaseState.LIVE_LATE:
            # The evidence that makes it late: a check after the grace found it not live.
            store.record_checks([make_check(at=due + timedelta(minutes=10))])
    return db


def test_a_release_live_on_time_has_no_breach_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    db = store_with(tmp_path, ReleaseState.LIVE, DUE + timedelta(seconds=40))
    assert main(["report", "lms-2025-07", "--db", str(db)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert "lms-2025-07 was released on time: due Thu 17 Jul 2025 09:30 BST" in err
    assert "confirmed live Thu 17 Jul 2025 09:30:40 BST (within its 2 min grace)" in err
    assert "There is no breach to report." in err
    assert main(["report", "lms-2025-07", "--db", str(db), "--format", "docx"]) == 1
    assert not (tmp_path / "breach-report-lms-2025-07.docx").exists()


def test_a_release_not_yet_due_has_no_breach_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    due = datetime.now(UTC) + timedelta(days=2)  # the command reads the wall clock, as users do
    db = store_with(tmp_path, ReleaseState.SCHEDULED, None, due=due)
    assert main(["report", "lms-2025-07", "--db", str(db)]) == 1
    assert "is not due until" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("state", "live_at", "word"),
    [
        (ReleaseState.LIVE_LATE, DUE + timedelta(hours=2), "2 h late"),
        (ReleaseState.EARLY, DUE - timedelta(minutes=5), "early release"),
        (ReleaseState.LATE, None, "still not confirmed live"),
    ],
)
def test_a_breach_still_gets_its_report(  # type: ignore[no-untyped-def]
    tmp_path: Path, capsys: pytest.CaptureFixture[str], state, live_at, word
) -> None:
    db = store_with(tmp_path, state, live_at)
    assert main(["report", "lms-2025-07", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Breach report (draft)") and word in out


@pytest.mark.parametrize("content", [b"not a database\n", b"SQLite format 3\x00" + b"\xff" * 8192])
def test_report_on_a_file_that_is_not_a_sound_database_says_so_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes
) -> None:
    db = tmp_path / "rw.db"
    db.write_bytes(content)
    assert main(["report", "lms-2025-07", "--db", str(db)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"report: cannot open the store: the database {db}")
    assert "Traceback" not in err
