"""`releasewatch run` with `calendars:` syncs them on start, as a user runs it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from releasewatch.store.sqlite import SQLiteStore
from releasewatch.timefmt import LONDON

BIN = Path(sys.executable).parent / "releasewatch"


def test_run_syncs_the_calendars_on_start(tmp_path: Path) -> None:
    due = (datetime.now(UTC) + timedelta(days=3)).astimezone(LONDON)
    (tmp_path / "ours.csv").write_text(
        "id,title,url,due\n"
        f"ours-1,Our statistics,https://www.example.com/ours-1,{due:%Y-%m-%d} 09:30\n"
        "ours-2,No time yet,https://www.example.com/ours-2,\n"
    )
    config = tmp_path / "rw.yaml"
    config.write_text(
        "contacts:\n  team: {name: Stats team, email: team@example.com}\n"
        "chains:\n  default:\n    - {after: 5m, notify: [team]}\n"
        "calendars:\n  - csv: ours.csv\n"
    )
    db = tmp_path / "rw.db"
    result = subprocess.run(
        [str(BIN), "run", "--config", str(config), "--db", str(db), "--once", "--web-port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "skipped: no due date and time [line 3]" in result.stdout
    assert "watching 1 release(s)" in result.stdout
    with SQLiteStore(db) as store:
        assert [r.id for r in store.active_releases()] == ["ours-1"]
