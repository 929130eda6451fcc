"""A newcomer's first `make run` (issue 15): a fresh clone of this checkout's HEAD, empty pip and
uv caches, and the seconds until the demo prints its first line (target: under 30 s on this
2-core machine). It needs the package index, as a newcomer's machine does; the index's speed is
part of the figure, so run it twice when a number looks odd.

Printed figures, no timed assertions (TESTING.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TARGET_S = 30.0


def first_run(workdir: Path) -> tuple[float, float, str]:
    """(seconds to the demo's first line, seconds to the end of the install, that line)."""
    clone = workdir / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    env = {
        **os.environ,
        "PIP_NO_CACHE_DIR": "1",
        "UV_CACHE_DIR": str(workdir / "uv-cache"),
        "TMPDIR": str(workdir),
    }
    env.pop("VIRTUAL_ENV", None)
    start = time.perf_counter()
    make = subprocess.Popen(
        ["make", "run"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    assert make.stdout is not None
    installed = 0.0
    try:
        for line in make.stdout:
            if line.startswith(".venv/bin/releasewatch"):
                installed = time.perf_counter() - start  # make echoes the command it starts
                continue
            if installed and line.strip():
                return time.perf_counter() - start, installed, line.rstrip()
        raise RuntimeError(f"make run ended (exit {make.wait()}) before the demo printed")
    finally:
        os.killpg(make.pid, 15)
        make.wait()


def main() -> None:
    if shutil.which("git") is None or shutil.which("make") is None:
        sys.exit("bench_first_run needs git and make")
    with tempfile.TemporaryDirectory(prefix="rw-first-run-") as folder:
        total, installed, line = first_run(Path(folder))
        packages = len(
            list((Path(folder) / "clone/.venv/lib").glob("python*/site-packages/*.dist-info"))
        )
    verdict = "within" if total <= TARGET_S else "OVER"
    print(
        f"first `make run` on a fresh clone, empty caches: demo's first line after {total:.1f} s "
        f"({verdict} the {TARGET_S:.0f} s target); install done at {installed:.1f} s, "
        f"{packages} packages"
    )
    print(f"  first line: {line[:100]}")


if __name__ == "__main__":
    main()
