"""Every Store implementation, for the one contract suite.

A factory takes pytest's `tmp_path` and returns a Store (or yields one, then cleans up).
Calling it again with the same `tmp_path` must give another handle on the *same* data (a second
connection to the file, a second client on the table): the concurrency tests rely on that.
Stores with a `close()` are closed after the test. To add an implementation, add one entry.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from releasewatch.store.base import Store
from releasewatch.store.memory import InMemoryStore
from releasewatch.store.sqlite import SQLiteStore
from tests.integration.aws_stores import moto_dynamodb_store

StoreFactory = Callable[[Path], "Store | Generator[Store, None, None]"]


class _SharedMemory:
    """An in-memory store has no location: one instance per tmp_path stands in for a file."""

    def __init__(self) -> None:
        self._stores: dict[Path, InMemoryStore] = {}

    def __call__(self, tmp_path: Path) -> InMemoryStore:
        return self._stores.setdefault(tmp_path, InMemoryStore())


def _sqlite(tmp_path: Path) -> SQLiteStore:
    return SQLiteStore(tmp_path / "releasewatch.db")


STORE_FACTORIES: dict[str, StoreFactory] = {
    "memory": _SharedMemory(),
    "sqlite": _sqlite,
    "dynamodb": moto_dynamodb_store,
}


def _open(factory: StoreFactory, tmp_path: Path) -> Iterator[Store]:
    made: Any = factory(tmp_path)
    if inspect.isgenerator(made):
        store = next(made)
        try:
            yield store
        finally:
            made.close()
        return
    try:
        yield made
    finally:
        close = getattr(made, "close", None)
        if callable(close):
            close()


@pytest.fixture(params=list(STORE_FACTORIES))
def store_name(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def store(store_name: str, tmp_path: Path) -> Iterator[Store]:
    yield from _open(STORE_FACTORIES[store_name], tmp_path)


@pytest.fixture
def open_store(store_name: str, tmp_path: Path) -> Iterator[Callable[[], Store]]:
    """Opens further handles on the same data as `store` (closed after the test)."""
    openers: list[Iterator[Store]] = []

    def opener() -> Store:
        handle = _open(STORE_FACTORIES[store_name], tmp_path)
        openers.append(handle)
        return next(handle)

    yield opener
    for handle in openers:
        for _ in handle:  # runs each handle's cleanup
            pass
