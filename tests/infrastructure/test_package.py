"""The build is tested (issue 9): tools/package.py (`make package`) builds the layer and both
functions for THIS machine into a temporary directory, and the BUILT handlers run against moto
server in a subprocess whose import path holds only the build (and boto3, which the Lambda
runtime provides): a release goes late, the SES email and SNS SMS arrive, the ack link in the
SMS works, and a dashboard link opens the dashboard.

pip installs shared/requirements.txt from the configured index (PyPI or its mirror); with
its cache warm this takes a few seconds.
"""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from releasewatch.links.tokens import TokenCodec, issue_dashboard
from releasewatch.store.dynamodb import DynamoDBStore
from releasewatch.store.dynamodb_table import create_table, dynamodb_client
from tests.aws_calls import RECORDER
from tests.aws_calls import load as load_calls
from tests.factories import CONTACTS, make_release

pytestmark = pytest.mark.slow  # run first: see tests/conftest.py

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-2"
TABLE = "releasewatch-built"
SENDER = "releasewatch@example.com"
SECRET = "built-handler-secret-0123456789abcdef"
BASE = "https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-2.on.aws"
# What the Lambda runtime provides beside the layer: boto3 and what it needs outside the layer.
RECORDER_FILE = str(ROOT / "tests" / "aws_calls.py")
RUNTIME = ("boto3", "botocore", "s3transfer", "urllib3")

# Runs inside the subprocess: loads functions/<name>/app.py from the BUILD, invokes it with
# each event, prints the responses and where releasewatch and pydantic were imported from.
# Its AWS calls are recorded (tests/aws_calls.py, loaded by path: the subprocess cannot import
# tests) to calls_file, for the IAM check (tests/conftest.py).
DRIVER = """
import importlib.util, json, sys, time
name, build, events_file, recorder_file, calls_file = sys.argv[1:6]
spec = importlib.util.spec_from_file_location("aws_calls", recorder_file)
aws_calls = importlib.util.module_from_spec(spec)
sys.modules["aws_calls"] = aws_calls  # dataclasses look their module up
spec.loader.exec_module(aws_calls)
aws_calls.RECORDER.install()
spec = importlib.util.spec_from_file_location("app", f"{build}/{name}/app.py")
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)

class Context:
    function_name = "releasewatch-" + name
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:" + function_name
    aws_request_id = "0f9e8d7c-6b5a-4938-2716-05f4e3d2c1b0"
    def __init__(self):
        self.deadline = time.monotonic() + 15  # under the poller's reserve: one tick
    def get_remaining_time_in_millis(self):
        return int((self.deadline - time.monotonic()) * 1000)

import releasewatch, pydantic
with aws_calls.RECORDER.running(name):
    results = [module.lambda_handler(e, Context()) for e in json.load(open(events_file))]
aws_calls.RECORDER.dump(calls_file)
print(json.dumps({"modules": [releasewatch.__file__, pydantic.__file__], "results": results}))
"""


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("package")
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "package.py"), "--native", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "of Lambda's 250 MB limit" in done.stdout
    # the runtime's boto3, beside the build (as Lambda puts it beside the layer)
    runtime = out / "runtime"
    runtime.mkdir()
    site = Path(boto3.__file__).parents[1]
    for name in RUNTIME:
        (runtime / name).symlink_to(site / name)
    return out


