"""Every AWS call a Lambda handler makes in the tests, as the IAM requests it implies.

botocore's BaseClient._make_api_call is wrapped once per process; a call counts only while a
handler runs (`running("poller")`, which lambda_support.import_handler puts around each
lambda_handler), so the tests' own set-up calls (create_table, put_parameter) are not checked.
Each call becomes one or more IAM requests (action, resource ARN, condition keys): a Query
names its index, a TransactWriteItems one request per item, an SES send its identity and
configuration set and ses:FromAddress. tests/iam_check.py judges them against template.yaml.

Needs only the standard library and botocore: the built handlers' subprocess
(tests/infrastructure/test_package.py) loads this file by path and writes its calls to
AWS_CALLS_FILE.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

# moto's account, in process and in server mode
ACCOUNT = "123456789012"
# botocore's service name -> IAM's service prefix, where they differ
_IAM_PREFIX = {"sesv2": "ses", "monitoring": "cloudwatch"}
# Environment variables never kept with a call (credentials)
_PRIVATE_ENV = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID")


@dataclass(frozen=True)
class Request:
    """One authorisation IAM makes for a call."""

    action: str
    resource: str
    context: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    function: str
    operation: str  # e.g. dynamodb.Query
    target: str  # what it touched, for the message (a phone number is masked)
    requests: list[Request]
    env: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Call:
        data = dict(data)
        data["requests"] = [Request(**r) for r in data["requests"]]
        return cls(**data)


class UnknownCall(Exception):
    """An operation this module cannot yet map to IAM requests: add it to requests_for."""


def _table(region: str, name: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{name}"


def _parameter(region: str, name: str) -> str:
    if name.startswith("arn:"):
        return name
    return f"arn:aws:ssm:{region}:{ACCOUNT}:parameter/{name.lstrip('/')}"


def _function(region: str, name: str) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"


def _address(value: str) -> str:
    """The bare address of 'Name <a@b>' or 'a@b'."""
    found = re.search(r"<([^>]+)>", value)
    return (found.group(1) if found else value).strip()


def _mask(phone: str) -> str:
    return phone[:4] + "*" * max(0, len(phone) - 7) + phone[-3:]


_TRANSACT = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
    "Get": "GetItem",
}
# DynamoDB operations on one table (TableName), authorised as themselves
_ONE_TABLE = {
    "GetItem",
    "PutItem",
    "UpdateItem",
    "DeleteItem",
    "DescribeTable",
    "DescribeTimeToLive",
    "DescribeContinuousBackups",
}


def requests_for(
    service: str, operation: str, params: dict[str, Any], region: str
) -> tuple[str, list[Request]]:
    """(what the call touched, the IAM requests it implies), from the call's parameters."""
    prefix = _IAM_PREFIX.get(service, service)
    act = f"{prefix}:{operation}"
    if prefix == "dynamodb":
        if operation in _ONE_TABLE:
            arn = _table(region, params["TableName"])
            return arn, [Request(act, arn)]
        if operation in ("Query", "Scan"):
            arn = _table(region, params["TableName"])
            if params.get("IndexName"):
                arn = f"{arn}/index/{params['IndexName']}"
            return arn, [Request(act, arn)]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            arns = sorted(_table(region, t) for t in params["RequestItems"])
            return ", ".join(arns), [Request(act, a) for a in arns]
        if operation in ("TransactWriteItems", "TransactGetItems"):
            # IAM has no Transact* action: each item is authorised as its own operation
            found = []
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                found.append(
                    Request(f"dynamodb:{_TRANSACT[kind]}", _table(region, body["TableName"]))
                )
            unique = list({(r.action, r.resource): r for r in found}.values())
            return ", ".join(sorted({r.resource for r in unique})), unique
    if prefix == "ses" and operation in ("SendEmail", "SendRawEmail"):
        sender = _address(params.get("FromEmailAddress") or params.get("Source") or "")
        # SES authorises the send against the sender's identity: the domain here (the
        # SesIdentity a deploy gives is the sender's domain or the address itself)
        identity = f"arn:aws:ses:{region}:{ACCOUNT}:identity/{sender.partition('@')[2]}"
        context = {"ses:FromAddress": sender}
        found = [Request(act, identity, context)]
        if params.get("ConfigurationSetName"):
            config_set = params["ConfigurationSetName"]
            found.append(
                Request(
                    act, f"arn:aws:ses:{region}:{ACCOUNT}:configuration-set/{config_set}", context
                )
            )
        return f"identity {identity} as {sender}", found
    if prefix == "sns" and operation == "Publish":
        if params.get("PhoneNumber"):
            # A phone number is no SNS resource: IAM authorises SMS against "*"
            return f"phone number {_mask(params['PhoneNumber'])}", [Request(act, "*")]
        arn = params.get("TopicArn") or params["TargetArn"]
        return arn, [Request(act, arn)]
    if prefix == "ssm" and operation in ("GetParameter", "GetParameters"):
        names = [params["Name"]] if operation == "GetParameter" else params["Names"]
        arns = [_parameter(region, n) for n in names]
        return ", ".join(arns), [Request(act, a) for a in arns]
    if prefix == "ssm" and operation == "GetParametersByPath":
        arn = _parameter(region, params["Path"])
        return arn, [Request(act, arn)]
    if prefix == "cloudwatch" and operation in (
        "GetMetricStatistics",
        "GetMetricData",
        "PutMetricData",
    ):
        # reading or writing metrics has no resource-level permissions
        return "metrics", [Request(act, "*")]
    if prefix == "lambda" and operation == "Invoke":
        # IAM's action is InvokeFunction; a name or a partial ARN becomes the function's ARN
        name = params["FunctionName"]
        arn = name if name.startswith("arn:") else _function(region, name)
        return arn, [Request("lambda:InvokeFunction", arn)]
    raise UnknownCall(
        f"{prefix}:{operation} (tests/aws_calls.py cannot say which resource it touches)"
    )


