"""The DynamoDB store under moto, as a contract-suite factory (tests/contract/conftest.py).

Each tmp_path gets its own table; calling the factory again with the same tmp_path opens a
second client on the same table (nested `mock_aws` contexts share moto's state: only the
outermost one resets it).

DynamoDB evaluates a condition and writes the item atomically; moto's in-process backend does
not (moto/dynamodb/models/__init__.py reads, checks and writes with no lock), so racing
threads could both pass `attribute_not_exists`. The factory serialises moto's item operations
with one lock so the race tests exercise our conditions, not moto's missing atomicity.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from moto import mock_aws
from moto.dynamodb.models import DynamoDBBackend

from releasewatch.store.dynamodb import DynamoDBStore
from releasewatch.store.dynamodb_table import create_table, dynamodb_client

REGION = "eu-west-2"
_MOTO_LOCK = threading.RLock()
_ATOMIC_OPERATIONS = ("put_item", "update_item", "delete_item", "transact_write_items")


def _atomic(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _MOTO_LOCK:
            return method(*args, **kwargs)

    locked.__releasewatch_atomic__ = True  # type: ignore[attr-defined]
    return locked


def make_moto_dynamodb_atomic() -> None:
    """Idempotent: wrap moto's item writes in one lock (see the module docstring)."""
    with _MOTO_LOCK:
        for name in _ATOMIC_OPERATIONS:
            method = getattr(DynamoDBBackend, name)
            if not getattr(method, "__releasewatch_atomic__", False):
                setattr(DynamoDBBackend, name, _atomic(method))


def moto_dynamodb_store(tmp_path: Path) -> Iterator[DynamoDBStore]:
    make_moto_dynamodb_atomic()
    with mock_aws():
        client = dynamodb_client(REGION)  # made inside the mock, so it never reaches AWS
        table = "releasewatch-" + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:12]
        if table not in client.list_tables()["TableNames"]:
            create_table(client, table)
        yield DynamoDBStore(table, client=client)
