"""template.yaml, checked offline: cfn-lint, then the SAM transform and named assertions on what
the deployed stack must do. Each assertion says what an operator would lose without it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from releasewatch.store.dynamodb_table import create_table
from tools.layer_requirements import read_pins

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"


class _ManagedPolicies:
    """The managed-policy loader samtranslator asks for (it would otherwise call IAM)."""

    def load(self) -> dict[str, str]:
        names = ["AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess", "AWSLambdaRole"]
        return {n: f"arn:aws:iam::aws:policy/{n}" for n in names}


@pytest.fixture(scope="module")
def sam() -> dict[str, Any]:
    template: dict[str, Any] = yaml_parse(TEMPLATE.read_text())
    return template


@pytest.fixture(scope="module")
def cfn(sam: dict[str, Any]) -> dict[str, Any]:
    template: dict[str, Any] = yaml_parse(TEMPLATE.read_text())
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://releasewatch-artifacts/{key.lower()}.zip"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "eu-west-2")
        out: dict[str, Any] = transform(template, {}, _ManagedPolicies())
    return out


def of_type(cfn: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in cfn["Resources"].items() if v["Type"] == kind}


def statements(cfn: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The statements every stack has: the ones under a condition (Fn::If, for features such
    as GOV.UK Notify that a stack may leave off) are in conditional_statements."""
    return [
        s
        for p in _policies(cfn, role)
        for s in p["PolicyDocument"]["Statement"]
        if "Fn::If" not in s
    ]


def _policies(cfn: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The role's inline policies and the AWS::IAM::Policy resources attached to it."""
    policies = list(cfn["Resources"][role]["Properties"].get("Policies", []))
    for resource in cfn["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in props.get("Roles", []):
            policies.append(props)
    return policies


def conditional_statements(cfn: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    """{condition: the statement granted only when it holds} (the other branch is NoValue)."""
    policies = _policies(cfn, role)
    out = {}
    for p in policies:
        for s in p["PolicyDocument"]["Statement"]:
            if "Fn::If" in s:
                condition, granted, otherwise = s["Fn::If"]
                assert otherwise == {"Ref": "AWS::NoValue"}
                out[condition] = granted
    return out


def schedules_of(cfn: dict[str, Any], function: str) -> list[dict[str, Any]]:
    return [
        s
        for s in of_type(cfn, "AWS::Scheduler::Schedule").values()
        if s["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [function, "Arn"]}
    ]


def actions(statement: dict[str, Any]) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else list(action)


def resources(statement: dict[str, Any]) -> list[Any]:
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def for_service(cfn: dict[str, Any], role: str, prefix: str) -> list[dict[str, Any]]:
    return [s for s in statements(cfn, role) if any(a.startswith(prefix) for a in actions(s))]


# -- the template as a whole ------------------------------------------------------------------


@pytest.mark.slow
def test_template_passes_cfn_lint() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).with_name("cfn-lint")), str(TEMPLATE)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_functions_run_a_current_python_on_arm64(cfn: dict[str, Any]) -> None:
    functions = of_type(cfn, "AWS::Lambda::Function")
    assert set(functions) == {"PollerFunction", "ApiFunction", "SyncFunction"}
    for name, fn in functions.items():
        assert fn["Properties"]["Runtime"] in ("python3.12", "python3.13"), name
        assert fn["Properties"]["Architectures"] == ["arm64"], name
        assert "TracingConfig" not in fn["Properties"], name  # tracing is asked for, below


def test_shared_code_ships_as_a_layer_that_sam_build_installs(sam: dict[str, Any]) -> None:
    layer = sam["Resources"]["SharedLayer"]
    assert layer["Properties"]["ContentUri"] == "shared/"
    assert layer["Metadata"]["BuildMethod"] == sam["Globals"]["Function"]["Runtime"]
    assert layer["Metadata"]["BuildArchitecture"] == "arm64"
    requirements = read_pins((ROOT / "shared" / "requirements.txt").read_text())
    for package in ("httpx", "pydantic", "pyyaml", "aws-lambda-powertools", "python-docx"):
        assert package in requirements
    assert (ROOT / "shared" / "releasewatch" / "__init__.py").exists()
    for fn in ("PollerFunction", "ApiFunction", "SyncFunction"):
        handler_dir = ROOT / sam["Resources"][fn]["Properties"]["CodeUri"]
        assert (handler_dir / "app.py").exists(), fn


# -- the clock --------------------------------------------------------------------------------


def test_poller_runs_every_minute(cfn: dict[str, Any]) -> None:
    schedule = schedules_of(cfn, "PollerFunction")[0]
    props = schedule["Properties"]
    # cfn-lint does not catch "rate(1 minutes)" or "rate(5 minute)": check the text itself
    assert props["ScheduleExpression"] == "rate(1 minute)"
    assert re.fullmatch(r"rate\(1 minute\)", props["ScheduleExpression"])
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert props["Target"]["Arn"] == {"Fn::GetAtt": ["PollerFunction", "Arn"]}


def test_schedule_retries_briefly_then_dead_letters(cfn: dict[str, Any]) -> None:
    schedule = schedules_of(cfn, "PollerFunction")[0]
    target = schedule["Properties"]["Target"]
    retry = target["RetryPolicy"]
    # a tick older than two minutes is superseded by the next one
    assert 60 <= retry["MaximumEventAgeInSeconds"] <= 300
    assert 1 <= retry["MaximumRetryAttempts"] <= 3
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["FailedTicksQueue", "Arn"]}


def test_failed_poller_invocations_go_to_an_on_failure_destination(cfn: dict[str, Any]) -> None:
    (config,) = [
        c
        for c in of_type(cfn, "AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": "PollerFunction"}
    ]
    props = config["Properties"]
    assert props["MaximumRetryAttempts"] <= 1
    assert props["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["FailedTicksQueue", "Arn"]
    }


def test_poller_has_exactly_one_schedule(cfn: dict[str, Any]) -> None:
    assert len(schedules_of(cfn, "PollerFunction")) == 1


# -- the calendar sync --------------------------------------------------------------------------


def _sync_schedules(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        s["Properties"]["Name"]["Fn::Sub"]: s["Properties"]
        for s in schedules_of(cfn, "SyncFunction")
    }


def test_the_calendar_sync_runs_every_6_hours_by_default(
    cfn: dict[str, Any], sam: dict[str, Any]
) -> None:
    props = _sync_schedules(cfn)["${AWS::StackName}-sync"]
    assert props["ScheduleExpression"] == {"Fn::Sub": "rate(${SyncIntervalMinutes} minutes)"}
    parameter = sam["Parameters"]["SyncIntervalMinutes"]
    assert parameter["Default"] == 360  # 6 hours
    # "rate(1 minutes)" is refused by Scheduler and unchecked by cfn-lint: plural only
    assert parameter["MinValue"] >= 2
    assert re.fullmatch(r"rate\(\d+ minutes\)", f"rate({parameter['Default']} minutes)")
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}


