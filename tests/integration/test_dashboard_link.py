"""The dashboard on the public function URL opens only from a signed dashboard link (issue 9):
through the API handler under moto, and `releasewatch dashboard-link` that prints the link."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import urljoin, urlsplit

import boto3
import pytest

from releasewatch.cli import main
from releasewatch.clock import FixedClock
from releasewatch.links.tokens import TokenCodec, issue_dashboard
from releasewatch.model import EventKind
from releasewatch.store.dynamodb import DynamoDBStore
from tests.factories import CONTACTS
from tests.integration import test_api_handler as handler_tests
from tests.integration.test_api_handler import (
    ENV,
    FUNCTION_URL,
    REGION,
    SECRET,
    TABLE,
    ack_event,
    dashboard_token,
    get,
)

# The API handler under moto, with two releases stored (one late): the same fixtures.
api = handler_tests.api
no_cached_secret = handler_tests.no_cached_secret

TITLE = "Labour market overview"
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def browse(api: ModuleType, url: str) -> dict[str, Any]:
    """GET an absolute URL on the function URL, as a browser would."""
    assert url.startswith(FUNCTION_URL), url
    return get(api, url.removeprefix(FUNCTION_URL))


def test_the_dashboard_without_a_link_is_refused_with_a_clear_page(api: ModuleType) -> None:
    for path in ("/", "/dashboard", "/r/lms-2025-07"):
        page = get(api, path)
        assert page["statusCode"] == 403, path
        assert "dashboard-link" in page["body"] and "signed dashboard link" in page["body"]
        assert TITLE not in page["body"]  # nothing of the releases leaks
        assert page["headers"]["Referrer-Policy"] == "no-referrer"


def test_a_dashboard_link_opens_the_dashboard_and_every_page_it_links_to(
    api: ModuleType,
) -> None:
    api.clock = FixedClock(NOW)
    token = issue_dashboard(TokenCodec(SECRET.encode()), NOW, timedelta(days=90))
    home = f"{FUNCTION_URL}/d/{token}/"
    listing = browse(api, home)
    assert listing["statusCode"] == 200
    assert TITLE in listing["body"] and "@" not in listing["body"]
    for number in (c.phone for c in CONTACTS.values() if c.phone):
        assert number not in listing["body"]
    assert listing["headers"]["Referrer-Policy"] == "no-referrer"
    # the one script is the same-origin refresh script, and the policy allows no other
    (script,) = re.findall(r"<script[^>]*>[^<]*</script>", listing["body"])
    assert re.fullmatch(r'<script src="\.\./\.\./static/\w+/refresh\.js" defer></script>', script)
    assert "script-src 'self';" in listing["headers"]["Content-Security-Policy"]
    assert "unsafe-inline" not in listing["headers"]["Content-Security-Policy"]
    # every link on it stays under the signed prefix, and opens
    hrefs = re.findall(r'<a [^>]*href="([^"]*)"', listing["body"])
    releases = [h for h in hrefs if "/r/" in h]
    # + skip link, header, 3 views, the JSON and its schema
    assert len(releases) == 2 and len(hrefs) == 9
    for href in hrefs:
        target = urljoin(home, href)
        assert target.startswith(home), target
        if href.startswith("#"):
            continue
        opened = browse(api, target.split("#")[0])
        assert opened["statusCode"] == 200, target
        assert opened["headers"]["Referrer-Policy"] == "no-referrer"
    for href in releases:
        target = urljoin(home, href)
        release = browse(api, target)
        assert release["statusCode"] == 200 and "Timeline" in release["body"]
        (back,) = re.findall(r'<a href="([^"]*)"[^>]*>All releases</a>', release["body"])
        assert urljoin(target, back) == home
    # the link without its trailing slash redirects to it (relative links need the slash)
    bare = browse(api, home.rstrip("/"))
    assert bare["statusCode"] == 308
    assert urljoin(home.rstrip("/"), bare["headers"]["Location"]) == home
    # 89 days on it still works; the day after it expires it does not
    api.clock = FixedClock(NOW + timedelta(days=89))
    assert browse(api, home)["statusCode"] == 200


def test_expired_forged_rotated_and_ack_links_do_not_open_the_dashboard(
    api: ModuleType,
) -> None:
    api.clock = FixedClock(NOW)
    codec = TokenCodec(SECRET.encode())
    expired = issue_dashboard(codec, NOW - timedelta(days=91), timedelta(days=90))
    page = get(api, f"/d/{expired}/")
    assert page["statusCode"] == 410 and "expired" in page["body"]
    assert TITLE not in page["body"]

    good = issue_dashboard(codec, NOW, timedelta(days=90))
    forged = good[:-2] + ("AA" if good[-2:] != "AA" else "BB")
    other_key = issue_dashboard(TokenCodec(b"another-key-0123456789abcdef"), NOW, timedelta(1))
    for token in (forged, other_key):
        for path in (f"/d/{token}/", f"/d/{token}/r/lms-2025-07"):
            page = get(api, path)
            assert page["statusCode"] == 403, path
            assert "not valid" in page["body"] and TITLE not in page["body"]

    # a genuine acknowledge link's token is not a dashboard link...
    ack = codec.issue("lms-2025-07", "web_publisher", 1, NOW)
    page = get(api, f"/d/{ack}/")
    assert page["statusCode"] == 403 and "not a dashboard link" in page["body"]
    assert TITLE not in page["body"]
    # ...nor is a dashboard token an acknowledge link (and nothing is recorded)
    context_now = datetime.now(UTC)  # the ack route checks expiry on the handler's clock
    api.clock = FixedClock(context_now)
    dash = issue_dashboard(codec, context_now, timedelta(days=1))
    posted = api.lambda_handler(ack_event("POST", dash), _context(context_now))
    assert posted["statusCode"] in (400, 403)
    events = DynamoDBStore(TABLE).events("lms-2025-07")
    assert not [e for e in events if e.kind == EventKind.ACKNOWLEDGED]
    # ...and a malformed token is a 400, never a 500
    assert get(api, "/d/short/")["statusCode"] == 400


def test_rotating_the_key_revokes_every_dashboard_link(
    api: ModuleType, no_cached_secret: None
) -> None:
    signed = f"/d/{dashboard_token()}/"
    assert get(api, signed)["statusCode"] == 200
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=ENV["ACK_SECRET_PARAMETER"],
        Value="rotated-key-0123456789abcdef0123",
        Type="SecureString",
        Overwrite=True,
    )
    from releasewatch.aws.secure_parameters import PARAMETERS

    PARAMETERS.clear()  # on AWS: within the 5-minute cache
    assert get(api, signed)["statusCode"] == 403
    assert (
        get(api, f"/d/{dashboard_token(secret='rotated-key-0123456789abcdef0123')}/")["statusCode"]
        == 200
    )


def test_acknowledge_links_work_as_before(api: ModuleType) -> None:
    now = datetime.now(UTC)
    token = TokenCodec(SECRET.encode()).issue("lms-2025-07", "web_publisher", 1, now)
    shown = api.lambda_handler(ack_event("GET", token), _context(now))
    assert shown["statusCode"] == 200 and "<form" in shown["body"]
    done = api.lambda_handler(ack_event("POST", token), _context(now))
    assert done["statusCode"] == 200 and "Acknowledged" in done["body"]


def test_the_command_prints_a_link_that_opens_the_dashboard(
    api: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    # GIVEN the stack, as CloudFormation reports it (its TableName and ApiUrl outputs)
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="releasewatch",
        TemplateBody=_STACK.format(table=TABLE, url=FUNCTION_URL + "/"),
    )
    code = main(["dashboard-link", "--table", TABLE, "--region", REGION, "--days", "30"])
    out, err = capsys.readouterr()
    assert code == 0, err
    url = out.strip()
    assert url.startswith(f"{FUNCTION_URL}/d/") and url.endswith("/")
    assert "valid until" in err and "revokes" in err
    page = browse(api, url)
    assert page["statusCode"] == 200 and TITLE in page["body"]
    # 30 days: it has expired on day 31
    api.clock = FixedClock(datetime.now(UTC) + timedelta(days=31))
    assert browse(api, url)["statusCode"] == 410

    # --base-url needs no stack; the link's path is the same shape
    code = main(["dashboard-link", "--base-url", "https://example.com/x/", "--region", REGION])
    out, _ = capsys.readouterr()
    assert code == 0 and urlsplit(out.strip()).path.startswith("/x/d/")


def test_the_command_says_what_is_missing(
    api: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    # no stack with that table
    assert main(["dashboard-link", "--table", "nope", "--region", REGION]) == 2
    assert "no CloudFormation stack" in capsys.readouterr().err
    # no key in SSM
    code = main(
        ["dashboard-link", "--base-url", FUNCTION_URL, "--region", REGION, "--parameter", "/x"]
    )
    assert code == 2 and "/x does not exist" in capsys.readouterr().err
    # nonsense days
    assert main(["dashboard-link", "--base-url", FUNCTION_URL, "--days", "0"]) == 2
    assert "--days" in capsys.readouterr().err


def _context(now: datetime) -> Any:
    from tests.integration.lambda_support import LambdaContext

    return LambdaContext(
        clock=FixedClock(now), deadline=now + timedelta(seconds=10), function_name="api"
    )


_STACK = """
Resources:
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  TableName:
    Value: {table}
  ApiUrl:
    Value: {url}
"""
