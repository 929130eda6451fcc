"""The calendars' last good import on every keeper: a file beside the SQLite database (local)
and the DynamoDB table under moto (AWS). Both give back what was saved, replace it whole, and
refuse damaged state with a clear error instead of dropping the imported releases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releasewatch.aws.blobs import Documents
from releasewatch.aws.calendar_state import IMPORTS, FailingSources, TableImports
from releasewatch.calendar.announcement import Announcement, AnnState
from releasewatch.calendar.imports import FileImports, Imports, ImportsKeeper
from releasewatch.clock import FixedClock
from tests.integration.aws_stores import moto_dynamodb_store

NOW = datetime(2026, 7, 1, 11, 0, tzinfo=UTC)


def _announcements(n: int, label: str = "x") -> list[Announcement]:
    return [
        Announcement(
            id=f"govuk-{label}-statistics-{i:05d}",
            title=f"Monthly statistics {label} {i}: a long enough title to be realistic",
            url=f"https://www.gov.uk/government/statistics/announcements/{label}-{i:05d}",
            state=AnnState.CONFIRMED,
            due=NOW + timedelta(days=i % 300, minutes=i),
            display_date="30 October 2026 9:30am",
            producer="Intellectual Property Office",
            govuk=True,
        )
        for i in range(n)
    ]


@pytest.fixture(params=["file", "dynamodb"])
def keeper(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ImportsKeeper]:
    if request.param == "file":
        yield FileImports(tmp_path / "releasewatch.db.calendars.json")
        return
    stores = moto_dynamodb_store(tmp_path)
    store = next(stores)
    # Small chunks, so the contract also covers a document split over several items.
    yield TableImports(Documents(store.client, store.table_name, chunk_bytes=4096), FixedClock(NOW))
    stores.close()


def test_nothing_saved_yet_is_an_empty_import(keeper: ImportsKeeper) -> None:
    loaded = keeper.load()
    assert loaded.sources == {} and loaded.at == {}


def test_what_is_saved_is_loaded_and_a_second_save_replaces_it(keeper: ImportsKeeper) -> None:
    first = Imports({"govuk:ipo": _announcements(300, "a")}, {"govuk:ipo": NOW})
    keeper.save(first)
    loaded = keeper.load()
    assert loaded.sources == first.sources and loaded.at == first.at

    later = NOW + timedelta(hours=6)
    second = Imports({"csv:releases.csv": _announcements(2, "b")}, {"csv:releases.csv": later})
    keeper.save(second)
    loaded = keeper.load()
    assert loaded.sources == second.sources and loaded.at == {"csv:releases.csv": later}


def test_damaged_state_is_an_error_naming_it_not_an_empty_import(
    keeper: ImportsKeeper, tmp_path: Path
) -> None:
    if isinstance(keeper, FileImports):
        keeper.path.write_text('{"sources": {"x": {"at": "soon"}}}')
    else:
        assert isinstance(keeper, TableImports)
        keeper.documents.put(IMPORTS, b'{"sources": {"x": {"at": "soon"}}}', NOW)
    with pytest.raises(ValueError, match="the last calendar imports are damaged"):
        keeper.load()


def test_a_table_document_is_replaced_whole_and_leaves_no_old_chunks(tmp_path: Path) -> None:
    stores = moto_dynamodb_store(tmp_path)
    store = next(stores)
    docs = Documents(store.client, store.table_name, chunk_bytes=1000)
    big = bytes(range(256)) * 200  # incompressible enough to need several chunks
    docs.put("doc", big, NOW)
    docs.put("doc", b"small", NOW)
    assert docs.get("doc") == b"small"
    items = store.client.scan(TableName=store.table_name)["Items"]
    assert sorted(i["SK"]["S"].split("#")[0] for i in items if i["PK"]["S"] == "DOC#doc") == [
        "CHUNK",
        "HEAD",
    ]
    failing = FailingSources(docs)
    assert failing.load() == {}
    failing.save({"govuk:ipo": "status 503"}, NOW)
    assert failing.load() == {"govuk:ipo": "status 503"}
    stores.close()


def test_a_reader_overtaken_by_a_writer_reads_the_new_version(tmp_path: Path) -> None:
    stores = moto_dynamodb_store(tmp_path)
    store = next(stores)
    docs = Documents(store.client, store.table_name)
    docs.put("doc", b"first", NOW)

    class Overtaken:
        """The first chunk read comes after another writer replaced the document."""

        def __init__(self) -> None:
            self.done = False

        def get_item(self, **kwargs: object) -> object:
            key = kwargs["Key"]
            assert isinstance(key, dict)
            if key["SK"]["S"].startswith("CHUNK#") and not self.done:
                self.done = True
                docs.put("doc", b"second", NOW)  # deletes the chunks the reader was after
            return store.client.get_item(**kwargs)

    reader = Documents(Overtaken(), store.table_name)
    assert reader.get("doc") == b"second"
    stores.close()