def test_the_calendar_sync_also_runs_at_8_uk_time_each_working_day(cfn: dict[str, Any]) -> None:
    from zoneinfo import ZoneInfo

    props = _sync_schedules(cfn)["${AWS::StackName}-sync-morning"]
    # cfn-lint checks neither the cron fields nor the zone: minute 0, hour 8, Monday to Friday
    assert props["ScheduleExpression"] == "cron(0 8 ? * MON-FRI *)"
    fields = props["ScheduleExpression"].removeprefix("cron(").removesuffix(")").split()
    assert len(fields) == 6 and fields[:2] == ["0", "8"] and fields[4] == "MON-FRI"
    # 08:00 in London all year (BST in summer), not 08:00 UTC
    assert props["ScheduleExpressionTimezone"] == "Europe/London"
    assert ZoneInfo(props["ScheduleExpressionTimezone"]).key == "Europe/London"


def test_the_sync_gets_an_event_shaped_like_the_handler_tests_use(cfn: dict[str, Any]) -> None:
    import json

    fixture = json.loads((ROOT / "tests" / "events" / "scheduler_invoke.json").read_text())
    for name, props in _sync_schedules(cfn).items():
        text = props["Target"]["Input"]
        sent = json.loads(re.sub(r"<aws\.scheduler\.[a-z-]+>", "x", text))
        assert set(sent) == set(fixture), name


def test_the_sync_writes_the_table_and_tells_only_the_ops_topic(cfn: dict[str, Any]) -> None:
    env = cfn["Resources"]["SyncFunction"]["Properties"]["Environment"]["Variables"]
    assert env["TABLE_NAME"] == {"Ref": "Table"}
    assert env["OPS_TOPIC_ARN"] == {"Ref": "OpsTopic"}
    (sns,) = for_service(cfn, "SyncFunctionRole", "sns:")
    assert actions(sns) == ["sns:Publish"] and resources(sns) == [{"Ref": "OpsTopic"}]
    (table,) = for_service(cfn, "SyncFunctionRole", "dynamodb:")
    # apply_releases' transaction is authorised item by item (PutItem, UpdateItem); the IAM
    # check (tests/conftest.py) proves every action the sync's calls need is here
    assert {"dynamodb:PutItem", "dynamodb:UpdateItem"} <= set(actions(table))
    assert {"Fn::GetAtt": ["Table", "Arn"]} in resources(table)
    assert for_service(cfn, "SyncFunctionRole", "ses:") == []
    assert [s for s in statements(cfn, "SyncFunctionRole") if "*" in resources(s)] == []
    assert cfn["Resources"]["SyncFunction"]["Properties"]["Timeout"] >= 120


def test_a_sync_or_api_request_that_dies_outside_its_handler_alarms_once_per_streak(
    cfn: dict[str, Any],
) -> None:
    # A sync that raises counts Problems (tests/integration/test_calendar_sync_aws.py); one
    # that times out or is killed for memory never reaches its `except`, and has no on-failure
    # destination: only Lambda's own metrics see it. Likewise an API request that times out.
    assert "calendar sync" in cfn["Resources"]["ProblemsAlarm"]["Properties"]["AlarmDescription"]
    for name, function, metric in (
        ("SyncErrorsAlarm", "SyncFunction", "Errors"),
        ("SyncThrottlesAlarm", "SyncFunction", "Throttles"),
        ("ApiErrorsAlarm", "ApiFunction", "Errors"),
    ):
        props = alarm(cfn, name)
        assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", metric), name
        assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]
        assert props["Threshold"] == 0 and props["ComparisonOperator"] == "GreaterThanThreshold"
        # once per streak: no invocation, no data, no change; the next good one clears it
        assert props["TreatMissingData"] == "ignore", name
        assert props["OKActions"] == props["AlarmActions"] == [{"Ref": "OpsTopic"}], name
    assert "timeout" in alarm(cfn, "ApiErrorsAlarm")["AlarmDescription"]


def test_poller_timeout_fits_the_minute(cfn: dict[str, Any]) -> None:
    timeout = cfn["Resources"]["PollerFunction"]["Properties"]["Timeout"]
    assert 30 <= timeout <= 60


# -- state ------------------------------------------------------------------------------------


class _RecordingClient:
    def __init__(self) -> None:
        self.created: dict[str, Any] = {}

    def create_table(self, **kwargs: Any) -> None:
        self.created = kwargs

    def update_time_to_live(self, **kwargs: Any) -> None:
        self.created["TimeToLive"] = kwargs["TimeToLiveSpecification"]

    def update_continuous_backups(self, **kwargs: Any) -> None:
        self.created["PITR"] = kwargs["PointInTimeRecoverySpecification"]


