"""The IAM check, for every test: the AWS calls a Lambda handler made during the test
(tests/aws_calls.py records them) must be allowed by the statements template.yaml gives that
function's role (tests/iam_check.py), or the test fails naming the call and the statement it
needs. At the end, the permissions no recorded call used are listed (with xdist, gathered from
every worker), so the roles shrink as well as grow."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from tests import iam_check, moto_speed
from tests.aws_calls import RECORDER

RECORDER.install()
moto_speed.install()
_USED: set[tuple[str, str, str, str]] = set()
_DIR_KEY = "iam_used_dir"
_dir = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None:
        config.stash[_dir] = tempfile.mkdtemp(prefix="releasewatch-iam-")
    else:
        config.stash[_dir] = workerinput[_DIR_KEY]


def pytest_configure_node(node: Any) -> None:  # xdist: tell each worker where to write
    node.workerinput[_DIR_KEY] = node.config.stash[_dir]


@pytest.fixture(autouse=True)
def _fresh_aws_clients() -> None:
    """One botocore session and one SSM client (with its 5-minute cache of values) per process,
    as in a Lambda container: ones made inside an earlier test's moto mock would reach for the
    real endpoint, or answer with that test's values, in a later test."""
    import gc

    from releasewatch.aws import clients, secure_parameters

    clients.reset()
    secure_parameters.PARAMETERS.clear()
    # what an earlier test's Lazy build froze (releasewatch/aws/lazy.py), its garbage included,
    # goes back to the collector: a Lambda container builds once, a test run hundreds of times
    gc.unfreeze()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Generator[None, None, None]:
    """Fake credentials in region eu-west-2 and moto's in-process AWS, for the test's length.
    Clients must be made inside it (ones made before it would try real AWS)."""
    from moto import mock_aws

    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-2",
        "AWS_REGION": "eu-west-2",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    RECORDER.take()  # calls from an earlier test's teardown are not this test's


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    yield
    calls = RECORDER.take()
    if calls:
        verdict = iam_check.judge(calls)
        _USED.update(verdict.used)
        # A test may send what the role must refuse (a sender other than SenderEmail): those
        # denials are expected, and must happen.
        expected = {a for m in item.iter_markers("iam_refuses") for a in m.args}
        unexpected = [d for d in verdict.denied if not any(f" may not {a} " in d for a in expected)]
        for action in expected:
            if not any(f" may not {action} " in d for d in verdict.denied):
                unexpected.append(f"the role allowed {action}, which the test says it refuses")
        if unexpected:
            verdict.denied = unexpected
            pytest.fail(verdict.message(), pytrace=False)


def pytest_sessionfinish(session: pytest.Session) -> None:
    name = os.environ.get("PYTEST_XDIST_WORKER", "main")
    out = Path(session.config.stash[_dir]) / f"{name}.json"
    out.write_text(json.dumps(sorted(_USED)))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    used: set[tuple[str, str, str, str]] = set()
    for path in Path(config.stash[_dir]).glob("*.json"):
        used.update(tuple(u) for u in json.loads(path.read_text()))
    if not used:
        return
    lines = iam_check.unused_report(used)
    if lines:
        terminalreporter.section("IAM permissions no handler call in this run used")
        for line in lines:
            terminalreporter.line(line)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `slow` first (collection order kept within each group): `make test` hands
    them to the workers two at a time in this order (--dist load --maxschedchunk 2), so the
    long ones start at once, spread over the cores, and the short ones fill the gaps, rather
    than one long test left running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
