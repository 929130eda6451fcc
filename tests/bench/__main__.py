"""Run every benchmark in this folder: each bench_*.py module's main(), in name order."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    folder = Path(__file__).parent
    names = sorted(
        m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("bench_")
    )
    for name in names:
        module = importlib.import_module(f"{__package__}.{name}")
        module.main()


if __name__ == "__main__":
    main()
