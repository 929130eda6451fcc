"""`releasewatch punctuality --out DIR`: the record as static files that work where they are
put (every link relative, to a file that is there), for a period or the whole record."""

from __future__ import annotations

import csv
import json
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import lxml.html
import pytest

from releasewatch.cli import main
from releasewatch.store.sqlite import SQLiteStore
from tests.browser.harness import personal_data
from tests.punctuality_support import seed_year


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("punct") / "state.db"
    store = SQLiteStore(path, check_ttl=timedelta(days=800))  # the year's evidence kept
    seed_year(store, releases=60)
    store.close()
    return path


def test_it_writes_the_page_and_the_files(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert main(["punctuality", "--db", str(db), "--out", str(out)]) == 0
    for name in ("index.html", "punctuality.csv", "producers.csv", "punctuality.json",
                 "late-and-early.atom", "punctuality.v1.json"):  # fmt: skip
        assert (out / name).is_file(), name
    rows = list(csv.DictReader((out / "punctuality.csv").open(encoding="utf-8")))
    assert len(rows) == 61  # 60 and the one late by 400 days
    assert json.loads((out / "punctuality.json").read_text())["schema_version"] == "1.0"
    ET.fromstring((out / "late-and-early.atom").read_text())
    for path in out.rglob("*"):
        if path.is_file():
            assert personal_data(path.read_text(encoding="utf-8")) == [], path


def test_every_link_and_stylesheet_is_relative_and_there(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    assert main(["punctuality", "--db", str(db), "--out", str(out)]) == 0
    pages = list(out.glob("*.html"))
    assert len(pages) > 10  # index, its sort orders, each number's releases
    for page in pages:
        tree = lxml.html.fromstring(page.read_text(encoding="utf-8"))
        for ref in [*tree.xpath("//a/@href"), *tree.xpath("//link/@href")]:
            parts = urlsplit(ref)
            if parts.scheme in ("http", "https") or ref.startswith("#"):
                continue  # a release's own page, a skip link
            assert not parts.query and not ref.startswith("/"), (page.name, ref)
            assert (out / parts.path).is_file(), (page.name, ref)


def test_a_period_is_written_for_that_period(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "q4"
    args = ["punctuality", "--db", str(db), "--out", str(out)]
    assert main([*args, "--from", "2025-10-01", "--to", "2025-12-31"]) == 0
    doc = json.loads((out / "punctuality.json").read_text())
    assert doc["period"] == {"from": "2025-10-01", "to": "2025-12-31"}
    assert all("2025-10-01" <= r["due"][:10] <= "2025-12-31" for r in doc["releases"])


def test_a_date_it_cannot_read_names_the_option(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["punctuality", "--db", str(db), "--out", str(tmp_path), "--from", "1/10/2025"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--from" in err and "expected a date like 2025-07-17" in err


def test_from_after_to_is_refused(
    db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["punctuality", "--db", str(db), "--out", str(tmp_path / "x")]
    assert main([*args, "--from", "2026-01-01", "--to", "2025-01-01"]) == 2
    assert "--from 2026-01-01 is after --to 2025-01-01" in capsys.readouterr().err


def test_no_database_is_said_plainly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["punctuality", "--db", str(tmp_path / "none.db"), "--out", str(tmp_path / "o")])
    assert code != 0
    assert "none.db" in capsys.readouterr().err
