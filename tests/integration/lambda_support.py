"""Helpers for invoking the Lambda handlers in-process: a LambdaContext whose remaining time
follows an injected clock, event loading, and importing a handler module by path."""

from __future__ import annotations

import functools
import importlib.util
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from releasewatch.clock import Clock
from tests.aws_calls import RECORDER

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "tests" / "events"


def load_event(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / f"{name}.json").read_text())
    return event


@dataclass
class LambdaContext:
    """The attributes Powertools reads, with a deadline on the test's clock."""

    clock: Clock
    deadline: datetime
    function_name: str = "releasewatch-PollerFunction-0A1B2C3D"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = (
        "arn:aws:lambda:eu-west-2:123456789012:function:releasewatch-PollerFunction-0A1B2C3D"
    )
    aws_request_id: str = "0f9e8d7c-6b5a-4938-2716-05f4e3d2c1b0"
    log_group_name: str = "/aws/lambda/releasewatch-PollerFunction-0A1B2C3D"
    log_stream_name: str = "2025/07/17/[$LATEST]0123456789abcdef"
    remaining_seen: list[int] = field(default_factory=list)

    def get_remaining_time_in_millis(self) -> int:
        remaining = int((self.deadline - self.clock.now()).total_seconds() * 1000)
        self.remaining_seen.append(remaining)
        return max(0, remaining)


def import_handler(function: str) -> ModuleType:
    """Import functions/<function>/app.py afresh, under a unique module name (both are `app`
    in Lambda); environment variables must be set first: Powertools reads them at import.
    Its lambda_handler's AWS calls are recorded as the function's (tests/aws_calls.py)."""
    name = f"releasewatch_test_{function}_app"
    sys.modules.pop(name, None)
    spec = importlib.util.spec_from_file_location(name, ROOT / "functions" / function / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    # Its AWS calls are this function's: the IAM check (tests/conftest.py) judges them
    # against the function's role in template.yaml.
    handler = module.lambda_handler

    @functools.wraps(handler)
    def as_function(event: Any, context: Any) -> Any:
        with RECORDER.running(function):
            return handler(event, context)

    module.lambda_handler = as_function
    return module


def poller_env(table: str, sender: str, region: str = "eu-west-2") -> dict[str, str]:
    """The poller's environment as template.yaml sets it, on moto's fake credentials."""
    return {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "TABLE_NAME": table,
        "SENDER_EMAIL": sender,
        "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
        "POWERTOOLS_SERVICE_NAME": "releasewatch",
        "POWERTOOLS_METRICS_NAMESPACE": "Releasewatch",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
