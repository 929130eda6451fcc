"""The DynamoDB table the store lives in: its name-independent layout (keys, the four KEYS_ONLY
indexes, the TTL attribute), created as template.yaml declares it, and the client to reach it.

Clients made here use botocore's `standard` retry mode (10 attempts), so throttling
(`ProvisionedThroughputExceededException`, `ThrottlingException`) and 5xx are retried with
backoff before the store sees them. A client passed in keeps its own retry configuration: build
it with `dynamodb_client()` to get the same behaviour.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

ACTIVE_INDEX = "active-index"
RELEASES_INDEX = "releases-index"
WAKE_INDEX = "wake-index"
AWAITING_INDEX = "awaiting-index"
TTL_ATTRIBUTE = "expires_at"


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def dynamodb_client(
    region_name: str | None = None, endpoint_url: str | None = None, *, adaptive: bool = False
) -> Any:
    """A DynamoDB client whose retries cover throttling (botocore retry modes)."""
    from botocore.config import Config

    from ..aws import clients

    config = Config(
        retries={"mode": "adaptive" if adaptive else "standard", "max_attempts": 10},
        connect_timeout=3,
        read_timeout=10,
    )
    return clients.client(
        "dynamodb", region_name=region_name, endpoint_url=endpoint_url, config=config
    )


def create_table(client: Any, table_name: str, *, wait: bool = True) -> None:
    """Create the table as template.yaml declares it (keys, the indexes, TTL, SSE, PITR)."""
    keys_only = {"ProjectionType": "KEYS_ONLY"}
    client.create_table(
        TableName=table_name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "PK", "AttributeType": "S"},
            {"AttributeName": "SK", "AttributeType": "S"},
            {"AttributeName": "active_pk", "AttributeType": "S"},
            {"AttributeName": "release_pk", "AttributeType": "S"},
            {"AttributeName": "wake_pk", "AttributeType": "S"},
            {"AttributeName": "wake_at", "AttributeType": "S"},
            {"AttributeName": "awaiting_pk", "AttributeType": "S"},
            {"AttributeName": "awaiting_at", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "PK", "KeyType": "HASH"},
            {"AttributeName": "SK", "KeyType": "RANGE"},
        ],
        GlobalSecondaryIndexes=[
            {
                "IndexName": ACTIVE_INDEX,
                "KeySchema": [
                    {"AttributeName": "active_pk", "KeyType": "HASH"},
                    {"AttributeName": "PK", "KeyType": "RANGE"},
                ],
                "Projection": keys_only,
            },
            {
                "IndexName": RELEASES_INDEX,
                "KeySchema": [
                    {"AttributeName": "release_pk", "KeyType": "HASH"},
                    {"AttributeName": "PK", "KeyType": "RANGE"},
                ],
                "Projection": keys_only,
            },
            {
                "IndexName": WAKE_INDEX,
                "KeySchema": [
                    {"AttributeName": "wake_pk", "KeyType": "HASH"},
                    {"AttributeName": "wake_at", "KeyType": "RANGE"},
                ],
                "Projection": keys_only,
            },
            {
                "IndexName": AWAITING_INDEX,
                "KeySchema": [
                    {"AttributeName": "awaiting_pk", "KeyType": "HASH"},
                    {"AttributeName": "awaiting_at", "KeyType": "RANGE"},
                ],
                "Projection": keys_only,
            },
        ],
        SSESpecification={"Enabled": True},
    )
    if wait:
        client.get_waiter("table_exists").wait(
            TableName=table_name, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
        )
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
    try:
        client.update_continuous_backups(
            TableName=table_name,
            PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
        )
    except ClientError as exc:  # e.g. ContinuousBackupsUnavailableException right after create
        if error_code(exc) != "ContinuousBackupsUnavailableException":
            raise
