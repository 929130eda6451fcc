"""Judge recorded AWS calls (tests/aws_calls.py) against the IAM statements template.yaml gives
each function's role, with IAM's matching rules.

The template is translated as `sam deploy` would (samtranslator: Globals merged, policy
templates and Fn::If kept), then resolved for the deploy the test stands for: each function
environment variable that is `!Ref Parameter` (or `!Ref Table`, `!Ref OpsTopic`) takes the
value the handler ran with, so a test that set NOTIFY_API_KEY_PARAMETER is judged against a
stack deployed with NotifyApiKeyParameterName set, and its Fn::If statements. SesIdentity is
the sender's domain, as the deploy guide advises.

IAM's rules as used: Action patterns match case-insensitively with * and ?; Resource patterns
match the ARN case-sensitively with * and ?; NotAction/NotResource; an explicit Deny wins; the
condition operators StringEquals/StringLike/ArnLike/ArnEquals (and their Not and IfExists
forms) against the request's context keys (ses:FromAddress for SES sends).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from tests.aws_calls import ACCOUNT, Call, Request

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "template.yaml"
FUNCTIONS = {"poller": "PollerFunction", "api": "ApiFunction", "sync": "SyncFunction"}
_NO_VALUE = object()


class _ManagedPolicies:
    """The managed-policy loader samtranslator asks for (it would otherwise call IAM)."""

    def load(self) -> dict[str, str]:
        names = ["AWSLambdaBasicExecutionRole", "AWSXrayWriteOnlyAccess", "AWSLambdaRole"]
        return {n: f"arn:aws:iam::aws:policy/{n}" for n in names}


def translate(text: str) -> dict[str, Any]:
    """The SAM template as the CloudFormation it deploys (local code paths made s3:// URIs,
    which the transform requires)."""
    import os

    from samtranslator.translator.transform import transform
    from samtranslator.yaml_helper import yaml_parse

    template: dict[str, Any] = yaml_parse(text)
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://releasewatch-artifacts/{key.lower()}.zip"
    before = os.environ.get("AWS_DEFAULT_REGION")
    os.environ["AWS_DEFAULT_REGION"] = "eu-west-2"  # the transform asks for a region
    try:
        out: dict[str, Any] = transform(template, {}, _ManagedPolicies())
    finally:
        if before is None:
            del os.environ["AWS_DEFAULT_REGION"]
        else:
            os.environ["AWS_DEFAULT_REGION"] = before
    return out


@cache
def translated() -> dict[str, Any]:
    return translate(TEMPLATE.read_text())


# -- resolving the template for one deploy -----------------------------------------------------


@dataclass
class Deploy:
    """The values a stack's intrinsics take."""

    cfn: dict[str, Any]
    parameters: dict[str, str]
    refs: dict[str, str]  # resource logical id -> its Ref value
    arns: dict[str, str]  # "Logical.Attr" -> value

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        return f"<{name}>"

    def get_att(self, name: str) -> str:
        return self.arns.get(name, f"<{name}>")

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.cfn["Conditions"][name]))

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [r for r in (self.resolve(v) for v in value) if r is not _NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                return self.get_att(".".join(arg) if isinstance(arg, list) else arg)
            if key == "Fn::Sub":
                return self._sub(arg)
            if key == "Fn::If":
                name, yes, no = arg
                return self.resolve(yes if self.condition(name) else no)
            if key == "Fn::Equals":
                left, right = (self.resolve(a) for a in arg)
                return str(left) == str(right)
            if key == "Fn::Not":
                return not self.resolve(arg[0])
            if key == "Fn::And":
                return all(self.resolve(a) for a in arg)
            if key == "Fn::Or":
                return any(self.resolve(a) for a in arg)
            if key == "Condition":
                return self.condition(arg)
            if key == "Fn::Join":
                sep, parts = arg
                return sep.join(str(p) for p in self.resolve(parts))
        out = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not _NO_VALUE}

    def _sub(self, arg: Any) -> str:
        text, local = (arg, {}) if isinstance(arg, str) else (arg[0], self.resolve(arg[1]))

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in local:
                return str(local[name])
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(name)
            return str(self.ref(name))

        return re.sub(r"\$\{([^}]+)\}", one, text)


