"""`releasewatch run` as a user starts it (its board on a free port), for tests that watch its
output as it comes: started, read line by line until what a test waits for, stopped at the end
with everything it printed kept."""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

BIN = Path(sys.executable).parent / "releasewatch"


@dataclass
class Run:
    proc: subprocess.Popen[str]
    printed: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        """Everything read so far (after the `with`, everything it printed)."""
        return "".join(self.printed)

    def until(self, wanted: str, seconds: float) -> bool:
        """Read until a line holds `wanted` (True) or `seconds` have passed (False)."""
        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if not sel.select(timeout=0.2):
                continue
            line = self.proc.stdout.readline()
            if not line:
                break
            self.printed.append(line)
            if wanted in line:
                return True
        return False


@contextmanager
def running(config: Path, db: Path) -> Iterator[Run]:
    proc = subprocess.Popen(
        [str(BIN), "run", "--config", str(config), "--db", str(db), "--web-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    run = Run(proc)
    try:
        yield run
    finally:
        proc.terminate()
        rest, _ = proc.communicate(timeout=30)
        run.printed.append(rest)
