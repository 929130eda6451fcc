"""Build what `sam build` builds, without Docker or the runtime's Python: `make package`.

    build/package/layer/python/    shared/requirements.txt (pinned) + the releasewatch package
    build/package/poller/          functions/poller/ (CodeUri; it has no requirements of its own)
    build/package/api/             functions/api/
    build/package/sync/            functions/sync/ (the calendar sync)

shared/requirements.txt is generated from uv.lock (tools/layer_requirements.py) with every
wheel's hash, and the lock's own uv installs it, hashes required. By default for the template's
runtime and architecture (python3.13, arm64): uv fetches manylinux2014 aarch64 CPython 3.13
wheels (`--python-platform --python-version --only-binary :all:`), so no Python 3.13 is needed
here. `--native` builds for this machine and
this Python instead (what tests/infrastructure/test_package.py imports and runs).

It prints each function's unzipped size with the layer, against Lambda's 250 MB limit, and
exits 1 when one is over. Stdlib only: it runs with any python3.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 250 * 1024 * 1024  # Lambda: function + all its layers, unzipped (262,144,000 bytes)
FUNCTIONS = ("poller", "api", "sync")
RUNTIME_PYTHON = "3.13"  # template.yaml Globals: Runtime python3.13
PLATFORM = "aarch64-manylinux2014"  # Architectures: [arm64]
UV = ROOT / ".uv" / "bin" / "uv"  # the lock's own uv (tools/uv-requirements.txt, `make`)
_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".mypy_cache")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "package")
    parser.add_argument("--native", action="store_true", help="for this machine and Python (tests)")
    parser.add_argument("--python", default=sys.executable, help="the Python to install for")
    parser.add_argument("--uv", default=os.environ.get("UV", str(UV)), help="the uv to run")
    args = parser.parse_args(argv)
    out: Path = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    layer = out / "layer" / "python"
    layer.mkdir(parents=True)

    if not Path(args.uv).exists():
        print(f"{args.uv} is missing: `make package` installs it", file=sys.stderr)
        return 1
    install = [args.uv, "pip", "install", "--quiet", "--python", args.python, "--require-hashes"]
    install += ["--target", str(layer), "-r", str(ROOT / "shared/requirements.txt")]
    if not args.native:
        install += ["--python-platform", PLATFORM, "--python-version", RUNTIME_PYTHON]
        install += ["--only-binary", ":all:"]
    print(f"layer: uv pip install -r shared/requirements.txt ({_target(args.native)})")
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    done = subprocess.run(install, check=False, env=env)  # noqa: S603 (our own argument list)
    if done.returncode != 0:
        print("uv pip install failed: nothing built", file=sys.stderr)
        return done.returncode
    # bin/ holds console scripts whose #! names this machine's Python: not for Lambda.
    shutil.rmtree(layer / "bin", ignore_errors=True)
    dropped = drop_test_folders(layer)
    print(f"layer: left out other projects' test folders ({_mib(dropped)})")
    shutil.copytree(ROOT / "shared" / "releasewatch", layer / "releasewatch", ignore=_SKIP)
    for name in FUNCTIONS:
        shutil.copytree(ROOT / "functions" / name, out / name, ignore=_SKIP)

    layer_size = _size(out / "layer")
    print(f"layer: {_mib(layer_size)} unzipped in {out / 'layer'}")
    over = False
    for name in FUNCTIONS:
        total = layer_size + _size(out / name)
        share = 100 * total / LIMIT
        print(f"{name}: {_mib(total)} with the layer, {share:.0f} % of Lambda's 250 MB limit")
        over = over or total > LIMIT
    if over:
        print("over Lambda's 250 MB unzipped limit: the deploy would fail", file=sys.stderr)
        return 1
    return 0


# Other projects' own test suites (icalendar/tests 1.9 MiB, recurring_ical_events/test 1.3 MiB):
# nothing imports them at run time, and they would be unzipped into every cold container.
TEST_FOLDERS = ("tests", "test")


def drop_test_folders(layer: Path) -> int:
    """Remove the test folders inside the installed packages; the bytes removed."""
    removed = 0
    for package in sorted(p for p in layer.iterdir() if p.is_dir()):
        if package.name.endswith((".dist-info", ".data")) or package.name == "releasewatch":
            continue
        for folder in sorted(package.rglob("*")):
            if folder.is_dir() and folder.name in TEST_FOLDERS and folder.exists():
                removed += _size(folder)
                shutil.rmtree(folder)
    return removed


def _target(native: bool) -> str:
    if native:
        return f"this machine, Python {sys.version_info.major}.{sys.version_info.minor}"
    return f"{PLATFORM}, CPython {RUNTIME_PYTHON}"


def _size(path: Path) -> int:
    total = 0
    for folder, _, files in os.walk(path):
        for name in files:
            total += (Path(folder) / name).lstat().st_size
    return total


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"


if __name__ == "__main__":
    sys.exit(main())
