"""A Lambda cold start loads only what the invocation uses (issue 19): each handler is imported
in a fresh interpreter, then invoked once against moto server on 127.0.0.1, and the heavy
libraries it has no use for must not be in sys.modules, after the import nor after the first
invocation. Each one loaded by mistake costs tens of ms of every cold start (tests/bench)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from releasewatch.store.dynamodb_table import create_table
from tests.aws_calls import RECORDER
from tests.aws_calls import load as load_calls

ROOT = Path(__file__).resolve().parents[2]
REGION = "eu-west-2"
TABLE = "releasewatch-cold"
RECORDER_FILE = str(ROOT / "tests" / "aws_calls.py")

# Notify's client (PyJWT, cryptography), the calendar parsers, YAML, the board's templates, the
# HTTP prober and webhook client (httpx, selectolax; lxml, python-docx's): none is needed by a
# tick with nothing to probe or send, nor by the API's health check. Nor is boto3 (with
# s3transfer) by any: the clients are botocore's (releasewatch/aws/clients.py).
HEAVY = (
    "boto3",
    "s3transfer",
    "cryptography",
    "jwt",
    "icalendar",
    "recurring_ical_events",
    "jinja2",
    "yaml",
    "httpx",
    "httpcore",
    "lxml",
    "selectolax",
)
# pydantic and the core it validates: an idle tick finds nothing due, so the poller never makes
# its watchdog (service, policy, the models, the notifiers: aws/poller.py), and the settings
# and the store's reads need no model; the health check reads only the heartbeat. Together
# they were ~0.1 s of each cold start (issue 19).
CORE = (
    "pydantic",
    "pydantic_core",
    "releasewatch.model",
    "releasewatch.service",
    "releasewatch.policy",
    "releasewatch.bootstrap",
    "releasewatch.notify",
    "releasewatch.store.base",
)
NOT_LOADED = HEAVY + CORE

# Runs in the fresh interpreter, in functions/<name>: prints which of NOT_LOADED were loaded
# after `import app` and after the first invocation (with `event`, if given). AWS calls are
# recorded (tests/aws_calls.py, loaded by path) for the IAM check.
DRIVER = """
import importlib.util, json, sys
heavy, event_file, recorder_file, calls_file = json.loads(sys.argv[1]), *sys.argv[2:5]
spec = importlib.util.spec_from_file_location("aws_calls", recorder_file)
aws_calls = importlib.util.module_from_spec(spec)
sys.modules["aws_calls"] = aws_calls
spec.loader.exec_module(aws_calls)
aws_calls.RECORDER.install()

def loaded():
    return sorted({h for h in heavy for m in sys.modules if m == h or m.startswith(h + ".")})

import app
out = {"import": loaded()}

class Context:
    function_name = "releasewatch-cold"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-2:123456789012:function:releasewatch-cold"
    aws_request_id = "0f9e8d7c-6b5a-4938-2716-05f4e3d2c1b0"
    def get_remaining_time_in_millis(self):
        return 15_000

if event_file:
    with aws_calls.RECORDER.running(sys.argv[5]):
        out["result"] = app.lambda_handler(json.load(open(event_file)), Context())
    out["first"] = loaded()
aws_calls.RECORDER.dump(calls_file)
print(json.dumps(out, default=str))
"""


@pytest.fixture(scope="module")
def moto_env() -> Iterator[dict[str, str]]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "TABLE_NAME": TABLE,
        "SENDER_EMAIL": "releasewatch@example.com",
        "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
        "ACK_BASE_URL": "https://abc.lambda-url.eu-west-2.on.aws/",
        "SMS_MONTHLY_SPEND_LIMIT_USD": "1",
        "SMS_SPEND_ALARM_PERCENT": "80",
        "POWERTOOLS_SERVICE_NAME": "releasewatch",
        "POWERTOOLS_METRICS_NAMESPACE": "Releasewatch",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
    }
    # moto's state is per process, shared with earlier tests' servers and mocks: start empty
    reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(reset).close()
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    create_table(session.client("dynamodb", endpoint_url=endpoint), TABLE)
    session.client("ssm", endpoint_url=endpoint).put_parameter(
        Name=env["ACK_SECRET_PARAMETER"], Value="cold-start-key-" * 3, Type="SecureString"
    )
    try:
        yield env
    finally:
        server.stop()


def first_invocation(
    function: str, env: dict[str, str], event: str | None, tmp_path: Path
) -> dict[str, Any]:
    """What a fresh interpreter loaded after `import app`, and after one invocation."""
    event_file = ""
    if event is not None:
        event_file = str(tmp_path / "event.json")
        Path(event_file).write_text((ROOT / "tests" / "events" / f"{event}.json").read_text())
    calls_file = tmp_path / "calls.json"
    recording = (RECORDER_FILE, str(calls_file))
    done = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(NOT_LOADED), event_file, *recording, function],
        cwd=ROOT / "functions" / function,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT / "shared"), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    RECORDER.calls.extend(load_calls(str(calls_file)))  # judged when the test ends
    out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def test_the_pollers_idle_tick_loads_no_heavy_library(
    moto_env: dict[str, str], tmp_path: Path
) -> None:
    out = first_invocation("poller", moto_env, "scheduler_invoke", tmp_path)
    assert out["result"]["ticks"] == 1 and out["result"]["ack_links"], out["result"]
    assert out["import"] == [], f"importing the poller's handler loaded {out['import']}"
    assert out["first"] == [], f"the poller's first idle tick loaded {out['first']}"


def test_the_apis_health_check_loads_no_heavy_library(
    moto_env: dict[str, str], tmp_path: Path
) -> None:
    out = first_invocation("api", moto_env, "function_url_health", tmp_path)
    assert "statusCode" in out["result"], out["result"]
    assert out["import"] == [], f"importing the API's handler loaded {out['import']}"
    assert out["first"] == [], f"the API's first health check loaded {out['first']}"


def test_the_sync_handler_imports_no_heavy_library(
    moto_env: dict[str, str], tmp_path: Path
) -> None:
    # Only its import: a real sync reads a pushed config (YAML) and its calendars, so its
    # first invocation needs most of these.
    out = first_invocation("sync", moto_env, None, tmp_path)
    assert out["import"] == [], f"importing the sync's handler loaded {out['import']}"
