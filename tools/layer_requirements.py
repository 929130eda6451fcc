"""The Lambda layer's pins, shared/requirements.txt, generated from uv.lock (`make lock`).

`sam build` and `make package` install the layer from that file, so it must say exactly what the
lock says for the runtime dependencies: same versions, same hashes. It is never edited by hand:
`make lock` rewrites it, and tests/infrastructure/test_lock.py fails when it differs from what
this script would write now.

Left out: the project itself (copied into the layer as source) and the boto3/botocore pair with
what only they need, which the Lambda runtime provides matched to each other; a second botocore
in the layer would shadow the runtime's and drift from its boto3.

    python3 tools/layer_requirements.py --uv .uv/bin/uv --write   # rewrite the file
    python3 tools/layer_requirements.py --uv .uv/bin/uv --check   # exit 1 when it differs

Stdlib only: it runs with any python3.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "shared" / "requirements.txt"
DEFAULT_UV = ROOT / ".uv" / "bin" / "uv"
# Provided by the Lambda runtime beside the layer (boto3 and what only it needs).
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "urllib3")

HEADER = """\
# GENERATED from uv.lock by tools/layer_requirements.py (`make lock`): do not edit by hand.
# What the Lambda layer ships (sam build and `make package` install this file, hashes checked,
# and copy shared/releasewatch beside it): every runtime dependency in the lock, exact and
# hashed. No boto3 or botocore: the Lambda runtime provides that pair, matched to each other.
"""


def render(uv: Path | str = DEFAULT_UV) -> str:
    """The file's text as the lock says it should be now."""
    command = [str(uv), "export", "--locked", "--no-dev", "--no-emit-project", "--no-header"]
    command += ["--format", "requirements-txt", "--quiet", "--project", str(ROOT)]
    for name in RUNTIME_PROVIDED:
        command += ["--no-emit-package", name]
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    done = subprocess.run(command, capture_output=True, text=True, check=False, env=env)  # noqa: S603
    if done.returncode != 0:
        raise SystemExit(f"uv export failed:\n{done.stderr}")
    return HEADER + done.stdout


def read_pins(text: str) -> dict[str, str]:
    """{normalised name: version} of a requirements file with hashes and markers."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "--")):
            continue
        match = re.match(r"([A-Za-z0-9_.\-]+)==([A-Za-z0-9_.+!\-]+)", stripped)
        if match is None:
            raise ValueError(f"not an exact pin: {stripped}")
        pins[normalise(match.group(1))] = match.group(2)
    return pins


def normalise(name: str) -> str:
    """PEP 503's normal form of a distribution name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uv", default=str(DEFAULT_UV), help="the uv to run (default .uv/bin/uv)")
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite shared/requirements.txt")
    mode.add_argument("--check", action="store_true", help="exit 1 when it differs from the lock")
    args = parser.parse_args(argv)
    wanted = render(args.uv)
    if args.write:
        TARGET.write_text(wanted)
        print(f"wrote {TARGET.relative_to(ROOT)}: {len(read_pins(wanted))} pins from uv.lock")
        return 0
    current = TARGET.read_text()
    if current == wanted:
        return 0
    diff = difflib.unified_diff(
        current.splitlines(), wanted.splitlines(), "shared/requirements.txt", "from uv.lock"
    )
    print("\n".join(diff), file=sys.stderr)
    print("shared/requirements.txt differs from uv.lock: run `make lock`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
