"""Stores: where releases, checks, events and deliveries live (SQLite locally, DynamoDB on AWS).

base.py is the port (the Store protocol); memory.py, sqlite.py and dynamodb.py implement it.
dynamodb_table.py creates and reaches the DynamoDB table, dynamodb_items.py encodes its items.
health.py checks the SQLite file at startup and puts a failing tick's exception into words.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .base import Store

__all__ = ["Store"]


def __getattr__(name: str) -> Any:
    # The protocol (and the models it names) loads when asked for, not with every store
    # module: the poller's idle tick reads the DynamoDB table without the models (issue 19).
    if name == "Store":
        from .base import Store

        return Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
