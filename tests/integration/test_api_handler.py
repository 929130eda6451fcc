"""The API Lambda handler under moto, with function URL events: /health and /status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from releasewatch.aws.heartbeat import TickMarker
from releasewatch.clock import FixedClock
from releasewatch.model import ReleaseState
from releasewatch.store.dynamodb import DynamoDBStore
from releasewatch.store.dynamodb_table import create_table, dynamodb_client
from tests.factories import CONTACTS, DUE, make_check, make_release
from tests.integration.lambda_support import LambdaContext, import_handler, load_event

REGION = "eu-west-2"
SECRET = "test-ack-secret-0123456789abcdef0123456789"
TABLE = "releasewatch-api-test"
ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "TABLE_NAME": TABLE,
    "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
    "POWERTOOLS_SERVICE_NAME": "releasewatch",
    "POWERTOOLS_METRICS_NAMESPACE": "Releasewatch",  # as template.yaml's Globals set it
    "POWERTOOLS_TRACE_DISABLED": "true",
}


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[ModuleType]:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=ENV["ACK_SECRET_PARAMETER"], Value=SECRET, Type="SecureString"
        )
        create_table(dynamodb_client(REGION), TABLE)
        store = DynamoDBStore(TABLE)
        store.apply_releases([make_release("lms-2025-07"), make_release("cpi-2025-07")], DUE)
        record = store.get_release("lms-2025-07")
        assert record is not None
        store.update_release(
            record.model_copy(update={"state": ReleaseState.LATE, "last_check": make_check(at=DUE)})
        )
        yield import_handler("api")


def call(api: ModuleType, event: str) -> dict[str, Any]:
    clock = FixedClock(DUE)
    context = LambdaContext(
        clock=clock, deadline=DUE + timedelta(seconds=10), function_name="releasewatch-Api"
    )
    response: dict[str, Any] = api.lambda_handler(load_event(event), context)
    return response


def test_health_answers_ok(api: ModuleType) -> None:
    # (a tick is recorded first: /health now vouches for the poller, not just the API)
    TickMarker(dynamodb_client(REGION), TABLE).record(DUE)
    api.clock = FixedClock(DUE + timedelta(seconds=50))
    response = call(api, "function_url_health")
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["status"] == "ok"


def test_health_reports_the_last_ticks_age_and_fails_after_3_minutes(api: ModuleType) -> None:
    # GIVEN no tick recorded yet (the poller never ran, or its writes fail)
    api.clock = FixedClock(DUE)
    response = call(api, "function_url_health")
    assert response["statusCode"] == 503
    assert "no poller tick" in json.loads(response["body"])["reason"]
    # WHEN the poller last ticked 2 minutes ago: ok, with the age
    TickMarker(dynamodb_client(REGION), TABLE).record(DUE)
    api.clock = FixedClock(DUE + timedelta(minutes=2))
    response = call(api, "function_url_health")
    body = json.loads(response["body"])
    assert response["statusCode"] == 200
    assert body["last_tick_age_seconds"] == 120
    assert body["last_tick"] == DUE.isoformat()
    # ...and an hour later: 503, which an external uptime check turns into a page
    api.clock = FixedClock(DUE + timedelta(hours=1))
    response = call(api, "function_url_health")
    body = json.loads(response["body"])
    assert response["statusCode"] == 503
    assert body["status"] == "failing" and body["last_tick_age_seconds"] == 3600
    assert response["headers"]["Content-Type"].startswith("application/json")


def test_status_lists_releases_and_their_states(api: ModuleType) -> None:
    response = call(api, "function_url_status")
    assert response["statusCode"] == 200
    assert response["headers"]["Content-Type"].startswith("application/json")
    releases = {r["id"]: r for r in json.loads(response["body"])["releases"]}
    assert set(releases) == {"lms-2025-07", "cpi-2025-07"}
    late = releases["lms-2025-07"]
    assert late["state"] == "late"
    assert late["due"] == DUE.isoformat()
    assert late["title"] == "Labour market overview, UK: July 2025"
    assert late["last_check"]["live"] is False
    assert late["last_check"]["status"] == 200
    assert releases["cpi-2025-07"]["last_check"] is None


def test_status_shows_no_email_address_or_phone_number(api: ModuleType) -> None:
    body = call(api, "function_url_status")["body"]
    for contact in CONTACTS.values():
        for address in (contact.email, contact.phone):
            if address:
                assert address not in body
    assert "@" not in body


def test_an_unknown_path_is_not_found(api: ModuleType) -> None:
    assert call(api, "function_url_unknown")["statusCode"] == 404


def ack_event(method: str, token: str) -> dict[str, Any]:
    event = load_event("function_url_status")
    event["rawPath"] = f"/a/{token}"
    event["requestContext"]["http"].update({"method": method, "path": f"/a/{token}"})
    return event


def test_an_ack_link_confirms_on_get_records_on_post_and_refuses_a_replay(
    api: ModuleType,
) -> None:
    from releasewatch.links.tokens import TokenCodec
    from releasewatch.model import EventKind

    # The route verifies expiry on the system clock: issue the token for now.
    now = datetime.now(UTC)
    token = TokenCodec(SECRET.encode()).issue("lms-2025-07", "web_publisher", 1, now)
    context = LambdaContext(
        clock=FixedClock(now), deadline=now + timedelta(seconds=10), function_name="api"
    )
    store = DynamoDBStore(TABLE)

    def acks() -> list[str | None]:
        events = store.events("lms-2025-07")
        return [e.contact_id for e in events if e.kind == EventKind.ACKNOWLEDGED]

    shown = api.lambda_handler(ack_event("GET", token), context)
    assert shown["statusCode"] == 200 and "<form" in shown["body"]
    assert acks() == []  # a mail scanner following the link changes nothing

    done = api.lambda_handler(ack_event("POST", token), context)
    assert done["statusCode"] == 200
    assert acks() == ["web_publisher"]

    again = api.lambda_handler(ack_event("POST", token), context)
    assert again["statusCode"] == 409
    assert acks() == ["web_publisher"]

    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    forged = api.lambda_handler(ack_event("POST", tampered), context)
    assert forged["statusCode"] in (400, 403)
    assert acks() == ["web_publisher"]


FUNCTION_URL = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-2.on.aws"


def dashboard_token(days: int = 90, secret: str = SECRET) -> str:
    """A dashboard link's token, as `releasewatch dashboard-link` makes it (for now: the
    routes check expiry on the system clock unless a test sets api.clock)."""
    from releasewatch.links.tokens import TokenCodec, issue_dashboard

    return issue_dashboard(TokenCodec(secret.encode()), datetime.now(UTC), timedelta(days=days))


def page_event(path: str) -> dict[str, Any]:
    """A function URL GET of `path`, its query string (if any) as a function URL passes it."""
    from urllib.parse import parse_qsl

    path, _, query = path.partition("?")
    event = load_event("function_url_status")
    event["rawPath"] = path
    event["rawQueryString"] = query
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query))
    event["requestContext"]["http"].update({"method": "GET", "path": path})
    return event


def get(api: ModuleType, path: str) -> dict[str, Any]:
    now = datetime.now(UTC)
    context = LambdaContext(
        clock=FixedClock(now), deadline=now + timedelta(seconds=10), function_name="api"
    )
    response: dict[str, Any] = api.lambda_handler(page_event(path), context)
    return response


@pytest.fixture
def no_cached_secret() -> Iterator[None]:
    """SSM values are kept per process for 5 minutes: start and end clean."""
    from releasewatch.aws.secure_parameters import PARAMETERS

    PARAMETERS.clear()
    yield
    PARAMETERS.clear()


def test_all_releases_on_a_release_page_leads_to_the_dashboard(api: ModuleType) -> None:
    import re
    from urllib.parse import urljoin

    # (through a signed dashboard link: the bare /r/<id> is refused on AWS since issue 9)
    signed = f"/d/{dashboard_token()}"
    page = get(api, f"{signed}/r/lms-2025-07")
    assert page["statusCode"] == 200
    (href,) = re.findall(r'<a href="([^"]*)"[^>]*>All releases</a>', page["body"])
    # resolved as a browser does, against the function URL
    base = f"{FUNCTION_URL}{signed}/r/lms-2025-07"
    target = urljoin(base, href).removeprefix(FUNCTION_URL)
    assert target == f"{signed}/"
    listing = get(api, target)
    assert listing["statusCode"] == 200
    assert "Labour market overview" in listing["body"] and "@" not in listing["body"]


def test_pages_answer_503_when_the_ack_secret_is_missing(
    api: ModuleType, no_cached_secret: None, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN the SSM parameter is gone (never created in this account, or deleted)
    boto3.client("ssm", region_name=REGION).delete_parameter(Name=ENV["ACK_SECRET_PARAMETER"])
    # THEN the pages it guards say so with a 503 instead of crashing with a 500
    # (the dashboard is reached through a signed link since issue 9; without the key that
    # link cannot be checked, so it too answers 503)
    signed = f"/d/{dashboard_token()}"
    for path in (f"{signed}/", f"{signed}/r/lms-2025-07", "/a/" + "x" * 40):
        response = get(api, path)
        assert response["statusCode"] == 503, path
        assert "cannot be read" in response["body"]
        assert response["headers"]["Retry-After"] == "300"
    # ...while status still answers
    assert call(api, "function_url_status")["statusCode"] == 200
    # ...and once the parameter exists again, the same container serves the dashboard
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=ENV["ACK_SECRET_PARAMETER"], Value=SECRET, Type="SecureString"
    )
    assert get(api, f"{signed}/")["statusCode"] == 200


def test_a_request_that_fails_is_a_problem_for_the_alarm(
    api: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the store cannot be built (a bad TABLE_NAME, a bug at the edge)
    def unreadable() -> None:
        raise RuntimeError("ResourceNotFoundException: table not found")

    monkeypatch.setattr(api, "store", unreadable)
    capsys.readouterr()
    # WHEN a request comes in, THEN it fails (Lambda Errors) and counts one Problem, the
    # metric the template's ProblemsAlarm reads
    with pytest.raises(RuntimeError):
        call(api, "function_url_status")
    blobs = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    assert [b["Problems"] for b in blobs] in ([1.0], [[1.0]])
    (definition,) = blobs[0]["_aws"]["CloudWatchMetrics"]
    assert definition["Dimensions"] == [["service"]] and blobs[0]["service"] == "releasewatch"


def test_a_healthy_request_sends_no_metric(
    api: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    assert call(api, "function_url_status")["statusCode"] == 200
    assert '"_aws"' not in capsys.readouterr().out
