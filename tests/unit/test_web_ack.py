"""The web app: GET on an acknowledge link never changes state; POST records once; bad tokens
get their 4xx; the dashboard shows no address or number. Also through the function URL's
routing (web/function_url.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from releasewatch.links.tokens import Purpose, TokenCodec, issue_dashboard
from releasewatch.web.function_url import Deps, respond
from tests.factories import CONTACTS
from tests.unit.escalation_support import ID, Scenario, at

WP = "web_publisher"


@pytest.fixture
def late():  # type: ignore[no-untyped-def]
    s = Scenario(live=lambda now: now >= at(12, 0))
    s.run_until(at(9, 41))
    return s


def test_get_shows_a_confirmation_form_and_changes_nothing(late):  # type: ignore[no-untyped-def]
    link = late.latest_link(WP)
    before = late.snapshot()
    for _ in range(5):
        page = late.open(link, "GET")
        assert page.status == 200
        assert "<form method=post" in page.body and "Acknowledge" in page.body
        assert page.headers["Cache-Control"] == "no-store"
        assert page.headers["Referrer-Policy"] == "no-referrer"
    late.open(link, "HEAD")
    assert late.snapshot() == before


@settings(max_examples=200, deadline=None)
@given(path=st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60))
def test_no_get_of_any_path_changes_state(path):  # type: ignore[no-untyped-def]
    s = _SHARED
    before = s.snapshot()
    ack_answers = (200, 400, 403, 404, 409, 410)
    assert s.open("/a/" + path, "GET").status in ack_answers
    # "/" + "a/..." is itself an ack path (hypothesis found path="a/": an empty token, 400).
    # "/d/..." is a dashboard link: refused (400/403/410) unless genuine, never a change;
    # "/c/..." a readiness link, refused like an ack link (hypothesis found path="c/").
    other = ack_answers if ("/" + path).startswith(("/a/", "/c/", "/d/")) else (200, 404)
    assert s.open("/" + path, "GET").status in other
    assert s.snapshot() == before


_SHARED = Scenario(live=lambda now: False)
_SHARED.run_until(at(9, 41))


def test_post_records_who_and_when_once(late):  # type: ignore[no-untyped-def]
    link = late.latest_link(WP)
    page = late.open(link, "POST")
    assert page.status == 200 and "Acknowledged" in page.body
    assert "held until 10:11 BST" in page.body
    acks = [e for e in late.store.events(ID) if e.kind.value == "acknowledged"]
    assert [(a.contact_id, a.at) for a in acks] == [(WP, late.clock.now())]
    again = late.open(link, "POST")
    assert again.status == 409 and "already been used" in again.body
    assert late.open(link, "GET").status == 409


def test_a_second_link_for_the_same_step_does_not_record_twice(late):  # type: ignore[no-untyped-def]
    sms, email = late.latest_link(WP, "sms"), late.latest_link(WP, "email")
    assert late.open(sms, "POST").status == 200
    before = late.snapshot()
    page = late.open(email, "POST")
    assert page.status == 200 and "Already acknowledged" in page.body
    assert late.snapshot() == before


def test_acknowledging_after_the_page_is_live_records_nothing(late):  # type: ignore[no-untyped-def]
    link = late.latest_link(WP)
    late.run_until(at(12, 1))
    before = late.snapshot()
    page = late.open(link, "POST")
    assert page.status == 409 and "already confirmed live" in page.body
    assert late.snapshot() == before


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda t: t[:-1], 400),  # truncated
        (lambda t: t[:-2] + ("A" if t[-2] != "A" else "B") + t[-1], 403),  # tampered MAC
        (lambda t: "!" * len(t), 400),  # not base64url
    ],
)
def test_bad_tokens_get_a_clear_4xx_and_change_nothing(late, mutate, status):  # type: ignore[no-untyped-def]
    token = late.latest_link(WP)[3:]
    before = late.snapshot()
    for method in ("GET", "POST"):
        page = late.open("/a/" + mutate(token), method)
        assert page.status == status and "Link not accepted" in page.body
    assert late.snapshot() == before


def test_expired_and_cross_purpose_tokens(late):  # type: ignore[no-untyped-def]
    codec: TokenCodec = late.codec
    old = codec.issue(ID, WP, 1, late.clock.now() - codec.ttl - timedelta(seconds=1))
    other = codec.issue(ID, WP, 1, late.clock.now(), purpose=Purpose.CONFIRM_READY)
    before = late.snapshot()
    assert late.open("/a/" + old, "POST").status == 410
    assert late.open("/a/" + other, "POST").status == 403
    assert late.snapshot() == before


def test_other_methods_are_refused(late):  # type: ignore[no-untyped-def]
    link = late.latest_link(WP)
    assert late.open(link, "DELETE").status == 405
    assert late.open("/", "POST").status == 405


def test_the_dashboard_lists_states_and_never_an_address_or_number(late):  # type: ignore[no-untyped-def]
    late.open(late.latest_link(WP), "POST")
    for path in ("/", "/dashboard", f"/r/{ID}"):
        page = late.open(path, "GET")
        assert page.status == 200
        assert "Labour market overview" in page.body
        for contact in CONTACTS.values():
            assert contact.email not in page.body
            assert (contact.phone or "@@") not in page.body
        assert "@" not in page.body
    board = late.open("/", "GET").body
    assert 'data-state="late">Late — <span data-minutes-late=' in board  # words, not `late`
    assert "Alice Publisher" in late.open(f"/r/{ID}", "GET").body
    assert late.open("/r/nope", "GET").status == 404


# -- the same logic on the API Lambda's function URL ---------------------------------------------
def _event(method: str, path: str) -> dict[str, object]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "abc.lambda-url.eu-west-2.on.aws"},
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.1",
            },
            "requestId": "r",
            "routeKey": "$default",
            "stage": "$default",
        },
        "isBase64Encoded": False,
        "body": "",
    }


def test_the_function_url_serves_the_same_pages(late):  # type: ignore[no-untyped-def]
    deps = Deps(store=lambda: late.store, codec=lambda: late.codec, clock=late.clock)

    def resolve(method: str, path: str) -> dict:  # type: ignore[type-arg]
        return respond(_event(method, path), deps)

    link = late.latest_link(WP)
    before = late.snapshot()
    got = resolve("GET", link)
    assert got["statusCode"] == 200 and "<form method=post" in got["body"]
    assert late.snapshot() == before
    posted = resolve("POST", link)
    assert posted["statusCode"] == 200 and "Acknowledged" in posted["body"]
    replay = resolve("POST", link)
    assert replay["statusCode"] == 409
    # On AWS the dashboard opens only from a signed dashboard link (issue 9)
    assert resolve("GET", "/dashboard")["statusCode"] == 403
    token = issue_dashboard(late.codec, late.clock.now(), timedelta(days=1))
    dash = resolve("GET", f"/d/{token}/")
    assert dash["statusCode"] == 200 and "@" not in dash["body"]
    assert "Labour market overview" in dash["body"]
