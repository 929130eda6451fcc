"""The board on the API Lambda under moto: behind a signed dashboard link like every page
(JSON included), its stylesheet public and cached, and a poller that stopped ticking shown at
the top of the board."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from types import ModuleType

from releasewatch.aws.heartbeat import TickMarker
from releasewatch.model import ReleaseState
from releasewatch.store.dynamodb import DynamoDBStore
from releasewatch.store.dynamodb_table import dynamodb_client
from releasewatch.web import assets
from tests.integration import test_api_handler as handler_tests
from tests.integration.test_api_handler import REGION, TABLE, dashboard_token, get

api = handler_tests.api  # the API handler under moto, two releases stored (one late)


def test_the_json_api_opens_only_from_a_signed_link(api: ModuleType) -> None:
    for path in ("/api/releases", "/api/releases/lms-2025-07", "/r/lms-2025-07/report.md"):
        page = get(api, path)
        assert page["statusCode"] == 403, path
        assert "Labour market overview" not in page["body"]
    signed = f"/d/{dashboard_token()}"
    listing = get(api, f"{signed}/api/releases?view=week")
    assert listing["statusCode"] == 200
    assert listing["headers"]["Content-Type"].startswith("application/json")
    assert json.loads(listing["body"])["view"] == "week"
    one = get(api, f"{signed}/api/releases/lms-2025-07")
    data = json.loads(one["body"])
    assert data["release_id"] == "lms-2025-07" and data["ladder"]
    assert "@" not in listing["body"] + one["body"]
    forged = signed[:-2] + ("AA" if signed[-2:] != "AA" else "BB")
    assert get(api, f"{forged}/api/releases")["statusCode"] == 403


def test_the_stylesheet_and_script_are_public_and_cached_a_year(api: ModuleType) -> None:
    css = get(api, f"/static/{assets.version()}/board.css")
    assert css["statusCode"] == 200
    assert css["headers"]["Content-Type"] == "text/css; charset=utf-8"
    assert css["headers"]["Cache-Control"] == "public, max-age=31536000, immutable"
    assert ".govuk-notification-banner" in css["body"]
    js = get(api, f"/static/{assets.version()}/refresh.js")
    assert js["statusCode"] == 200 and "X-Releasewatch-Refresh" in js["body"]
    # the board's pages link them relative to themselves, so the token path finds them
    signed = f"/d/{dashboard_token()}"
    board = get(api, f"{signed}/")["body"]
    (href,) = re.findall(r'<link rel="stylesheet" href="([^"]+)">', board)
    assert href == f"../../static/{assets.version()}/board.css"


def test_a_poller_that_stopped_ticking_is_a_problem_on_the_board(api: ModuleType) -> None:
    from releasewatch.clock import FixedClock

    now = datetime.now(UTC)
    api.clock = FixedClock(now)
    TickMarker(dynamodb_client(REGION), TABLE).record(now - timedelta(minutes=9))
    signed = f"/d/{dashboard_token()}"
    board = get(api, f"{signed}/")
    assert board["statusCode"] == 200
    (problem,) = re.findall(r'<li data-problem="unhealthy">(.*?)</li>', board["body"], re.S)
    assert "9 min ago" in problem and "not being checked" in problem
    TickMarker(dynamodb_client(REGION), TABLE).record(now - timedelta(seconds=30))
    assert 'data-problem="unhealthy"' not in get(api, f"{signed}/")["body"]


def test_the_breach_report_downloads_through_the_signed_link(api: ModuleType) -> None:
    store = DynamoDBStore(TABLE)
    record = store.get_release("lms-2025-07")
    assert record is not None
    store.update_release(
        record.model_copy(
            update={
                "state": ReleaseState.LIVE_LATE,
                "live_at": record.release.due + timedelta(minutes=42),
            }
        )
    )
    signed = f"/d/{dashboard_token()}"
    page = get(api, f"{signed}/r/lms-2025-07")["body"]
    assert 'href="../r/lms-2025-07/report.docx" download' in page
    docx = get(api, f"{signed}/r/lms-2025-07/report.docx")
    assert docx["statusCode"] == 200 and docx["isBase64Encoded"] is True
    assert base64.b64decode(docx["body"])[:2] == b"PK"
    assert "attachment" in docx["headers"]["Content-Disposition"]
    md = get(api, f"{signed}/r/lms-2025-07/report.md")
    assert md["statusCode"] == 200 and "42 min" in md["body"] and "@" not in md["body"]


def test_the_api_handlers_import_loads_no_template_engine_and_no_board() -> None:
    # The board's templates are compiled on its first page, not at the cold start's import;
    # no web framework, models, boto3 or asyncio either (the 150 ms budget, make bench).
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys, app; print(sorted(m for m in sys.modules if m.startswith('jinja2') "
        "or m.startswith('markupsafe') or m.startswith('releasewatch.web.views') "
        "or m in ('releasewatch.web.app', 'releasewatch.web.render', 'pydantic', 'boto3', "
        "'asyncio', 'aws_lambda_powertools.event_handler', 'releasewatch.model')))"
    )
    env = {**os.environ, "PYTHONPATH": str(root / "shared"), "POWERTOOLS_TRACE_DISABLED": "true"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root / "functions" / "api",
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]"