def test_table_has_ttl_pitr_sse_and_on_demand_billing(cfn: dict[str, Any]) -> None:
    props = cfn["Resources"]["Table"]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True}
    # kept when the stack goes, but not when the very first create fails (an orphaned,
    # deletion-protected table would block the next attempt)
    assert cfn["Resources"]["Table"]["DeletionPolicy"] == "RetainExceptOnCreate"
    assert cfn["Resources"]["Table"]["UpdateReplacePolicy"] == "Retain"


def test_table_refuses_deletion_until_protection_is_turned_off(cfn: dict[str, Any]) -> None:
    # Retain only covers stack deletion; a DeleteTable call would still lose every release.
    assert cfn["Resources"]["Table"]["Properties"]["DeletionProtectionEnabled"] is True


def test_description_says_what_the_function_url_serves_today(sam: dict[str, Any]) -> None:
    description = " ".join(sam["Description"].split())
    assert "later" not in description
    assert "acknowledge links" in description and "dashboard" in description


def test_table_matches_the_one_the_store_creates(cfn: dict[str, Any]) -> None:
    # The store queries these keys and indexes; `push --create-table` and tests use
    # create_table: the deployed table must be the same shape.
    recorder = _RecordingClient()
    create_table(recorder, "t", wait=False)
    made = recorder.created
    props = cfn["Resources"]["Table"]["Properties"]

    def indexes(gsis: list[dict[str, Any]]) -> dict[str, Any]:
        return {g["IndexName"]: (g["KeySchema"], g["Projection"]) for g in gsis}

    assert props["KeySchema"] == made["KeySchema"]
    assert sorted(props["AttributeDefinitions"], key=str) == sorted(
        made["AttributeDefinitions"], key=str
    )
    assert indexes(props["GlobalSecondaryIndexes"]) == indexes(made["GlobalSecondaryIndexes"])
    assert "active-index" in indexes(props["GlobalSecondaryIndexes"])
    assert made["TimeToLive"]["AttributeName"] == props["TimeToLiveSpecification"]["AttributeName"]


# -- least privilege --------------------------------------------------------------------------

TABLE_ARN = {"Fn::GetAtt": ["Table", "Arn"]}


def test_poller_table_access_is_scoped_to_the_table_and_the_indexes_it_queries(
    cfn: dict[str, Any],
) -> None:
    (statement,) = for_service(cfn, "PollerFunctionRole", "dynamodb:")
    assert resources(statement) == [
        TABLE_ARN,
        {"Fn::Sub": "${Table.Arn}/index/active-index"},
        {"Fn::Sub": "${Table.Arn}/index/wake-index"},
        {"Fn::Sub": "${Table.Arn}/index/awaiting-index"},
    ]
    assert "dynamodb:Scan" not in actions(statement)
    assert "dynamodb:DeleteTable" not in actions(statement)
    assert {"dynamodb:UpdateItem", "dynamodb:Query", "dynamodb:BatchGetItem"} <= set(
        actions(statement)
    )


def test_api_reads_the_table_and_writes_only_acknowledgements(cfn: dict[str, Any]) -> None:
    statements = for_service(cfn, "ApiFunctionRole", "dynamodb:")
    writes = [
        s for s in statements if {"dynamodb:PutItem", "dynamodb:UpdateItem"} & set(actions(s))
    ]
    reads = [s for s in statements if s not in writes]
    # Reads: the table and its indexes. Writes (an acknowledgement's marker and event): the
    # table's items only — no index, no delete, no scan, no batch or table-level writes.
    for statement in reads:
        assert all(
            r == TABLE_ARN or "${Table.Arn}/index/" in r["Fn::Sub"] for r in resources(statement)
        )
        assert set(actions(statement)) <= {
            "dynamodb:GetItem",
            "dynamodb:Query",
            "dynamodb:BatchGetItem",
        }
    (write,) = writes
    assert resources(write) == [TABLE_ARN]
    assert set(actions(write)) == {"dynamodb:PutItem", "dynamodb:UpdateItem"}


ACCOUNT, REGION = "123456789012", "eu-west-2"
DEPLOYED = {
    "SenderEmail": "releasewatch@stats.example.com",
    "SesIdentity": "stats.example.com",
    "SesConfigurationSet": "",
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
}


def _resolve(value: Any, params: dict[str, str]) -> Any:
    """The few intrinsics the policies use, for one set of parameter values."""
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Ref":
            return params.get(arg, "NoValue" if arg == "AWS::NoValue" else arg)
        if key == "Fn::Sub":
            return re.sub(r"\$\{([^}]+)\}", lambda m: params.get(m.group(1), m.group(0)), arg)
        if key == "Fn::If":
            condition, yes, no = arg
            assert condition == "HasConfigurationSet", condition
            return _resolve(yes if params["SesConfigurationSet"] else no, params)
    if isinstance(value, dict):
        return {k: _resolve(v, params) for k, v in value.items()}
    if isinstance(value, list):
        return [r for r in (_resolve(v, params) for v in value) if r != "NoValue"]
    return value


def _allowed(
    cfn: dict[str, Any], role: str, action: str, resource: str, context: dict[str, str]
) -> bool:
    """IAM's answer for one request, from the role's Allow statements (no Deny is used)."""
    from fnmatch import fnmatchcase

    for statement in statements(cfn, role):
        statement = _resolve(statement, DEPLOYED)
        if action not in actions(statement):
            continue
        if not any(fnmatchcase(resource, r) for r in resources(statement)):
            continue
        conditions = statement.get("Condition", {})
        assert set(conditions) <= {"StringEquals"}, conditions
        if all(context.get(k) == v for k, v in conditions.get("StringEquals", {}).items()):
            return True
    return False