def deploy_for(cfn: dict[str, Any], function: str, env: dict[str, str]) -> Deploy:
    """The deploy a handler's environment stands for (see the module's docstring)."""
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "eu-west-2"
    parameters = {
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT,
        "AWS::Partition": "aws",
        "AWS::StackName": "releasewatch",
        "AWS::URLSuffix": "amazonaws.com",
    }
    for name, spec in cfn["Parameters"].items():
        parameters[name] = str(spec["Default"]) if "Default" in spec else f"<{name}>"
    refs: dict[str, str] = {}
    variables = cfn["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {})
    for variable, value in variables.items():
        if isinstance(value, dict) and set(value) == {"Ref"} and variable in env:
            target = value["Ref"]
            (parameters if target in cfn["Parameters"] else refs)[target] = env[variable]
    if "@" in env.get("SENDER_EMAIL", ""):
        parameters["SesIdentity"] = env["SENDER_EMAIL"].partition("@")[2]
    arns = {}
    if "Table" in refs:
        arns["Table.Arn"] = f"arn:aws:dynamodb:{region}:{ACCOUNT}:table/{refs['Table']}"
    if env.get("AWS_LAMBDA_FUNCTION_NAME"):  # Lambda sets it: the function's own name
        name = env["AWS_LAMBDA_FUNCTION_NAME"]
        arns[f"{function}.Arn"] = f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"
    return Deploy(cfn, parameters, refs, arns)


# -- the role's statements -------------------------------------------------------------------


@dataclass
class Statement:
    function: str
    sid: str
    effect: str
    actions: list[str]  # with "Not" kept in not_action
    resources: list[tuple[str, str]]  # (as the template writes it, as deployed)
    condition: dict[str, dict[str, Any]]
    not_action: bool = False
    not_resource: bool = False


def render(value: Any) -> str:
    """A template expression as written in template.yaml (for messages)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((key, arg),) = value.items()
        if key == "Fn::Sub" and isinstance(arg, str):
            return f"!Sub {arg}"
        if key == "Fn::GetAtt":
            return f"!GetAtt {'.'.join(arg) if isinstance(arg, list) else arg}"
        if key == "Ref":
            return f"!Ref {arg}"
    return json.dumps(value, sort_keys=True)


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_of(cfn: dict[str, Any], function: str) -> str:
    role = cfn["Resources"][function]["Properties"]["Role"]
    name: str = role["Fn::GetAtt"][0]
    return name


def raw_statements(cfn: dict[str, Any], function: str) -> list[dict[str, Any]]:
    """The role's inline policies' statements, then those of the AWS::IAM::Policy resources
    attached to it (a statement naming the function itself cannot be inline: a cycle)."""
    name = role_of(cfn, function)
    policies = list(cfn["Resources"][name]["Properties"].get("Policies", []))
    for resource in cfn["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": name} in props.get("Roles", []):
            policies.append(props)
    return [s for p in policies for s in p["PolicyDocument"]["Statement"]]


def statements(deploy: Deploy, function: str) -> list[Statement]:
    """The role's inline statements as this deploy grants them (managed policies hold only
    CloudWatch Logs and X-Ray writes, which handlers never call themselves)."""
    out = []
    for index, raw in enumerate(raw_statements(deploy.cfn, function)):
        chosen = raw
        while isinstance(chosen, dict) and "Fn::If" in chosen:
            name, yes, no = chosen["Fn::If"]
            chosen = yes if deploy.condition(name) else no
        if chosen == {"Ref": "AWS::NoValue"}:
            continue
        not_resource = "NotResource" in chosen
        pairs = []
        for element in _listed(chosen.get("NotResource" if not_resource else "Resource")):
            while isinstance(element, dict) and "Fn::If" in element:
                name, yes, no = element["Fn::If"]
                element = yes if deploy.condition(name) else no
            if element == {"Ref": "AWS::NoValue"}:
                continue
            pairs.append((render(element), str(deploy.resolve(element))))
        not_action = "NotAction" in chosen
        out.append(
            Statement(
                function=function,
                sid=chosen.get("Sid", f"statement {index + 1}"),
                effect=chosen["Effect"],
                actions=[str(a) for a in _listed(chosen["NotAction" if not_action else "Action"])],
                resources=pairs,
                condition=deploy.resolve(chosen.get("Condition", {})),
                not_action=not_action,
                not_resource=not_resource,
            )
        )
    return out


# -- IAM's matching --------------------------------------------------------------------------


def glob(pattern: str, value: str, *, case: bool = True) -> bool:
    """IAM's wildcards: * any run of characters (also across : and /), ? one character."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, 0 if case else re.IGNORECASE) is not None


def _condition_holds(operator: str, wanted: dict[str, Any], context: dict[str, str]) -> bool:
    if_exists = operator.endswith("IfExists")
    base = operator.removesuffix("IfExists")
    for key, values in wanted.items():
        values = [str(v) for v in _listed(values)]
        present = key in context
        if not present:
            if if_exists or base.startswith(("StringNot", "ArnNot")):
                continue
            return False
        actual = context[key]
        if base == "StringEquals" or base == "ArnEquals":
            ok = actual in values
        elif base == "StringEqualsIgnoreCase":
            ok = actual.lower() in (v.lower() for v in values)
        elif base in ("StringLike", "ArnLike"):
            ok = any(glob(v, actual) for v in values)
        elif base in ("StringNotEquals", "ArnNotEquals"):
            ok = actual not in values
        elif base in ("StringNotLike", "ArnNotLike"):
            ok = not any(glob(v, actual) for v in values)
        else:
            raise ValueError(f"tests/iam_check.py cannot judge the condition operator {operator}")
        if not ok:
            return False
    return True