@pytest.fixture
def moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "TABLE_NAME": TABLE,
        "SENDER_EMAIL": SENDER,
        "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
        "ACK_BASE_URL": BASE,
        "POWERTOOLS_SERVICE_NAME": "releasewatch",
        "POWERTOOLS_METRICS_NAMESPACE": "Releasewatch",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # moto's state is per process, shared with earlier tests' servers and mocks: start empty
    reset = urllib.request.Request(f"{env['AWS_ENDPOINT_URL']}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset).close()
    try:
        yield env
    finally:
        server.stop()


@pytest.fixture
def announcement_page() -> Iterator[str]:
    """The release's page on 127.0.0.1, still showing the announcement: not live."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><body><h1>Labour market overview</h1>Release date: 17 July</body>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/releases/lms-2025-07"
    finally:
        server.shutdown()
        server.server_close()


def run_built(build: Path, env: dict[str, str], name: str, events: list[Any]) -> list[Any]:
    events_file = build / f"events-{name}.json"
    events_file.write_text(json.dumps(events))
    calls_file = build / f"calls-{name}.json"
    recording = (RECORDER_FILE, str(calls_file))
    path = os.pathsep.join(str(p) for p in (build / "layer" / "python", build / "runtime"))
    done = subprocess.run(
        # -S: no site-packages (neither this venv's nor the system's): only PYTHONPATH
        [sys.executable, "-S", "-c", DRIVER, *(name, str(build), str(events_file)), *recording],
        env={**env, "PYTHONPATH": path, "PATH": os.environ.get("PATH", "")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    RECORDER.calls.extend(load_calls(str(calls_file)))  # judged when the test ends
    output = json.loads(done.stdout.strip().splitlines()[-1])
    for module in output["modules"]:  # the build ran, not the source tree or the venv
        assert module.startswith(str(build / "layer" / "python")), module
    results: list[Any] = output["results"]
    return results


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((ROOT / "tests" / "events" / f"{name}.json").read_text())
    return loaded


def url_event(method: str, path: str) -> dict[str, Any]:
    e = event("function_url_status")
    e["rawPath"] = path
    e["requestContext"]["http"].update({"method": method, "path": path})
    return e


def test_the_layer_leaves_out_other_projects_test_folders(build: Path) -> None:
    # icalendar/tests (1.9 MiB) and recurring_ical_events/test (1.3 MiB) were shipped; the
    # built sync below still imports a calendar without them
    layer = build / "layer" / "python"
    assert (layer / "icalendar").is_dir() and (layer / "recurring_ical_events").is_dir()
    left = [
        str(p.relative_to(layer))
        for p in layer.rglob("*")
        if p.is_dir() and p.name in ("tests", "test") and "dist-info" not in str(p)
    ]
    assert left == []


# CPython 3.13's bytecode magic, and the header flags of an unchecked hash-based .pyc (bit 0:
# hash-based, no timestamp; bit 1 clear: the source is not re-hashed at import)
MAGIC_313 = (3571).to_bytes(2, "little") + b"\r\n"
UNCHECKED_HASH = 0b01


def test_every_module_ships_bytecode_for_the_runtimes_python_3_13(build: Path) -> None:
    # Lambda's /opt and /var/task are read-only: a module without its .pyc is compiled at
    # every cold start (issue 19)
    trees = {build / "layer" / "python": "/opt/python"}
    trees |= {build / name: "/var/task" for name in ("poller", "api", "sync")}
    missing, wrong = [], []
    for tree, lambda_root in trees.items():
        for source in tree.rglob("*.py"):
            pyc = source.parent / "__pycache__" / f"{source.stem}.cpython-313.pyc"
            if not pyc.is_file():
                missing.append(str(source.relative_to(build)))
                continue
            data = pyc.read_bytes()
            flags = int.from_bytes(data[4:8], "little")
            named = f"{lambda_root}/{source.relative_to(tree)}".encode()
            if data[:4] != MAGIC_313 or flags != UNCHECKED_HASH or named not in data:
                wrong.append(f"{pyc.relative_to(build)}: magic {data[:4]!r}, flags {flags}")
    assert missing == [], f"{len(missing)} modules without 3.13 bytecode, e.g. {missing[:5]}"
    assert wrong == [], wrong[:5]


def test_the_built_handlers_alert_acknowledge_and_show_the_dashboard(
    build: Path, moto: dict[str, str], announcement_page: str
) -> None:
    # GIVEN the stack's resources: table, key, verified sender, and a release 20 minutes late
    now = datetime.now(UTC)
    create_table(dynamodb_client(REGION), TABLE)
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name=moto["ACK_SECRET_PARAMETER"], Value=SECRET, Type="SecureString"
    )
    boto3.client("ses", region_name=REGION).verify_email_identity(EmailAddress=SENDER)
    release = make_release(due=now - timedelta(minutes=20), url=announcement_page)
    DynamoDBStore(TABLE).apply_releases([release.model_copy(update={"allow_loopback": True})], now)

    # WHEN the built poller runs, for both schedule event shapes
    reports = run_built(
        build, moto, "poller", [event("scheduler_invoke"), event("eventbridge_scheduled")]
    )
    assert reports[0]["checks"] >= 1 and reports[0]["errors"] == 0, reports

    # THEN the release is late and the SES email and SNS SMS arrived
    record = DynamoDBStore(TABLE).get_release("lms-2025-07")
    assert record is not None and record.state.value == "late"
    with urllib.request.urlopen(f"{moto['AWS_ENDPOINT_URL']}/moto-api/data.json") as answer:
        sent = json.load(answer)
    emails = [m["destinations"]["ToAddresses"][0] for m in sent["ses"].get("Message", [])]
    emails += [m["destinations"][0] for m in sent["ses"].get("RawMessage", [])]
    assert CONTACTS["stats_team"].email in emails
    texts = [m["message"] for m in sent["sns"]["SMS"] if m["phone_number"] == "+447700900101"]
    assert texts, sent["sns"]
    (ack_url,) = re.findall(re.escape(BASE) + r"(/a/[A-Za-z0-9_-]{44})", texts[0])

    # WHEN the built API handler answers health, status, the ack link and a dashboard link
    dashboard = issue_dashboard(TokenCodec(SECRET.encode()), now, timedelta(days=1))
    health, status, bare, listing, ack_form, ack_done = run_built(
        build,
        moto,
        "api",
        [
            event("function_url_health"),
            event("function_url_status"),
            url_event("GET", "/dashboard"),
            url_event("GET", f"/d/{dashboard}/"),
            url_event("GET", ack_url),
            url_event("POST", ack_url),
        ],
    )
    # THEN the poller's tick is fresh, the release is late, the dashboard needs its link
    assert health["statusCode"] == 200, health
    assert json.loads(status["body"])["releases"][0]["state"] == "late"
    assert bare["statusCode"] == 403
    assert listing["statusCode"] == 200 and "Labour market overview" in listing["body"]
    assert "@" not in listing["body"]
    assert ack_form["statusCode"] == 200 and "<form" in ack_form["body"]
    assert ack_done["statusCode"] == 200 and "Acknowledged" in ack_done["body"]
    events = DynamoDBStore(TABLE).events("lms-2025-07")
    assert [e.contact_id for e in events if e.kind.value == "acknowledged"] == ["web_publisher"]


def test_the_built_sync_imports_the_pushed_calendar(
    build: Path, moto: dict[str, str], tmp_path: Path
) -> None:
    from releasewatch.aws import pushed_config
    from releasewatch.aws.blobs import Documents
    from releasewatch.config.load import load_config

    # GIVEN a pushed config whose calendar is a CSV file beside it (no network needed)
    client = dynamodb_client(REGION)
    create_table(client, TABLE, wait=False)
    (tmp_path / "releases.csv").write_text(
        "id,title,url,due\nown-list,Our own list,https://example.org/stats/own,2098-07-21 09:30\n"
    )
    cfg = tmp_path / "rw.yaml"
    cfg.write_text(
        "defaults: {chain: default}\n"
        "contacts: {team: {name: Stats team, email: team@example.com}}\n"
        "chains: {default: [{after: 5m, notify: [team]}]}\n"
        "calendars: [{csv: releases.csv}]\n"
        "releases: []\n"
    )
    data = pushed_config.bundle(cfg, load_config(cfg))
    pushed_config.save(Documents(client, TABLE), data, datetime.now(UTC))
    # WHEN the built sync function runs on its schedule's event
    (summary,) = run_built(build, moto, "sync", [event("scheduler_invoke")])
    # THEN it imported the release with the layer alone (icalendar, holidays and all)
    assert summary["synced"] is True and summary["counts"] == {"add": 1}, summary
    store = DynamoDBStore(TABLE, client=client)
    assert [r.id for r in store.active_releases()] == ["own-list"]
