"""The lock is the truth (issue 15): uv.lock pins every dependency with hashes, the environment
the tests run in is exactly what it says, and the Lambda layer's pins are generated from it.

A fresh clone next year must install the same bytes that were tested today: with version ranges
and no lock, a dependency's new release once turned CI red on a commit that touched nothing.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tools.layer_requirements import normalise, read_pins, render

ROOT = Path(__file__).resolve().parents[2]
UV = ROOT / ".uv" / "bin" / "uv"


@pytest.fixture(scope="module")
def uv() -> Path:
    # make test installs it (tools/uv-requirements.txt); without it nothing here can be checked
    assert UV.exists(), "the lock's uv is missing: run `make test`, which installs it into .uv/"
    return UV


def _uv(uv: Path, *args: str) -> str:
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    done = subprocess.run(
        [str(uv), *args, "--offline", "--project", str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_lock_agrees_with_pyproject(uv: Path) -> None:
    # a dependency added to pyproject.toml without `make lock` would install from a range
    _uv(uv, "lock", "--check")


def test_every_package_in_the_lock_is_pinned_with_hashes() -> None:
    lock = tomllib.loads((ROOT / "uv.lock").read_text())
    unhashed = []
    for package in lock["package"]:
        if package["source"].get("editable") or package["source"].get("virtual"):
            continue  # the project itself
        files = package.get("wheels", []) + ([package["sdist"]] if "sdist" in package else [])
        if not files or not all(f.get("hash", "").startswith("sha256:") for f in files):
            unhashed.append(package["name"])
    assert unhashed == []
    # the bootstrap uv, installed with pip before anything else, is hash-pinned too
    uv_pins = (ROOT / "tools" / "uv-requirements.txt").read_text()
    assert "uv==" in uv_pins and "--hash=sha256:" in uv_pins
    assert (
        f'required-version = "=={read_pins(uv_pins)["uv"]}"'
        in (ROOT / "pyproject.toml").read_text()
    )


def test_the_installed_environment_is_exactly_the_lock(uv: Path) -> None:
    # runtime and test tools, as `make test` syncs them: no extra, no missing, no other version
    wanted: dict[str, str] = {}
    for line in _uv(uv, "export", "--locked", "--no-emit-project", "--no-hashes").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        requirement = Requirement(line)
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue  # another platform's or Python's dependency
        (specifier,) = requirement.specifier
        wanted[normalise(requirement.name)] = specifier.version
    installed = {
        normalise(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
        if normalise(dist.metadata["Name"]) != "releasewatch"
    }
    extra = {name: version for name, version in installed.items() if name not in wanted}
    missing = {name: version for name, version in wanted.items() if name not in installed}
    other = {
        name: (installed[name], version)
        for name, version in wanted.items()
        if name in installed and installed[name] != version
    }
    assert (extra, missing, other) == ({}, {}, {})
    assert len(wanted) > 50  # the dev tools are in it: a trivially empty export cannot pass


def test_the_layer_pins_are_generated_from_the_lock(uv: Path) -> None:
    # shared/requirements.txt is what `make lock` writes now: never edited by hand, never stale
    assert (ROOT / "shared" / "requirements.txt").read_text() == render(uv), (
        "shared/requirements.txt differs from uv.lock: run `make lock`"
    )


def test_the_layer_pins_exactly_what_it_ships_and_no_second_botocore() -> None:
    # A loose range lets a rebuild ship untested versions; the [tracer] extra shipped
    # aws-xray-sdk and its own botocore, which shadows the runtime's and drifts from its boto3.
    text = (ROOT / "shared" / "requirements.txt").read_text()
    pins = read_pins(text)
    # every pin carries its wheels' hashes, so pip and uv refuse other bytes
    assert text.count("--hash=sha256:") >= len(pins)
    # Everything an install of these brings (their non-optional dependencies) is pinned too...
    closure, todo = set(), list(pins)
    while todo:
        dist = todo.pop()
        if dist in closure:
            continue
        closure.add(dist)
        for requirement in importlib.metadata.requires(dist) or []:
            # Only what installs here: no extras, no other Python's backports.
            marker = Requirement(requirement).marker
            if marker is not None and not marker.evaluate({"extra": ""}):
                continue
            todo.append(normalise(Requirement(requirement).name))
    assert closure == set(pins)
    # ...at the versions the tests ran with
    for name, version in pins.items():
        assert importlib.metadata.version(name) == version, name
    # ...and the runtime's boto3/botocore pair is the only one
    assert not {"boto3", "botocore", "s3transfer", "aws-xray-sdk"} & set(pins)


def test_the_runtime_install_leaves_the_test_tools_out(uv: Path) -> None:
    # `make run` syncs without the dev group: the demo does not wait for moto, mypy or Playwright
    runtime = _uv(uv, "export", "--locked", "--no-dev", "--no-emit-project", "--no-hashes")
    names = {normalise(Requirement(line).name) for line in runtime.splitlines() if "==" in line}
    assert {"httpx", "pydantic", "boto3", "jinja2"} <= names
    assert not {"pytest", "moto", "mypy", "playwright", "cfn-lint", "mkdocs"} & names
    assert sys.prefix != sys.base_prefix  # the tests themselves run in the project's venv