def applies(statement: Statement, request: Request) -> list[str] | None:
    """The template resources by which the statement covers the request, or None."""
    action_hit = any(glob(a, request.action, case=False) for a in statement.actions)
    if action_hit == statement.not_action:
        return None
    hits = [raw for raw, arn in statement.resources if glob(arn, request.resource)]
    if statement.not_resource:
        if hits:
            return None
        hits = ["NotResource"]
    if not hits:
        return None
    for operator, wanted in statement.condition.items():
        if not _condition_holds(operator, wanted, request.context):
            return None
    return hits


# -- the verdict -----------------------------------------------------------------------------


@dataclass
class Verdict:
    denied: list[str] = field(default_factory=list)
    # (function, sid, "action"|"resource", what) for the unused-permission report
    used: set[tuple[str, str, str, str]] = field(default_factory=set)

    def message(self) -> str:
        return "The template's IAM would refuse calls a handler made:\n" + "\n".join(
            f"  - {d}" for d in dict.fromkeys(self.denied)
        )


def _template_form(arn: str, deploy: Deploy) -> str:
    """The ARN as template.yaml would write it, for the statement a denial asks for."""
    table = deploy.arns.get("Table.Arn")
    if table and arn.startswith(table):
        return "!Sub ${Table.Arn}" + arn[len(table) :]
    if arn == "*":
        return '"*"'
    region = deploy.parameters["AWS::Region"]
    return "!Sub " + arn.replace("arn:aws:", "arn:${AWS::Partition}:", 1).replace(
        f":{region}:", ":${AWS::Region}:", 1
    ).replace(f":{ACCOUNT}:", ":${AWS::AccountId}:", 1)


def judge(calls: Iterable[Call], cfn: dict[str, Any] | None = None) -> Verdict:
    cfn = cfn or translated()
    verdict = Verdict()
    for call in calls:
        function = FUNCTIONS[call.function]
        deploy = deploy_for(cfn, function, call.env)
        granted = statements(deploy, function)
        for request in call.requests:
            if request.action == "unknown":
                verdict.denied.append(f"{function}: {call.operation}: {request.resource}")
                continue
            allowing = [
                (s, hits)
                for s in granted
                if s.effect == "Allow" and (hits := applies(s, request)) is not None
            ]
            denying = [s for s in granted if s.effect == "Deny" and applies(s, request)]
            if allowing and not denying:
                for s, hits in allowing:
                    verdict.used.add((function, s.sid, "action", request.action))
                    for hit in hits:
                        verdict.used.add((function, s.sid, "resource", hit))
                continue
            target = "" if call.target == request.resource else f", {call.target}"
            context = "".join(f", {k} {v}" for k, v in request.context.items())
            why = f"denied by {denying[0].sid}" if denying else "no statement allows it"
            condition = ""
            if request.context:
                condition = f", Condition: {{StringEquals: {dict(request.context)}}}"
            verdict.denied.append(
                f"{function} (role {role_of(cfn, function)}) may not {request.action} on "
                f"{request.resource}{context} ({call.operation}{target}): {why}. "
                f"Needed in template.yaml: {{Effect: Allow, Action: {request.action}, "
                f"Resource: {_template_form(request.resource, deploy)}{condition}}}"
            )
    return verdict


def every_permission(cfn: dict[str, Any] | None = None) -> set[tuple[str, str, str, str]]:
    """(function, sid, "action"|"resource", what) for every Allow in every branch of every
    role's statements: what the unused-permission report compares the used ones with."""
    cfn = cfn or translated()
    out = set()
    for function in FUNCTIONS.values():
        for index, raw in enumerate(raw_statements(cfn, function)):
            branches = raw["Fn::If"][1:] if "Fn::If" in raw else [raw]
            for chosen in branches:
                if chosen == {"Ref": "AWS::NoValue"} or chosen.get("Effect") != "Allow":
                    continue
                sid = chosen.get("Sid", f"statement {index + 1}")
                for action in _listed(chosen.get("Action", [])):
                    out.add((function, sid, "action", action))
                for element in _listed(chosen.get("Resource", [])):
                    options = (
                        element["Fn::If"][1:]
                        if isinstance(element, dict) and "Fn::If" in element
                        else [element]
                    )
                    for option in options:
                        if option != {"Ref": "AWS::NoValue"}:
                            out.add((function, sid, "resource", render(option)))
    return out


# Granted for callers other than the handlers' own calls, or for cases moto cannot show: the
# report says why beside them, so the rest stand out as candidates for removal.
WHY_NO_TEST_CALLS = {
    "sqs:SendMessage": "Lambda itself sends a failed invocation to the on-failure destination",
    "SandboxRecipientIdentities": "SES asks for it only in the sandbox, which moto does not model",
    "DecryptSecrets": "SSM decrypts with the customer managed key on the function's behalf",
}


def unused_report(
    used: set[tuple[str, str, str, str]], cfn: dict[str, Any] | None = None
) -> list[str]:
    """One line per granted action or resource no recorded call needed."""
    lines = []
    for function, sid, kind, what in sorted(every_permission(cfn) - used):
        why = WHY_NO_TEST_CALLS.get(sid) or WHY_NO_TEST_CALLS.get(what)
        lines.append(f"{function} {sid}: {kind} {what}" + (f" ({why})" if why else ""))
    return lines
