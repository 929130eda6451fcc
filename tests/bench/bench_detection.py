"""Detection latency: pages on 127.0.0.1 flip live at random moments; how long until the store
says `live`? Target: p95 <= one hot-window poll interval + 1 s (default interval 10 s).

Real time, real HTTP, real SQLite: 20 releases due now, each flipping at a random moment in
the next 30 s, watched by one local runner with the default cadence.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from releasewatch.bootstrap import build_watchdog
from releasewatch.clock import SystemClock
from releasewatch.local.runner import run_loop
from releasewatch.model import Chain, Contact, LiveRule, Release, Step
from releasewatch.store.sqlite import SQLiteStore

RELEASES = 20
WINDOW_S = 30.0


def main() -> None:
    rng = random.Random(20251125)
    start_mono = time.monotonic()
    flips = {f"r{i}": start_mono + 2 + rng.uniform(0, WINDOW_S) for i in range(RELEASES)}

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            rid = self.path.split("?")[0].strip("/")
            live = time.monotonic() >= flips.get(rid, float("inf"))
            body = b"<h1>Published statistics</h1>" if live else b"not yet"
            self.send_response(200 if live else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    clock = SystemClock()
    due = clock.now() + timedelta(seconds=1)
    contact = Contact(id="team", name="Team", email="team@example.com")
    chain = Chain(id="c", steps=(Step(after=timedelta(hours=5), notify=("team",)),))
    releases = [
        Release(
            id=rid,
            title=rid,
            url=f"{base}/{rid}",
            due=due,
            chain=chain,
            contacts={"team": contact},
            rule=LiveRule(contains=("Published statistics",)),
            allow_loopback=True,
        )
        for rid in flips
    ]
    detected: dict[str, float] = {}

    def observe(what: str, payload: object) -> None:
        if what == "state" and isinstance(payload, tuple) and payload[0].state.is_live:
            detected.setdefault(payload[0].id, time.monotonic())

    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        store.apply_releases(releases, datetime.now(UTC))
        dog = build_watchdog(store, {}, clock, observers=[observe])

        async def run() -> None:
            stop = asyncio.Event()

            def done(_report: object) -> bool:
                return len(detected) < RELEASES and time.monotonic() < start_mono + WINDOW_S + 30

            try:
                await run_loop(dog, stop=stop, ceiling=timedelta(seconds=1), on_tick=done)  # type: ignore[arg-type]
            finally:
                await dog.prober.aclose()

        asyncio.run(run())
        store.close()
    server.shutdown()
    latencies = sorted(detected[r] - flips[r] for r in detected)
    interval = releases[0].cadence.hot.total_seconds()
    p95 = latencies[int(0.95 * (len(latencies) - 1))] if latencies else float("nan")
    print(
        f"bench_detection: {len(latencies)}/{RELEASES} flips detected, hot interval {interval:g} s"
    )
    if latencies:
        print(f"  median {statistics.median(latencies):6.2f} s")
        verdict = "ok" if p95 <= interval + 1 else "MISSED"
        print(f"  p95    {p95:6.2f} s   (target <= {interval + 1:g} s: {verdict})")
        print(f"  max    {latencies[-1]:6.2f} s")


if __name__ == "__main__":
    main()
