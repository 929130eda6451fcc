"""apply_releases commits in TransactWriteItems of at most 100 actions and 4 MB: releases that
name an iCal rota are tens of KB each even compressed, so 100 of them would be refused."""

from __future__ import annotations

import os

from releasewatch.store.dynamodb import TRANSACTION_LIMIT, _chunked, _Write

MB = 1024 * 1024


def _put(n: int, size: int) -> _Write:
    item = {"PK": {"S": f"RELEASE#r{n}"}, "SK": {"S": "META"}, "record_z": {"B": os.urandom(size)}}
    return _Write(action={"Put": {"TableName": "t", "Item": item}}, undo=None)


def _item_bytes(chunk: list[_Write]) -> int:
    return sum(len(w.action["Put"]["Item"]["record_z"]["B"]) for w in chunk)


def test_large_releases_are_split_below_the_4_mb_transaction_limit() -> None:
    writes = [_put(i, 48 * 1024) for i in range(150)]  # two long rotas each
    chunks = _chunked(writes, TRANSACTION_LIMIT, 3 * MB)
    assert [w for c in chunks for w in c] == writes  # all of them, in order
    assert all(_item_bytes(c) < 4 * MB for c in chunks)
    assert len(chunks) > 2


def test_small_releases_still_go_100_at_a_time() -> None:
    writes = [_put(i, 2000) for i in range(250)]
    assert [len(c) for c in _chunked(writes, TRANSACTION_LIMIT, 3 * MB)] == [100, 100, 50]
