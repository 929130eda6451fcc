"""The punctuality record's summaries and files: JSON valid against its published schema,
CSV a spreadsheet reads safely, a valid Atom feed with stable entry ids, and no personal data
anywhere, though the store is full of contacts, acknowledgements and deliveries."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from importlib.resources import files
from xml.etree import ElementTree as ET

import pytest
from jsonschema import Draft202012Validator

from releasewatch.model import Check
from releasewatch.punctuality import atom
from releasewatch.punctuality.csv_out import RELEASE_COLUMNS, releases_csv
from releasewatch.punctuality.document import document
from releasewatch.punctuality.gather import gather
from releasewatch.punctuality.summary import COUNTED, Period, by_producer, in_period, summarise
from releasewatch.punctuality.verdicts import Judged, Verdict
from releasewatch.store.memory import InMemoryStore
from releasewatch.web.punctuality_files import data_file
from tests.browser.harness import personal_data
from tests.punctuality_support import LATE_400_DAYS, NOW, PRODUCERS, seed_year

A = "{http://www.w3.org/2005/Atom}"


@pytest.fixture(scope="module")
def year() -> list[Judged]:
    store = InMemoryStore()
    seed_year(store)
    return gather(store, NOW)


def schema() -> Draft202012Validator:
    text = files("releasewatch.web").joinpath("schema", "punctuality.v1.json").read_text()
    return Draft202012Validator(json.loads(text))


def test_every_producer_is_summarised_and_the_verdicts_add_up(year: list[Judged]) -> None:
    summaries = by_producer(year)
    assert sorted(s.producer for s in summaries) == sorted(PRODUCERS)
    for s in summaries:
        assert sum(s.count(v) for v in COUNTED) == s.releases
    assert sum(s.releases for s in summaries) == len(year)


def test_median_and_worst_lateness_are_over_the_late_releases() -> None:
    def late(minutes: int) -> Judged:
        return _judged(Verdict.LATE, timedelta(minutes=minutes))

    s = summarise([late(4), late(10), late(400 * 24 * 60), _judged(Verdict.ON_TIME, None)])
    assert s.median_lateness_minutes == 10
    assert s.worst_lateness_minutes == 400 * 24 * 60
    assert s.count(Verdict.LATE) == 3 and s.count(Verdict.ON_TIME) == 1


def test_a_period_holds_the_releases_due_in_it_by_uk_day(year: list[Judged]) -> None:
    period = Period(date(2025, 10, 1), date(2025, 12, 31))
    chosen = in_period(year, period)
    assert chosen and len(chosen) < len(year)
    assert all(date(2025, 10, 1) <= j.due.date() <= date(2025, 12, 31) for j in chosen)


def test_the_json_document_is_valid_against_its_schema(year: list[Judged]) -> None:
    doc = json.loads(data_file("punctuality.json", year, Period(), NOW))
    errors = sorted(schema().iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    assert {r["verdict"] for r in doc["releases"]} >= {
        "on_time", "late", "early", "cancelled", "moved_short_notice", "unknown"
    }  # fmt: skip
    worst = next(r for r in doc["releases"] if r["release_id"] == LATE_400_DAYS)
    assert worst["lateness_minutes"] == 400 * 24 * 60
    assert worst["evidence"]["last_not_live"]["live"] is False
    assert worst["evidence"]["first_live"]["live"] is True


def test_the_schema_refuses_a_record_that_breaks_it(year: list[Judged]) -> None:
    doc = document(year[:3], Period(), NOW)
    doc["releases"][0]["verdict"] = "probably_fine"
    assert list(schema().iter_errors(doc))


def test_the_csv_has_one_row_per_release_with_the_documented_columns(year: list[Judged]) -> None:
    rows = list(csv.DictReader(io.StringIO(releases_csv(year))))
    assert len(rows) == len(year)
    assert tuple(rows[0]) == RELEASE_COLUMNS
    worst = next(r for r in rows if r["release_id"] == LATE_400_DAYS)
    assert worst["verdict"] == "late" and worst["lateness_minutes"] == str(400 * 24 * 60)


def test_a_title_that_looks_like_a_formula_is_not_one_in_a_spreadsheet() -> None:
    j = _judged(Verdict.ON_TIME, timedelta(0), title='=HYPERLINK("http://evil.example.com")')
    row = next(csv.DictReader(io.StringIO(releases_csv([j]))))
    assert row["title"].startswith("'=")


def test_the_atom_feed_is_valid_with_stable_ids(year: list[Judged]) -> None:
    text = atom.feed(year, NOW)
    root = ET.fromstring(text)
    assert root.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert root.find(f"{A}{name}") is not None and root.findtext(f"{A}{name}")
    assert root.find(f"{A}author/{A}name") is not None
    entries = root.findall(f"{A}entry")
    late_or_early = [j for j in year if j.verdict in (Verdict.LATE, Verdict.EARLY)]
    assert len(entries) == len(late_or_early)
    for entry in entries:
        for name in ("id", "title", "updated", "summary"):
            assert entry.findtext(f"{A}{name}"), name
        assert entry.find(f"{A}link[@rel='alternate']") is not None
    ids = [e.findtext(f"{A}id") for e in entries]
    assert len(set(ids)) == len(ids)
    # Rebuilt later, from the record in another order: the same ids.
    again = ET.fromstring(atom.feed(list(reversed(year)), NOW + timedelta(days=1)))
    assert sorted(e.findtext(f"{A}id") or "" for e in again.findall(f"{A}entry")) == sorted(
        i or "" for i in ids
    )
    titles = [e.findtext(f"{A}title") or "" for e in entries]
    assert any(t.startswith("Late by 400 days") for t in titles)
    assert any(t.startswith("Early by") for t in titles)


@pytest.mark.parametrize("name", ["punctuality.csv", "producers.csv", "punctuality.json",
                                  "late-and-early.atom"])  # fmt: skip
def test_no_file_names_a_person(year: list[Judged], name: str) -> None:
    text = data_file(name, year, Period(), NOW)
    assert personal_data(text) == []
    for contact in ("Alice Publisher", "Bob Lead", "Charlie Head", "web_publisher"):
        assert contact not in text


def test_the_record_holds_no_personal_data_before_any_scrub(year: list[Judged]) -> None:
    """The scrub is the last line of defence, not the first: the record itself is built from
    releases, checks and calendar changes only."""
    text = json.dumps(document(year, Period(), NOW)) + releases_csv(year) + atom.feed(year, NOW)
    assert personal_data(text) == []
    for contact in ("Alice Publisher", "Bob Lead", "Charlie Head", "web_publisher", "provider-1"):
        assert contact not in text


def _judged(verdict: Verdict, lateness: timedelta | None, title: str = "A release") -> Judged:
    from tests.factories import DUE

    return Judged(
        release_id="r", title=title, url="https://stats.example.com/r", producer="P", due=DUE,
        grace=timedelta(minutes=2), verdict=verdict, lateness=lateness, still_not_live=False,
        first_seen_live=None, moves=(), why="", last_not_live=None, first_live=None,
        judged_at=None,
    )  # fmt: skip


def test_the_checks_of_releases_not_yet_due_are_not_read() -> None:
    """A page over 3,000 watched releases reads the checks of those it can judge only."""
    from tests.factories import DUE, make_release

    class Counting(InMemoryStore):
        read: list[str] = []

        def checks(self, release_id: str, limit: int | None = None) -> list[Check]:
            self.read.append(release_id)
            return super().checks(release_id, limit)

    store = Counting()
    ahead = [make_release(f"ahead-{n}", due=DUE + timedelta(days=n + 1)) for n in range(5)]
    store.apply_releases([make_release("due", due=DUE), *ahead], DUE - timedelta(days=1))
    judged = gather(store, DUE + timedelta(hours=1))
    assert store.read == ["due"]
    assert [j.verdict for j in judged if j.release_id != "due"] == [Verdict.PENDING] * 5