def _ses_identity(name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:ses:{REGION}:{account}:identity/{name}"


def test_email_goes_only_from_the_sender_in_production_and_in_the_sandbox(
    cfn: dict[str, Any],
) -> None:
    # Production: SES authorises the send against the sender's identity (the domain).
    # Sandbox: also against each recipient's verified identity, which the README's trial
    # (verify each contact's address) relies on; AccessDenied there was a permanent failure.
    sender = {"ses:FromAddress": DEPLOYED["SenderEmail"]}
    # (the poller sends with SESv2 SendEmail alone: SendRawEmail is not granted)
    raw = _ses_identity("stats.example.com")
    assert not _allowed(cfn, "PollerFunctionRole", "ses:SendRawEmail", raw, sender)
    for action in ("ses:SendEmail",):
        assert _allowed(
            cfn, "PollerFunctionRole", action, _ses_identity("stats.example.com"), sender
        )
        recipient = _ses_identity("stats.team@example.com")
        assert _allowed(cfn, "PollerFunctionRole", action, recipient, sender)
        # ...never as another From address, even one in the verified domain
        for other in ("ceo@stats.example.com", "someone@example.org"):
            forged = {"ses:FromAddress": other}
            assert not _allowed(
                cfn, "PollerFunctionRole", action, _ses_identity("stats.example.com"), forged
            )
            assert not _allowed(cfn, "PollerFunctionRole", action, recipient, forged)
        # ...and never through another account's identities
        elsewhere = _ses_identity("stats.example.com", account="210987654321")
        assert not _allowed(cfn, "PollerFunctionRole", action, elsewhere, sender)
    assert for_service(cfn, "ApiFunctionRole", "ses:") == []


def test_only_sms_publish_and_the_spend_metric_read_take_a_wildcard_resource(
    cfn: dict[str, Any],
) -> None:
    for role in ("PollerFunctionRole", "ApiFunctionRole"):
        wildcards = [s for s in statements(cfn, role) if "*" in resources(s)]
        allowed = (
            []
            if role == "ApiFunctionRole"
            else [["sns:Publish"], ["cloudwatch:GetMetricStatistics"]]
        )
        assert [actions(s) for s in wildcards] == allowed, role
    # ...and the template says why neither can be narrowed
    assert "cannot be narrowed" in TEMPLATE.read_text()
    assert "no resource-level permissions" in TEMPLATE.read_text()


def test_only_the_ack_secret_and_the_webhook_parameters_are_readable(cfn: dict[str, Any]) -> None:
    # The API reads the ack secret alone; the poller also reads the chat webhooks' URLs, and
    # only under their own path (WebhookParameterPath), never any parameter in the account.
    for role in ("PollerFunctionRole", "ApiFunctionRole"):
        found = for_service(cfn, role, "ssm:")
        assert [actions(s) for s in found] == [["ssm:GetParameter"]] * len(found)
        arns = [arn["Fn::Sub"] for s in found for arn in resources(s)]
        wanted = [":parameter${AckSecretParameterName}"]
        if role == "PollerFunctionRole":
            wanted.append(":parameter${WebhookParameterPath}/*")
        assert len(arns) == len(wanted)
        assert all(arn.endswith(end) for arn, end in zip(arns, wanted, strict=True)), arns
    path = cfn["Parameters"]["WebhookParameterPath"]
    assert path["Default"] == "/releasewatch/webhooks"


def test_functions_are_told_where_the_table_and_secret_are(cfn: dict[str, Any]) -> None:
    for fn in ("PollerFunction", "ApiFunction"):
        env = cfn["Resources"][fn]["Properties"]["Environment"]["Variables"]
        assert env["TABLE_NAME"] == {"Ref": "Table"}
        assert env["ACK_SECRET_PARAMETER"] == {"Ref": "AckSecretParameterName"}
        assert env["POWERTOOLS_METRICS_NAMESPACE"] == "Releasewatch"
    poller_env = cfn["Resources"]["PollerFunction"]["Properties"]["Environment"]["Variables"]
    assert poller_env["SENDER_EMAIL"] == {"Ref": "SenderEmail"}


# -- who watches the watchdog -----------------------------------------------------------------


def test_a_stopped_poller_alarms_after_3_silent_minutes(cfn: dict[str, Any]) -> None:
    # Lambda's own Invocations metric is free; a custom heartbeat cost $0.30 a month
    props = cfn["Resources"]["PollerStoppedAlarm"]["Properties"]
    assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", "Invocations")
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "PollerFunction"}}]
    assert props["TreatMissingData"] == "breaching"
    assert props["Period"] * props["EvaluationPeriods"] == 180
    assert props["DatapointsToAlarm"] == props["EvaluationPeriods"]
    assert props["ComparisonOperator"] == "LessThanThreshold" and props["Threshold"] == 1
    subscription = cfn["Resources"]["OpsEmailSubscription"]["Properties"]
    assert subscription["Endpoint"] == {"Ref": "AlarmEmail"}


