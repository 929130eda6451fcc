"""The IAM check itself (tests/aws_calls.py records, tests/iam_check.py judges; tests/conftest.py
runs it for every test): a narrowed statement fails it naming the permission, IAM's matching
rules hold, and calls are recorded with the resource they touch, only while a handler runs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from releasewatch.store.dynamodb_table import create_table
from tests import iam_check
from tests.aws_calls import Call, Recorder, requests_for, requests_or_unknown
from tests.iam_check import judge, translate

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-2"
TABLE = "releasewatch-iam"
API_ENV = {"AWS_REGION": REGION, "TABLE_NAME": TABLE, "ACK_SECRET_PARAMETER": "/rw/ack"}
POLLER_ENV = {**API_ENV, "SENDER_EMAIL": "releasewatch@stats.example.com"}


def call(function: str, service: str, operation: str, env: dict[str, str], **params: Any) -> Call:
    target, requests = requests_for(service, operation, params, REGION)
    return Call(function, f"{service}.{operation}", target, requests, env)


ACTIVE_QUERY = call("api", "dynamodb", "Query", API_ENV, TableName=TABLE, IndexName="active-index")


def test_the_release_pages_query_of_the_active_releases_is_allowed() -> None:
    assert judge([ACTIVE_QUERY]).denied == []


def test_a_narrowed_statement_fails_naming_the_missing_permission() -> None:
    text = (ROOT / "template.yaml").read_text()
    narrowed = text.replace(
        '                - !Sub "${Table.Arn}/index/active-index"\n'
        '                - !Sub "${Table.Arn}/index/releases-index"\n',
        '                - !Sub "${Table.Arn}/index/releases-index"\n',
        1,
    )
    assert narrowed != text
    verdict = judge([ACTIVE_QUERY], translate(narrowed))
    (denied,) = verdict.denied
    assert denied.startswith("ApiFunction (role ApiFunctionRole) may not dynamodb:Query on ")
    assert f"table/{TABLE}/index/active-index" in denied
    assert "Resource: !Sub ${Table.Arn}/index/active-index" in denied
    assert "may not dynamodb:Query" in verdict.message()


def test_actions_match_without_case_and_resources_with_wildcards_across_slashes() -> None:
    assert iam_check.glob("DynamoDB:*Item", "dynamodb:GetItem", case=False)
    assert not iam_check.glob("dynamodb:Get*", "dynamodb:PutItem", case=False)
    assert iam_check.glob("arn:aws:ssm:*:parameter/rw/*", "arn:aws:ssm:x:parameter/rw/a/b")
    assert not iam_check.glob("arn:aws:ssm:*:parameter/rw/*", "arn:aws:ssm:x:parameter/RW/a")
    assert iam_check.glob("table/t?", "table/t1") and not iam_check.glob("table/t?", "table/t12")


def test_email_only_from_the_sender_and_only_through_sesv2_send_email() -> None:
    def send(sender: str, operation: str = "SendEmail") -> Call:
        return call(
            "poller",
            "sesv2",
            operation,
            POLLER_ENV,
            FromEmailAddress=f"Releasewatch <{sender}>",
            Destination={"ToAddresses": ["team@example.com"]},
            Content={},
        )

    assert judge([send("releasewatch@stats.example.com")]).denied == []
    (forged,) = judge([send("ceo@stats.example.com")]).denied
    assert "ses:FromAddress ceo@stats.example.com" in forged
    (raw,) = judge([send("releasewatch@stats.example.com", "SendRawEmail")]).denied
    assert "may not ses:SendRawEmail" in raw


def test_conditional_statements_follow_the_parameters_the_handler_ran_with() -> None:
    token = "/releasewatch/notify-callback-token"
    read = "arn:aws:ssm:eu-west-2:123456789012:parameter" + token

    def get(env: dict[str, str]) -> Call:
        return call("api", "ssm", "GetParameter", env, Name=token, WithDecryption=True)

    assert judge([get({**API_ENV, "NOTIFY_CALLBACK_TOKEN_PARAMETER": token})]).denied == []
    (denied,) = judge([get(API_ENV)]).denied
    assert f"may not ssm:GetParameter on {read}" in denied


def test_a_call_the_recorder_cannot_place_fails_naming_it() -> None:
    target, requests = requests_or_unknown("dynamodb", "DeleteTable", {"TableName": TABLE}, REGION)
    unknown = Call("poller", "dynamodb.DeleteTable", target, requests, POLLER_ENV)
    (denied,) = judge([unknown]).denied
    assert "dynamodb.DeleteTable" in denied and "cannot say which resource" in denied


def test_a_permission_no_call_used_is_reported() -> None:
    used = judge([ACTIVE_QUERY]).used
    lines = iam_check.unused_report(used)
    assert "ApiFunction ReadReleases: action dynamodb:BatchGetItem" in lines
    assert "ApiFunction ReadReleases: resource !Sub ${Table.Arn}/index/active-index" not in lines


@pytest.fixture
def recorder(monkeypatch: pytest.MonkeyPatch) -> Iterator[Recorder]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    fresh = Recorder()
    fresh.install()  # a second wrapper over the session's: both see each call
    with mock_aws():
        yield fresh


def test_calls_are_recorded_with_their_index_only_while_a_handler_runs(
    recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("dynamodb", region_name=REGION)
    create_table(client, TABLE)  # the test's own set-up: not the function's
    monkeypatch.setenv("TABLE_NAME", TABLE)
    with recorder.running("api"):
        client.query(
            TableName=TABLE,
            IndexName="active-index",
            KeyConditionExpression="active_pk = :a",
            ExpressionAttributeValues={":a": {"S": "ACTIVE"}},
        )
    (recorded,) = recorder.take()
    assert recorded.function == "api" and recorded.operation == "dynamodb.Query"
    (request,) = recorded.requests
    assert request.action == "dynamodb:Query"
    assert (
        request.resource
        == f"arn:aws:dynamodb:{REGION}:123456789012:table/{TABLE}/index/active-index"
    )
    assert recorded.env["TABLE_NAME"] == TABLE
    assert "AWS_SECRET_ACCESS_KEY" not in recorded.env
