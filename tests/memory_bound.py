"""How much a block of code raised the process's peak memory, measured from the block's start.

The tests that bound parsers' memory once compared the process's lifetime peak (ru_maxrss) with
a baseline taken at their module's first test. `make test` interleaves modules on each worker, so
a heavy test of another module that ran in between (300 releases on moto, the simulated year)
was blamed on the parser. Here the kernel's peak counter is reset at the block's start
(/proc/self/clear_refs, "5": VmHWM back to the current RSS), so the peak read at its end is the
block's own. tracemalloc would be exact, but slows parsing eightfold and so spoils time bounds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

STATUS = Path("/proc/self/status")
CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(field: str) -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in {STATUS}")


@contextmanager
def peak_growth_kb() -> Iterator[list[int]]:
    """with peak_growth_kb() as grown: ...; then grown[0] is the peak over the block, in KB,
    above the resident memory at its start (Linux)."""
    CLEAR_REFS.write_text("5")
    start = _status_kb("VmRSS")
    grown: list[int] = []
    yield grown
    grown.append(_status_kb("VmHWM") - start)
