"""moto's DynamoDB, sorted the same way but faster: a test-harness speed-up, not a behaviour change.

moto sorts every item of a table on each Query (`Table.all_items`, and `sorted_items` for an
index), comparing `DynamoType`s whose every comparison recomputes `cast_value`. With a few
thousand items (300 releases' checks and deliveries) that was most of the AWS tests' time: the
300-release shard test spent 39 s of 80 in those sorts. Here the sort key is each key's
`cast_value` computed once, which orders exactly as moto's comparisons do (`DynamoType.__lt__`
compares `cast_value`; a key attribute has one type, fixed by the table's schema).
`tests/unit/test_moto_speed.py` checks the order against moto's own on generated items.
"""

from __future__ import annotations

from typing import Any

ORIGINAL: dict[str, Any] = {}


def _all_items(self: Any) -> list[Any]:
    items: list[Any] = []
    for hash_set in self.items.values():
        if self.range_key_attr:
            items.extend(hash_set.values())
        else:
            items.append(hash_set)
    return sorted(
        items,
        key=lambda x: (
            (x.hash_key.cast_value, x.range_key.cast_value)
            if x.range_key
            else x.hash_key.cast_value
        ),
    )


def _sorted_items(
    self: Any, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Any]
) -> list[Any]:
    attrs = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
    items.sort(key=lambda x: tuple(x.attrs[key].cast_value for key in attrs))
    return items


def install() -> None:
    """Replace the two sorts (once per process); ORIGINAL keeps moto's for the check."""
    from moto.dynamodb.models.table import Table

    if ORIGINAL:
        return
    ORIGINAL["all_items"] = Table.all_items
    ORIGINAL["sorted_items"] = Table.sorted_items
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.sorted_items = _sorted_items  # type: ignore[method-assign]
