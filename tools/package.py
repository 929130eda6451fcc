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

Every module is compiled to bytecode for the runtime's Python (`__pycache__/*.cpython-313.pyc`,
`--invalidation-mode unchecked-hash`: no timestamps, so the same sources give the same files),
because Lambda's /opt and /var/task are read-only: without it every cold start compiles every
module it imports. That takes a CPython 3.13 on this machine (`--bytecode-python`, or $PYTHON313,
else the first found: python3.13 on PATH, pyenv's, uv's); without one the package is built
with a warning and no bytecode. `--native` changes the wheels, not the bytecode's Python.

It prints each function's unzipped size with the layer, against Lambda's 250 MB limit, and
exits 1 when one is over. Stdlib only: it runs with any python3.
"""

from __future__ import annotations

import argparse
import glob
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
# CPython 3.13's bytecode magic number (every 3.13 release): a pre-release with another one
# would write files the runtime ignores.
MAGIC_313 = (3571).to_bytes(2, "little") + b"\r\n"
# Where Lambda puts the layer and the function's code: the paths tracebacks show.
LAYER_ROOT, TASK_ROOT = "/opt/python", "/var/task"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "package")
    parser.add_argument("--native", action="store_true", help="for this machine and Python (tests)")
    parser.add_argument("--python", default=sys.executable, help="the Python to install for")
    parser.add_argument("--uv", default=os.environ.get("UV", str(UV)), help="the uv to run")
    parser.add_argument(
        "--bytecode-python",
        default=os.environ.get("PYTHON313"),
        help="a CPython 3.13 to compile the bytecode with (default: $PYTHON313, or found)",
    )
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

    compiler = args.bytecode_python or find_python313()
    if compiler is None:
        print(
            "warning: no CPython 3.13 found (python3.13 on PATH, pyenv, uv): the package has no "
            "bytecode, so Lambda compiles every module it imports at each cold start; install "
            "one or pass --bytecode-python",
            file=sys.stderr,
        )
    else:
        problem = compile_bytecode(compiler, out)
        if problem:
            print(problem, file=sys.stderr)
            return 1

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


def find_python313() -> str | None:
    """A CPython 3.13 on this machine, or None. pyenv's shims answer for every version but
    fail for one not selected, so each candidate is run to see what it is."""
    candidates = [shutil.which("python3.13")]
    pyenv = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(glob.glob(str(pyenv / "versions" / "3.13.*" / "bin" / "python3.13")))
    if UV.exists():  # uv's own Pythons (`uv python install 3.13`), never a download
        found = subprocess.run(  # noqa: S603 (our own argument list)
            [str(UV), "python", "find", "--no-project", "3.13"],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"},
        )
        if found.returncode == 0:
            candidates.append(found.stdout.strip())
    for candidate in candidates:
        if candidate and _is_cpython313(candidate):
            return candidate
    return None


def _is_cpython313(python: str) -> bool:
    probe = "import sys, platform; print(platform.python_implementation(), *sys.version_info[:2])"
    try:
        done = subprocess.run(  # noqa: S603 (our own argument list)
            [python, "-c", probe], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return False
    return done.returncode == 0 and done.stdout.split() == ["CPython", "3", "13"]


def compile_bytecode(python: str, out: Path) -> str | None:
    """Compile the layer and each function with `python`, each file named by the path Lambda
    will load it from; None, or what went wrong."""
    write = "import importlib.util, sys; sys.stdout.buffer.write(importlib.util.MAGIC_NUMBER)"
    magic = subprocess.run(  # noqa: S603 (our own argument list)
        [python, "-c", write], capture_output=True, check=False
    ).stdout
    if magic != MAGIC_313:
        return f"{python} writes bytecode magic {magic!r}, not CPython 3.13's {MAGIC_313!r}"
    trees = [(out / "layer" / "python", LAYER_ROOT)]
    trees += [(out / name, TASK_ROOT) for name in FUNCTIONS]
    for tree, lambda_root in trees:
        command = [python, "-m", "compileall", "-q", "-j", "0"]
        command += ["--invalidation-mode", "unchecked-hash", "-s", str(tree), "-p", lambda_root]
        done = subprocess.run(  # noqa: S603 (our own argument list)
            [*command, str(tree)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            return f"compiling {tree} with {python} failed:\n{(done.stdout + done.stderr)[-2000:]}"
    print(f"bytecode: compiled with {python} (unchecked-hash)")
    return None


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
