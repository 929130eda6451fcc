"""The board's rendering cost: the first page in a fresh interpreter (Jinja2 imported and the
templates compiled then, never at the API handler's import), and every page after it, for a
busy release day (30 releases, 10 of them late with their ladders sent).

Printed figures, no timed assertions (TESTING.md)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

FIRST = """
import time
from tests.bench.bench_board import busy_day
web, now = busy_day()
t = time.perf_counter(); web.handle("GET", "/")
print((time.perf_counter() - t) * 1000)
"""


def busy_day():  # type: ignore[no-untyped-def]
    import asyncio

    from releasewatch.links.tokens import TokenCodec
    from releasewatch.service import Watchdog
    from releasewatch.web.app import WebApp
    from tests.factories import DUE, make_release
    from tests.fakes import FixedClock, InMemoryStore, RecordingNotifier, ScriptedProber
    from tests.unit.escalation_support import at

    clock = FixedClock(DUE - timedelta(minutes=20))
    store = InMemoryStore()
    releases = [
        make_release(f"r-{i:02d}", due=DUE + timedelta(minutes=30 * (i // 10)), title=f"R {i}")
        for i in range(30)
    ]
    store.apply_releases(releases, clock.now())
    live = {r.id: (lambda now, i=i: i >= 10 and now >= DUE) for i, r in enumerate(releases)}
    notifier = RecordingNotifier()
    dog = Watchdog(store, ScriptedProber(clock, live), {"email": notifier, "sms": notifier}, clock)
    while clock.now() < at(9, 45):
        asyncio.run(dog.tick())
        clock.advance(timedelta(seconds=30))
    return WebApp(store, TokenCodec(b"b" * 32), clock), clock.now()


def main() -> None:
    print("== Board: rendering (30 releases, 10 late) ==")
    firsts = []
    for _ in range(3):
        out = subprocess.run(
            [sys.executable, "-c", FIRST],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        firsts.append(float(out.stdout.strip().splitlines()[-1]))
    print(
        f"  first board page in a fresh interpreter (Jinja2 import + template compile): "
        f"median {statistics.median(firsts):.0f} ms"
    )
    web, _ = busy_day()
    web.handle("GET", "/")
    for path in ("/", "/r/r-00", "/api/releases"):
        times = []
        for _ in range(20):
            t = time.perf_counter()
            web.handle("GET", path)
            times.append((time.perf_counter() - t) * 1000)
        print(f"  {path}: median {statistics.median(times):.1f} ms per page after the first")


if __name__ == "__main__":
    main()
