"""The API function's routing on its function URL (web/function_url.py), without AWS: what a
browser, an uptime check, GOV.UK Notify or an attacker gets for each kind of request."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from releasewatch.links.tokens import TokenCodec, issue_dashboard
from releasewatch.web.function_url import Deps, Unavailable, respond
from tests.unit.escalation_support import ID, Scenario, at

WP = "web_publisher"


@pytest.fixture
def late() -> Scenario:
    s = Scenario(live=lambda now: now >= at(12, 0))
    s.run_until(at(9, 41))
    return s


def event(method: str, path: str, query: str = "", **extra: Any) -> dict[str, Any]:
    return {
        "version": "2.0",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"host": "abc.lambda-url.eu-west-2.on.aws"},
        "requestContext": {"http": {"method": method, "path": path}},
        "isBase64Encoded": False,
        "body": "",
    } | extra


def no_key() -> TokenCodec:
    raise Unavailable


def must_not_read_the_key() -> TokenCodec:
    raise AssertionError("this route must not read the signing key")


def test_an_unknown_path_is_404_and_a_wrong_method_405_with_what_is_allowed(
    late: Scenario,
) -> None:
    d = Deps(store=lambda: late.store, codec=must_not_read_the_key, clock=late.clock)
    missing = respond(event("GET", "/wp-admin/setup.php"), d)
    assert missing["statusCode"] == 404
    assert missing["headers"]["Content-Type"] == "application/json"
    assert json.loads(missing["body"]) == {"error": "not found"}
    for method, path, allow in (
        ("DELETE", "/status", "GET"),
        ("PUT", f"/a/{'x' * 40}", "GET, POST"),
        ("POST", "/d/token/", "GET"),
        ("POST", "/dashboard", "GET"),
    ):
        answer = respond(event(method, path), d)
        assert (answer["statusCode"], answer["headers"]["Allow"]) == (405, allow), path


def test_head_is_answered_as_get(late: Scenario) -> None:
    token = issue_dashboard(late.codec, late.clock.now(), timedelta(days=1))
    d = Deps(store=lambda: late.store, codec=lambda: late.codec, clock=late.clock)
    got = respond(event("HEAD", f"/d/{token}/"), d)
    assert got["statusCode"] == 200


def test_the_signed_board_keeps_its_query_and_its_relative_links(late: Scenario) -> None:
    d = Deps(store=lambda: late.store, codec=lambda: late.codec, clock=late.clock)
    token = issue_dashboard(late.codec, late.clock.now(), timedelta(days=1))
    tomorrow = respond(event("GET", f"/d/{token}/api/releases", "view=tomorrow"), d)
    assert json.loads(tomorrow["body"])["view"] == "tomorrow"
    today = json.loads(respond(event("GET", f"/d/{token}/api/releases"), d)["body"])
    assert today["view"] == "today" and [r["release_id"] for r in today["rows"]] == [ID]
    # /d/<token> (no slash) sends the browser to /d/<token>/, so "r/<id>" links resolve
    bare = respond(event("GET", f"/d/{token}"), d)
    assert (bare["statusCode"], bare["headers"]["Location"]) == (308, f"{token}/")
    page = respond(event("GET", f"/d/{token}/r/{ID}"), d)
    assert page["statusCode"] == 200 and "Alice Publisher" in page["body"]
    assert 'href="../../../static/' in page["body"]  # the stylesheet, from three levels down


def test_without_the_key_the_guarded_pages_answer_503_and_the_rest_still_work(
    late: Scenario,
) -> None:
    d = Deps(store=lambda: late.store, codec=no_key, clock=late.clock)
    for path in ("/d/anything/", f"/a/{'x' * 40}", f"/c/{'x' * 40}"):
        answer = respond(event("GET", path), d)
        assert answer["statusCode"] == 503, path
        assert answer["headers"]["Retry-After"] == "300"
        assert answer["headers"]["X-Frame-Options"] == "DENY"  # a page like the others
        assert "cannot be read" in answer["body"]
    assert respond(event("GET", "/status"), d)["statusCode"] == 200
    assert respond(event("GET", "/health"), d)["statusCode"] == 200
    assert respond(event("GET", "/dashboard"), d)["statusCode"] == 403


def test_the_unsigned_board_is_refused_without_reading_the_key_or_the_store(
    late: Scenario,
) -> None:
    def no_store() -> Any:
        raise AssertionError("the unsigned board must not read the store")

    d = Deps(store=no_store, codec=must_not_read_the_key, clock=late.clock)
    for path in ("/", "/dashboard", f"/r/{ID}", f"/r/{ID}/report.docx", "/api/releases"):
        answer = respond(event("GET", path), d)
        assert answer["statusCode"] == 403, path
        assert "signed dashboard link" in answer["body"]


def test_a_body_that_claims_base64_and_is_not_is_refused(late: Scenario) -> None:
    d = Deps(store=lambda: late.store, codec=lambda: late.codec, clock=late.clock)
    answer = respond(event("POST", "/notify/receipts", isBase64Encoded=True, body="%%%"), d)
    assert answer["statusCode"] == 400
    assert "base64" in json.loads(answer["body"])["error"]


def test_notify_callbacks_are_404_without_a_token_and_503_when_it_cannot_be_read(
    late: Scenario,
) -> None:
    d = Deps(store=lambda: late.store, codec=lambda: late.codec, clock=late.clock)
    assert respond(event("POST", "/notify/receipts"), d)["statusCode"] == 404

    def unreadable() -> None:
        raise Unavailable

    d = Deps(lambda: late.store, lambda: late.codec, late.clock, notify=unreadable)
    assert respond(event("POST", "/notify/receipts"), d)["statusCode"] == 503


def test_a_download_goes_base64_encoded(late: Scenario) -> None:
    late.run_until(at(10, 31))  # a breach: the report exists
    d = Deps(store=lambda: late.store, codec=lambda: late.codec, clock=late.clock)
    token = issue_dashboard(late.codec, late.clock.now(), timedelta(days=1))
    docx = respond(event("GET", f"/d/{token}/r/{ID}/report.docx"), d)
    assert docx["statusCode"] == 200 and docx["isBase64Encoded"] is True
    assert base64.b64decode(docx["body"])[:2] == b"PK"
    md = respond(event("GET", f"/d/{token}/r/{ID}/report.md"), d)
    assert md["isBase64Encoded"] is False and "Labour market overview" in md["body"]


SECURITY = ("X-Frame-Options", "X-Content-Type-Options", "Content-Security-Policy", "Cache-Control")


def test_every_answer_error_or_not_carries_the_security_headers(late: Scenario) -> None:
    from releasewatch.web.guard import SECURITY_HEADERS
    from releasewatch.web.notify_callbacks import NotifyCallbacks

    hooks = NotifyCallbacks(late.store, late.clock, b"t" * 32)
    d = Deps(lambda: late.store, no_key, late.clock, notify=lambda: hooks)
    answers = [
        respond(event("GET", "/wp-admin/setup.php"), d),  # 404
        respond(event("DELETE", "/status"), d),  # 405
        respond(event("POST", "/notify/receipts"), d),  # 401
        respond(event("GET", f"/a/{'x' * 40}"), d),  # 503: no key
        respond(event("POST", "/notify/receipts", isBase64Encoded=True, body="%%%"), d),  # 400
        respond(event("GET", "/health"), d),
    ]
    for answer in answers:
        for name in SECURITY:
            assert name in answer["headers"], (answer["statusCode"], name)
        assert answer["headers"]["X-Frame-Options"] == SECURITY_HEADERS["X-Frame-Options"]
    assert [a["statusCode"] for a in answers] == [404, 405, 401, 503, 400, 200]


def test_a_callback_nested_thousands_deep_is_400_not_a_recursion_error(late: Scenario) -> None:
    from releasewatch.web.notify_callbacks import NotifyCallbacks

    hooks = NotifyCallbacks(late.store, late.clock, b"t" * 32)
    d = Deps(lambda: late.store, lambda: late.codec, late.clock, notify=lambda: hooks)
    auth = {"host": "abc.lambda-url.eu-west-2.on.aws", "authorization": "Bearer " + "t" * 32}
    for body in ("[" * 16_000, '{"a":' * 2_000 + "1" + "}" * 2_000):
        answer = respond(event("POST", "/notify/receipts", headers=auth, body=body), d)
        assert answer["statusCode"] == 400
        assert "nested deeper" in json.loads(answer["body"])["error"]
    # ...while brackets inside a string are only text
    receipt = {"id": "not-a-uuid", "status": "[" * 100}
    answer = respond(event("POST", "/notify/receipts", headers=auth, body=json.dumps(receipt)), d)
    assert answer["statusCode"] == 400 and "id:" in json.loads(answer["body"])["error"]
