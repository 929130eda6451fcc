"""Run every benchmark in this folder: each bench_*.py module's main(), in name order, each in a
fresh interpreter so that one benchmark's imports and peak memory do not skew another's."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path


def main() -> None:
    folder = Path(__file__).parent
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("bench_")
    )
    failed = []
    for name in names:
        module = f"{__package__}.{name}"
        code = f"import {module} as bench; bench.main()"
        if subprocess.run([sys.executable, "-c", code], check=False).returncode != 0:
            failed.append(name)
    print("(the whole system over a simulated year, which takes minutes: make year)")
    if failed:
        sys.exit(f"benchmarks that failed to run: {', '.join(failed)}")


if __name__ == "__main__":
    main()