def test_every_problem_the_functions_see_alarms_at_once_through_one_custom_metric(
    cfn: dict[str, Any],
) -> None:
    from releasewatch.aws.metrics import PROBLEMS

    props = cfn["Resources"]["ProblemsAlarm"]["Properties"]
    env = cfn["Resources"]["PollerFunction"]["Properties"]["Environment"]["Variables"]
    # the namespace and the dimension Powertools actually emits (service=<service name>)
    assert (props["Namespace"], props["MetricName"]) == (
        env["POWERTOOLS_METRICS_NAMESPACE"],
        PROBLEMS,
    )
    assert props["Dimensions"] == [{"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}]
    assert props["Statistic"] == "Sum" and (props["Period"], props["EvaluationPeriods"]) == (60, 1)
    assert props["Threshold"] == 0 and props["ComparisonOperator"] == "GreaterThanThreshold"
    # sent only when something is wrong: silence is good news
    assert props["TreatMissingData"] == "notBreaching"
    for words in ("failed for good", "piling up", "release's tick raised", "ack-link key"):
        assert words in props["AlarmDescription"], words
    assert "API request" in props["AlarmDescription"]


def alarm(cfn: dict[str, Any], name: str) -> dict[str, Any]:
    props: dict[str, Any] = cfn["Resources"][name]["Properties"]
    return props


def test_every_alarm_tells_the_one_ops_topic_when_it_fires_and_when_it_clears(
    cfn: dict[str, Any],
) -> None:
    alarms = of_type(cfn, "AWS::CloudWatch::Alarm")
    assert set(alarms) == {
        "ProblemsAlarm",
        "PollerStoppedAlarm",
        "FailedTicksAlarm",
        "ApiThrottlesAlarm",
        "SyncErrorsAlarm",
        "SyncThrottlesAlarm",
        "ApiErrorsAlarm",
    }
    for name, resource in alarms.items():
        props = resource["Properties"]
        assert props["AlarmActions"] == [{"Ref": "OpsTopic"}], name
        assert props["OKActions"] == [{"Ref": "OpsTopic"}], name
    assert list(of_type(cfn, "AWS::SNS::Topic")) == ["OpsTopic"]


def test_failed_ticks_alarm_fires_again_for_each_new_failure(cfn: dict[str, Any]) -> None:
    # ApproximateNumberOfMessagesVisible stays above 0 for the queue's 14 days: the alarm sat
    # in ALARM and said nothing about later failures. Arrivals per period rise and fall.
    props = alarm(cfn, "FailedTicksAlarm")
    assert (props["Namespace"], props["MetricName"]) == ("AWS/SQS", "NumberOfMessagesSent")
    assert props["Statistic"] == "Sum"
    assert props["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["FailedTicksQueue", "QueueName"]}}
    ]
    assert props["Threshold"] == 0 and props["ComparisonOperator"] == "GreaterThanThreshold"
    assert props["TreatMissingData"] == "notBreaching"


def test_api_throttles_alarm_only_where_a_cap_can_throttle(cfn: dict[str, Any]) -> None:
    props = alarm(cfn, "ApiThrottlesAlarm")
    assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", "Throttles")
    assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": "ApiFunction"}}]
    assert props["Threshold"] == 0 and props["ComparisonOperator"] == "GreaterThanThreshold"
    assert cfn["Resources"]["ApiThrottlesAlarm"]["Condition"] == "HasApiConcurrencyCap"


def test_the_poller_watches_sms_spend_against_the_accounts_limit(
    cfn: dict[str, Any], sam: dict[str, Any]
) -> None:
    # read by the poller (aws/sms_spend.py) and counted in Problems: one alarm fewer
    env = cfn["Resources"]["PollerFunction"]["Properties"]["Environment"]["Variables"]
    assert env["SMS_MONTHLY_SPEND_LIMIT_USD"] == {"Ref": "SmsMonthlySpendLimitUSD"}
    assert env["SMS_SPEND_ALARM_PERCENT"] == {"Ref": "SmsSpendAlarmPercent"}
    assert sam["Parameters"]["SmsMonthlySpendLimitUSD"]["Default"] == 1  # a new account's
    assert sam["Parameters"]["SmsSpendAlarmPercent"]["Default"] == 80
    (read,) = for_service(cfn, "PollerFunctionRole", "cloudwatch:")
    assert actions(read) == ["cloudwatch:GetMetricStatistics"]
    assert "SMS spend" in alarm(cfn, "ProblemsAlarm")["AlarmDescription"]


def _evaluate(value: Any, cfn: dict[str, Any], params: dict[str, Any]) -> Any:
    """CloudFormation's condition functions and Fn::If/Ref, as a deploy would resolve them."""
    if isinstance(value, dict) and len(value) == 1:
        ((fn, args),) = value.items()
        if fn == "Ref":
            if args == "AWS::NoValue":
                return None
            parameter = cfn["Parameters"][args]
            return params.get(args, parameter.get("Default"))
        if fn == "Fn::Equals":
            left, right = (_evaluate(a, cfn, params) for a in args)
            return str(left) == str(right)
        if fn == "Fn::Not":
            return not _evaluate(args[0], cfn, params)
        if fn == "Condition":
            return _evaluate(cfn["Conditions"][args], cfn, params)
        if fn == "Fn::If":
            name, yes, no = args
            chosen = yes if _evaluate(cfn["Conditions"][name], cfn, params) else no
            return _evaluate(chosen, cfn, params)
    return value


def _deployed(cfn: dict[str, Any], params: dict[str, Any]) -> set[str]:
    """The resources a deploy with these parameter values creates."""
    return {
        name
        for name, resource in cfn["Resources"].items()
        if "Condition" not in resource
        or _evaluate(cfn["Conditions"][resource["Condition"]], cfn, params)
    }


def test_the_api_reserves_nothing_unless_asked_so_a_new_account_can_deploy(
    cfn: dict[str, Any], sam: dict[str, Any]
) -> None:
    # A new account's quota is 10 and Lambda keeps that minimum unreserved: reserving 5 by
    # default failed the deploy there. Default 0: no reservation, no throttles alarm.
    parameter = sam["Parameters"]["ApiReservedConcurrency"]
    assert parameter["Default"] == 0 and parameter["MinValue"] == 0
    assert "quota" in parameter["Description"] and "10" in parameter["Description"]
    reserved = cfn["Resources"]["ApiFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert _evaluate(reserved, cfn, {}) is None
    assert "ApiThrottlesAlarm" not in _deployed(cfn, {})
    # ...and a cap set on an account with room for it reserves exactly that, and alarms
    for value in (5, "5"):  # sam deploy passes parameter values as strings
        assert _evaluate(reserved, cfn, {"ApiReservedConcurrency": value}) == value
        assert "ApiThrottlesAlarm" in _deployed(cfn, {"ApiReservedConcurrency": value})
    assert _evaluate(reserved, cfn, {"ApiReservedConcurrency": "0"}) is None
    # the poller never reserves unless asked either
    poller = cfn["Resources"]["PollerFunction"]["Properties"]["ReservedConcurrentExecutions"]
    assert _evaluate(poller, cfn, {}) is None


def _translated_with(parameters: dict[str, str]) -> dict[str, Any]:
    """The transform as CloudFormation runs it at deploy time, with the parameters given."""
    template: dict[str, Any] = yaml_parse(TEMPLATE.read_text())
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://releasewatch-artifacts/{key.lower()}.zip"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AWS_DEFAULT_REGION", "eu-west-2")
        out: dict[str, Any] = transform(template, parameters, _ManagedPolicies())
    return out


def _xray_policies(cfn: dict[str, Any], role: str) -> list[Any]:
    arns = cfn["Resources"][role]["Properties"]["ManagedPolicyArns"]
    return [a for a in arns if "Xray" in json.dumps(a) or "XRay" in json.dumps(a)]


def test_tracing_is_off_unless_asked_and_so_is_the_xray_write_policy(
    cfn: dict[str, Any], sam: dict[str, Any]
) -> None:
    # X-Ray would record a trace for each of 43,200 ticks a month: $0.22 at list price. SAM
    # adds the X-Ray write policy to a role whenever Tracing is not "Disabled" (even
    # PassThrough); the SAM transform runs at deploy time with the parameter values, so the
    # default Disabled leaves both the tracing config and the policy out.
    assert sam["Parameters"]["Tracing"]["Default"] == "Disabled"
    active = _translated_with({"Tracing": "Active"})
    for fn in ("PollerFunction", "ApiFunction", "SyncFunction"):
        assert "TracingConfig" not in cfn["Resources"][fn]["Properties"]
        assert _xray_policies(cfn, f"{fn}Role") == []
        assert active["Resources"][fn]["Properties"]["TracingConfig"] == {
            "Mode": {"Ref": "Tracing"}
        }
        assert len(_xray_policies(active, f"{fn}Role")) == 1


# -- the web side and outputs -----------------------------------------------------------------


def test_api_has_a_public_function_url(cfn: dict[str, Any]) -> None:
    url = cfn["Resources"]["ApiFunctionUrl"]["Properties"]
    assert url["AuthType"] == "NONE"
    assert url["TargetFunctionArn"] == {"Ref": "ApiFunction"}
    # Since October 2025 a public URL needs both grants; SAM adds the second from translator
    # 1.101.0 (SAM CLI 1.145.0), and only for calls that come through the URL
    grants = {
        p["Properties"]["Action"]: p["Properties"]
        for p in of_type(cfn, "AWS::Lambda::Permission").values()
        if p["Properties"]["FunctionName"] == {"Ref": "ApiFunction"}
    }
    assert set(grants) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert grants["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "NONE"
    assert grants["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True
    assert all(g["Principal"] == "*" for g in grants.values())


def test_outputs_give_the_url_and_table_name(cfn: dict[str, Any]) -> None:
    outputs = cfn["Outputs"]
    assert outputs["ApiUrl"]["Value"] == {"Fn::GetAtt": ["ApiFunctionUrl", "FunctionUrl"]}
    assert outputs["TableName"]["Value"] == {"Ref": "Table"}


def test_example_parameters_cover_every_required_parameter(sam: dict[str, Any]) -> None:
    import json

    example = json.loads((ROOT / "infra" / "parameters.example.json").read_text())
    given = [p["ParameterKey"] for p in example]
    # every parameter, once, in the template's order (the deploy guide says it lists them all)
    assert given == list(sam["Parameters"])
    values = {p["ParameterKey"]: p["ParameterValue"] for p in example}
    for name, spec in sam["Parameters"].items():
        if "AllowedValues" in spec:
            assert values[name] in [str(v) for v in spec["AllowedValues"]], name
        if "AllowedPattern" in spec:
            assert re.fullmatch(spec["AllowedPattern"], values[name]), name
    # an unregistered UK sender id silently breaks texts: never offered as an example
    assert values["SmsSenderId"] == "" and sam["Parameters"]["SmsSenderId"]["Default"] == ""


def test_scheduler_sends_an_event_shaped_like_the_handler_tests_use(cfn: dict[str, Any]) -> None:
    import json

    schedule = schedules_of(cfn, "PollerFunction")[0]
    text = schedule["Properties"]["Target"]["Input"]
    # Scheduler substitutes its context attributes into the (string) placeholders
    sent = json.loads(re.sub(r"<aws\.scheduler\.[a-z-]+>", "x", text))
    fixture = json.loads((ROOT / "tests" / "events" / "scheduler_invoke.json").read_text())
    assert set(sent) == set(fixture)
    assert sent["detail-type"] == "Scheduled Event"
    assert "<aws.scheduler.execution-id>" in text  # the correlation id in the poller's logs


def test_the_layer_requirements_cover_every_third_party_import() -> None:
    # The layer is built from shared/requirements.txt: a package the code imports but the file
    # omits would only fail in Lambda, at the first invocation that reaches the import.
    import ast
    import importlib.metadata
    import sys as _sys

    provided_by_runtime = {"boto3", "botocore"}
    declared = set(read_pins((ROOT / "shared" / "requirements.txt").read_text()))
    # ...or installed by pip as a dependency of a declared one (httpx brings httpcore, anyio)
    closure, todo = set(), list(declared)
    while todo:
        dist = todo.pop()
        if dist in closure:
            continue
        closure.add(dist)
        try:
            requires = importlib.metadata.requires(dist) or []
        except importlib.metadata.PackageNotFoundError:
            continue
        for requirement in requires:
            if "extra ==" in requirement and "tracer" not in requirement:
                continue
            todo.append(re.split(r"[<>=!~\[;\s(]", requirement, maxsplit=1)[0].lower())
    declared = {d.replace("_", "-") for d in closure}
    distributions = importlib.metadata.packages_distributions()
    missing: dict[str, set[str]] = {}
    for path in (ROOT / "shared" / "releasewatch").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in _sys.stdlib_module_names or top in provided_by_runtime:
                    continue
                if top == "releasewatch":
                    continue
                dists = {d.lower().replace("_", "-") for d in distributions.get(top, [top])}
                if not dists & declared:
                    missing.setdefault(top, set()).add(path.name)
    assert missing == {}


def test_samconfig_names_only_template_parameters_and_says_how_sam_finds_it(
    sam: dict[str, Any],
) -> None:
    import tomllib

    path = ROOT / "infra" / "samconfig.toml"
    config = tomllib.loads(path.read_text())
    deploy = config["default"]["deploy"]["parameters"]
    given = {item.split("=", 1)[0] for item in deploy["parameter_overrides"]}
    # a name the template lacks fails the deploy ("Parameters: [...] do not exist")
    assert given <= set(sam["Parameters"])
    assert {k for k, v in sam["Parameters"].items() if "Default" not in v} <= given
    # SAM looks for samconfig.toml beside the template only: each command must name this file
    header = [line for line in path.read_text().splitlines() if line.startswith("#")]
    for command in ("build", "deploy"):
        assert any(
            f"sam {command}" in line and "--config-file infra/samconfig.toml" in line
            for line in header
        ), command
    assert not (ROOT / "samconfig.toml").exists()  # else it would win silently for plain sam


# -- GOV.UK Notify ----------------------------------------------------------------------------


def test_notify_permissions_are_granted_only_to_stacks_that_use_it(cfn: dict[str, Any]) -> None:
    # Those who stay on SES and SNS keep exactly the IAM they had: every Notify grant sits
    # under a condition that is false when its parameter is left empty.
    poller = conditional_statements(cfn, "PollerFunctionRole")
    api = conditional_statements(cfn, "ApiFunctionRole")
    assert set(poller) == {"UsesNotify", "HasSsmKmsKey"}
    assert set(api) == {"HasNotifyCallbacks", "HasSsmKmsKey"}
    key = poller["UsesNotify"]
    assert actions(key) == ["ssm:GetParameter"]
    assert "NotifyApiKeyParameterName" in json.dumps(resources(key))
    # (a reply's Query of the active releases needs nothing more: every release page
    # queries them too, under ReadReleases)
    callbacks = api["HasNotifyCallbacks"]
    assert actions(callbacks) == ["ssm:GetParameter"]
    assert "NotifyCallbackTokenParameterName" in json.dumps(resources(callbacks))
    conditions = cfn["Conditions"]
    assert conditions["UsesNotify"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "NotifyApiKeyParameterName"}, ""]}]
    }
    assert cfn["Parameters"]["NotifyApiKeyParameterName"]["Default"] == ""
    assert cfn["Parameters"]["NotifyCallbackTokenParameterName"]["Default"] == ""


def test_notify_settings_reach_the_functions(cfn: dict[str, Any]) -> None:
    functions = of_type(cfn, "AWS::Lambda::Function")
    poller = next(f for n, f in functions.items() if n.startswith("PollerFunction"))
    api = next(f for n, f in functions.items() if n.startswith("ApiFunction"))
    poller_env = poller["Properties"]["Environment"]["Variables"]
    api_env = api["Properties"]["Environment"]["Variables"]
    for name in (
        "NOTIFY_API_KEY_PARAMETER",
        "NOTIFY_EMAIL_TEMPLATE_ID",
        "NOTIFY_SMS_TEMPLATE_ID",
        "NOTIFY_TRANSPORT",
        "NOTIFY_REPLIES",
        "NOTIFY_CALLBACK_TOKEN_PARAMETER",
    ):
        assert name in poller_env, name
    # the API answers the callbacks (and still has the table, from Globals)
    assert {"NOTIFY_CALLBACK_TOKEN_PARAMETER", "TABLE_NAME"} <= set(api_env)


# -- what a department asks before a first deploy (issue 19) ----------------------------------


# CloudFormation types that take no Tags property (SAM's schedules, URL, permissions...)
def test_the_poller_may_invoke_itself_for_shards_and_nothing_else(cfn: dict[str, Any]) -> None:
    (statement,) = for_service(cfn, "PollerFunctionRole", "lambda:")
    assert actions(statement) == ["lambda:InvokeFunction"]
    assert resources(statement) == [{"Fn::GetAtt": ["PollerFunction", "Arn"]}]
    for role in ("ApiFunctionRole", "SyncFunctionRole"):
        assert for_service(cfn, role, "lambda:") == []


UNTAGGABLE = {
    "AWS::IAM::Policy",  # CloudFormation has no Tags for it
    "AWS::SNS::Subscription",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Scheduler::Schedule",
    "AWS::Lambda::Url",
    "AWS::Lambda::Permission",
    "AWS::Lambda::LayerVersion",
}


def test_every_taggable_resource_carries_owner_cost_centre_and_classification(
    cfn: dict[str, Any],
) -> None:
    wanted = {
        "Owner": {"Ref": "OwnerTag"},
        "CostCentre": {"Ref": "CostCentreTag"},
        "DataClassification": {"Ref": "DataClassificationTag"},
    }
    for name, resource in cfn["Resources"].items():
        if resource["Type"] in UNTAGGABLE:
            continue
        tags = resource["Properties"].get("Tags")
        assert tags, f"{name} ({resource['Type']}) has no tags"
        given = {t["Key"]: t["Value"] for t in tags}
        assert {k: given.get(k) for k in wanted} == wanted, name
    assert "Default" not in cfn["Parameters"]["OwnerTag"]
    assert "Default" not in cfn["Parameters"]["CostCentreTag"]


def _rule_holds(value: Any, params: dict[str, str], sam: dict[str, Any]) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        ((fn, args),) = value.items()
        if fn == "Ref":
            return params.get(args, sam["Parameters"][args].get("Default"))
        if fn == "Fn::Equals":
            left, right = (_rule_holds(a, params, sam) for a in args)
            return str(left) == str(right)
        if fn == "Fn::Not":
            return not _rule_holds(args[0], params, sam)
        if fn == "Fn::And":
            return all(_rule_holds(a, params, sam) for a in args)
    return value


def _refused(sam: dict[str, Any], params: dict[str, str]) -> list[str]:
    """What CloudFormation's Rules say about a deploy with these parameters."""
    out = []
    for rule in sam["Rules"].values():
        if "RuleCondition" in rule and not _rule_holds(rule["RuleCondition"], params, sam):
            continue
        for assertion in rule["Assertions"]:
            if not _rule_holds(assertion["Assert"], params, sam):
                out.append(assertion["AssertDescription"])
    return out


def test_inconsistent_notify_and_webhook_parameters_are_refused_at_deploy_time(
    sam: dict[str, Any],
) -> None:
    uuid = "0b7a1c2d-3e4f-4a5b-8c6d-7e8f9a0b1c2d"
    key = {"NotifyApiKeyParameterName": "/releasewatch/notify-api-key"}
    assert _refused(sam, {}) == []
    full = {**key, "NotifyEmailTemplateId": uuid, "NotifySmsTemplateId": uuid}
    assert _refused(sam, full) == []
    assert _refused(sam, {**full, "NotifyCallbackTokenParameterName": "/rw/token"}) == []
    # the poller would fail every tick on each of these
    (missing,) = _refused(sam, {**key, "NotifyEmailTemplateId": uuid})
    assert "NotifySmsTemplateId" in missing
    (transport,) = _refused(sam, {"NotifyTransport": "notify"})
    assert "NotifyApiKeyParameterName" in transport
    assert _refused(sam, {"NotifyCallbackTokenParameterName": "/rw/token"})
    assert _refused(sam, {"NotifyEmailTemplateId": uuid})
    clash = {"WebhookParameterPath": "/releasewatch/ack-secret"}
    assert _refused(sam, clash) == [
        "WebhookParameterPath must be a folder of its own, not the ack secret."
    ]
    # ...and a Notify id that is not a UUID is refused by its pattern, as the poller would
    for name in ("NotifyEmailTemplateId", "NotifySmsTemplateId", "NotifySmsSenderId"):
        pattern = sam["Parameters"][name]["AllowedPattern"]
        assert re.fullmatch(pattern, uuid) and re.fullmatch(pattern, "")
        assert not re.fullmatch(pattern, "email-template")


def test_a_customer_managed_key_for_the_secrets_is_decryptable_through_ssm_only(
    cfn: dict[str, Any],
) -> None:
    assert cfn["Parameters"]["SsmKmsKeyArn"]["Default"] == ""
    for role in ("PollerFunctionRole", "ApiFunctionRole", "SyncFunctionRole"):
        assert for_service(cfn, role, "kms:") == []  # only under the condition
    for role in ("PollerFunctionRole", "ApiFunctionRole"):
        decrypt = conditional_statements(cfn, role)["HasSsmKmsKey"]
        assert actions(decrypt) == ["kms:Decrypt"]
        assert resources(decrypt) == [{"Ref": "SsmKmsKeyArn"}]
        assert decrypt["Condition"] == {
            "StringEquals": {"kms:ViaService": {"Fn::Sub": "ssm.${AWS::Region}.amazonaws.com"}}
        }
    assert "HasSsmKmsKey" not in conditional_statements(cfn, "SyncFunctionRole")


def test_the_deploy_checklist_asks_what_sam_deploy_guided_asks_in_order(
    sam: dict[str, Any],
) -> None:
    text = (ROOT / "docs" / "aws-deploy-checklist.md").read_text()
    guided = text.split("## What `sam deploy --guided` asks, in order", 1)[1].split("\n## ", 1)[0]
    # one Parameter prompt per template parameter, in the template's order, and no other
    named = re.findall(r"^   \d+\. `([A-Za-z0-9]+)`", guided, flags=re.MULTILINE)
    assert named == list(sam["Parameters"])
    # the question whose default (N) aborts the deploy, for the one public function URL
    urls = [
        name
        for name, r in sam["Resources"].items()
        if r["Type"] == "AWS::Serverless::Function"
        and r["Properties"].get("FunctionUrlConfig", {}).get("AuthType") == "NONE"
    ]
    assert urls == ["ApiFunction"]
    assert "`ApiFunction Function Url has no authentication. Is this okay? [y/N]`" in guided
    order = [
        "Stack Name",
        "AWS Region",
        "Parameter <Name>",
        "Confirm changes before deploy",
        "Allow SAM CLI IAM role creation",
        "Disable rollback",
        "Function Url has no authentication",
        "Save arguments to configuration file",
        "SAM configuration file",
        "SAM configuration environment",
    ]
    positions = [guided.index(q) for q in order]
    assert positions == sorted(positions)
    # what the guide tells a department about public URLs and UK sender ids
    assert "organisation" in text and "SmsSenderId" in text and "registered" in text
