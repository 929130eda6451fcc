"""`releasewatch push` and `releasewatch status` against DynamoDB under moto (and SQLite)."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path

import pytest

from releasewatch.commands import push, status
from releasewatch.store.dynamodb import DynamoDBStore
from releasewatch.store.dynamodb_table import dynamodb_client
from releasewatch.store.sqlite import SQLiteStore
from tests.factories import DUE, make_release

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "infra" / "releasewatch.example.yaml"
REGION = "eu-west-2"
TABLE = "releasewatch-cli"


def cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="releasewatch")
    sub = parser.add_subparsers(dest="command", required=True)
    push.add_parser(sub)
    status.add_parser(sub)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def stored_ids() -> list[str]:
    store = DynamoDBStore(TABLE, client=dynamodb_client(REGION))
    return sorted(r.id for r in store.all_releases())


def test_push_creates_the_table_and_writes_every_release(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli("push", "--config", str(EXAMPLE), "--table", TABLE, "--create-table")
    assert code == 0
    assert stored_ids() == ["gdp-first-estimate-2025-q2", "labour-market-2025-07"]
    out = capsys.readouterr().out
    assert "pushed 2 release(s)" in out and "created table" in out


def test_an_invalid_config_pushes_nothing_and_lists_every_problem(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli("push", "--config", str(EXAMPLE), "--table", TABLE, "--create-table")
    broken = tmp_path / "broken.yaml"
    text = EXAMPLE.read_text()
    text = text.replace("labour-market-2025-07", "labour market!", 1)
    text = text.replace('"+447700900123"', '"07700 900123"', 1)
    broken.write_text(text)
    code = cli("push", "--config", str(broken), "--table", TABLE)
    assert code == 2
    err = capsys.readouterr().err
    assert "nothing pushed" in err
    assert err.count("broken.yaml:") >= 2  # both mistakes, each with its location
    assert stored_ids() == ["gdp-first-estimate-2025-q2", "labour-market-2025-07"]


def test_a_push_without_a_table_fails_cleanly(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli("push", "--config", str(EXAMPLE), "--table", "missing") == 1
    assert "--create-table" in capsys.readouterr().err


def test_pushing_a_smaller_config_deactivates_the_rest(
    aws: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cli("push", "--config", str(EXAMPLE), "--table", TABLE, "--create-table")
    text = EXAMPLE.read_text()
    start = text.index("  - id: gdp-first-estimate-2025-q2")
    smaller = tmp_path / "smaller.yaml"
    smaller.write_text(text[:start])
    capsys.readouterr()
    assert cli("push", "--config", str(smaller), "--table", TABLE) == 0
    assert "deactivated gdp-first-estimate-2025-q2" in capsys.readouterr().out


def test_status_lists_releases_and_states_without_contacts(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    cli("push", "--config", str(EXAMPLE), "--table", TABLE, "--create-table")
    capsys.readouterr()
    assert cli("status", "--table", TABLE, "--region", REGION) == 0
    out = capsys.readouterr().out
    assert "labour-market-2025-07" in out
    # the board's words (the example's dates are past: late), never the internal state names
    assert "Late — " in out and "scheduled" not in out and "watching" not in out
    assert "@" not in out and "+44" not in out


def test_status_reads_a_local_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "state.db"
    store = SQLiteStore(db)
    store.apply_releases([make_release()], DUE - timedelta(hours=1))
    store.close()
    assert cli("status", "--db", str(db)) == 0
    out = capsys.readouterr().out
    assert "lms-2025-07" in out and "Late — " in out and "scheduled" not in out