def requests_or_unknown(
    service: str, operation: str, params: dict[str, Any], region: str
) -> tuple[str, list[Request]]:
    """requests_for, or one "unknown" request the check fails on: never raise into a handler."""
    try:
        return requests_for(service, operation, params, region)
    except Exception as unknown:
        return str(unknown), [Request("unknown", f"{type(unknown).__name__}: {unknown}")]


class Recorder:
    """The calls handlers made, in this process."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._function: str | None = None
        self._env: dict[str, str] = {}
        self._installed = False

    def install(self) -> None:
        if self._installed:
            return
        from botocore.client import BaseClient

        original = BaseClient._make_api_call
        recorder = self

        def recording(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            recorder.record(client, operation_name, api_params)
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = recording
        self._installed = True

    def record(self, client: Any, operation: str, params: dict[str, Any]) -> None:
        function = self._function
        if function is None:
            return
        service = client.meta.service_model.service_name
        region = client.meta.region_name
        target, requests = requests_or_unknown(service, operation, params, region)
        with self._lock:
            self.calls.append(Call(function, f"{service}.{operation}", target, requests, self._env))

    @contextmanager
    def running(self, function: str) -> Iterator[None]:
        """Calls made until exit are this function's (worker threads included)."""
        outer = self._function, self._env
        self._function = function
        self._env = {k: v for k, v in os.environ.items() if k not in _PRIVATE_ENV}
        try:
            yield
        finally:
            self._function, self._env = outer

    def take(self) -> list[Call]:
        with self._lock:
            calls, self.calls = self.calls, []
        return calls

    def dump(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as out:
            json.dump([c.to_json() for c in self.take()], out)


def load(path: str) -> list[Call]:
    with open(path, encoding="utf-8") as f:
        return [Call.from_json(c) for c in json.load(f)]


RECORDER = Recorder()
