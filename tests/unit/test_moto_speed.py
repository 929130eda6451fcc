"""tests/moto_speed.py sorts moto's DynamoDB items exactly as moto itself does: on generated
items with string and number keys (where "10" < "9" as text but not as numbers), the faster
sorts give the same order as moto's own, on the table and on an index."""

from __future__ import annotations

from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from moto.dynamodb.models import dynamodb_backends

from tests import moto_speed

REGION = "eu-west-2"
ACCOUNT = "123456789012"

keys = st.text(alphabet="ab9Z0é", min_size=1, max_size=4)
numbers = st.integers(min_value=-1000, max_value=1000).map(str)
rows = st.lists(st.tuples(keys, numbers, numbers, keys), min_size=0, max_size=25)


def order(items: list[Any]) -> list[tuple[str, str]]:
    return [(i.attrs["PK"].value, i.attrs["SK"].value) for i in items]


def test_the_faster_sorts_order_items_as_moto_does() -> None:
    moto_speed.install()
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        tables = iter(range(10**6))

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(rows)
        def check(data: list[tuple[str, str, str, str]]) -> None:
            name = f"t{next(tables)}"  # a new table for each example, in one mock
            client.create_table(
                TableName=name,
                BillingMode="PAY_PER_REQUEST",
                AttributeDefinitions=[
                    {"AttributeName": "PK", "AttributeType": "S"},
                    {"AttributeName": "SK", "AttributeType": "N"},
                    {"AttributeName": "G", "AttributeType": "N"},
                ],
                KeySchema=[
                    {"AttributeName": "PK", "KeyType": "HASH"},
                    {"AttributeName": "SK", "KeyType": "RANGE"},
                ],
                GlobalSecondaryIndexes=[
                    {
                        "IndexName": "g-index",
                        "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"}],
                        "Projection": {"ProjectionType": "KEYS_ONLY"},
                    }
                ],
            )
            for pk, sk, g, _ in data:
                client.put_item(
                    TableName=name, Item={"PK": {"S": pk}, "SK": {"N": sk}, "G": {"N": g}}
                )
            table = dynamodb_backends[ACCOUNT][REGION].tables[name]
            original = moto_speed.ORIGINAL
            assert order(moto_speed._all_items(table)) == order(original["all_items"](table))
            for hash_attrs, range_attrs in ((["G", "PK"], [None, "SK"]), (["PK"], ["SK"])):
                items = table.all_items()
                ours = moto_speed._sorted_items(table, hash_attrs, range_attrs, list(items))
                theirs = original["sorted_items"](table, hash_attrs, range_attrs, list(items))
                assert order(ours) == order(theirs)

        check()
