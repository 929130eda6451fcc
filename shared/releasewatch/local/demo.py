"""The local demo: the incident from DESIGN.md replayed in about a minute.

A release is due at 09:30; a page server on 127.0.0.1 plays GOV.UK: 404 at first, then the
announcement, and the publication only at 12:00. A CDN in front of it keeps serving a stale 404
to any request that does not bust the cache. The watchdog polls with a clock running ~180x
faster than real time, escalates along the default chain, and prints everything it does. At
11:40 the on-call web publisher opens the acknowledge link in their latest SMS (GET: a
confirmation page, nothing recorded) and presses the button (POST: recorded; the others are
told). It ends with the breach report.
"""

from __future__ import annotations

import json
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from ..clock import Clock
from ..config.load import Config, parse_config
from ..timefmt import LONDON

DEMO_DUE = datetime(2025, 7, 17, 9, 30, tzinfo=LONDON)
DEMO_START = datetime(2025, 7, 17, 9, 12, tzinfo=LONDON)
ANNOUNCED_AT = datetime(2025, 7, 17, 9, 20, tzinfo=LONDON)
LIVE_AT = datetime(2025, 7, 17, 12, 0, tzinfo=LONDON)
SPEED = 180.0
PATH = "/government/statistics/labour-market-overview-uk-july-2025"
TITLE = "Labour market overview, UK: July 2025"

DEMO_CONFIG = """\
# The demo's config: the default chain from DESIGN.md, one release, a page on 127.0.0.1.
local_mode: true
defaults:
  producer: Office for National Statistics
  cadence: {{pre: 1m, hot: 30s, hot_before: 2m, hot_after: 15m, after: 5m}}
contacts:
  stats-team: {{name: Labour market statistics team, role: stats_team,
               email: lms-team@example.com}}
  web-publisher: {{name: On-call web publisher, role: web_publisher,
                  email: web-oncall@example.com, phone: "+447700900123"}}
  lead-official: {{name: Lead official, role: lead_official, email: lead@example.com}}
  head-of-profession: {{name: Head of profession, role: head_of_profession,
                       email: hop@example.com, phone: "+447700900456"}}
chains:
  default:
    - {{after: 5m, notify: [stats-team], channels: [email], repeat: 30m}}
    - {{after: 10m, notify: [web-publisher], channels: [sms, email], repeat: 15m}}
    - {{after: 30m, notify: [lead-official], channels: [email], repeat: 30m}}
    - {{after: 60m, notify: [head-of-profession], channels: [email], kind: breach, repeat: 1h}}
releases:
  - id: lms-2025-07
    title: "{title}"
    url: "{base}{path}"
    due: 2025-07-17 09:30
    # No live: rule, so the default applies: the title on the page, and none of GOV.UK's
    # error or announcement wording.
"""


def demo_config(base_url: str) -> Config:
    return parse_config(DEMO_CONFIG.format(title=TITLE, base=base_url, path=PATH), "<demo>")


def page_for(now: datetime, busted: bool) -> tuple[int, dict[str, str], str]:
    """What the demo site answers at `now`: (status, headers, body)."""
    if not busted:
        # The CDN's copy: a 404 cached minutes ago, still served to anyone who just reloads.
        return 404, {"Age": "240", "X-Cache": "HIT", "Cache-Control": "max-age=300"}, _NOT_FOUND
    fresh = {"Age": "0", "X-Cache": "MISS", "Cache-Control": "max-age=300, public"}
    if now < ANNOUNCED_AT:
        return 404, fresh, _NOT_FOUND
    if now < LIVE_AT:
        return 200, fresh, _ANNOUNCEMENT
    return 200, fresh, _PUBLICATION


_NOT_FOUND = "<html><body><h1>Page not found</h1></body></html>"
_ANNOUNCEMENT = (  # as GOV.UK shows one (alphagov/frontend statistics_announcement/show)
    f"<html><body><span>Official statistics announcement</span><h1>{TITLE}</h1>"
    "<dl><dt>Release date:</dt><dd>17 July 2025 9:30am (confirmed)</dd></dl>"
    "<h2>These statistics will be released on 17 July 2025&nbsp;9:30am</h2></body></html>"
)
_PUBLICATION = (
    f"<html><body><h1>{TITLE}</h1><p>Official Statistics. Published 17 July 2025.</p>"
    "<p>Estimates of employment, unemployment and economic inactivity.</p></body></html>"
)


def _handler(clock: Clock, cache_param: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            busted = cache_param in parse_qs(parts.query) or (
                "no-cache" in self.headers.get("Cache-Control", "")
            )
            if parts.path != PATH:
                status, headers, body = 404, dict[str, str](), _NOT_FOUND
            else:
                status, headers, body = page_for(clock.now(), busted)
            data = body.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return  # the watchdog prints what matters

    return Handler


@contextmanager
def demo_site(clock: Clock, cache_param: str = "rwcb") -> Iterator[str]:
    """Serve the demo page on 127.0.0.1 (a free port); yields the base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(clock, cache_param))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="demo-site", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()


def demo_window() -> tuple[datetime, datetime]:
    start = DEMO_START.astimezone(UTC)
    return start, LIVE_AT.astimezone(UTC) + timedelta(minutes=5)


# The incident's lead official got hold of someone at 11:40: here the web publisher answers the
# 11:40 page (the demo waits for that SMS to be sent, then acknowledges from its link).
ACK_AT = datetime(2025, 7, 17, 11, 40, tzinfo=LONDON)
ACK_CONTACT = "web-publisher"


def latest_ack_link(outbox: Path, contact_id: str = ACK_CONTACT) -> str | None:
    """The acknowledge link in the newest SMS to `contact_id` in the local outbox."""
    path = outbox / "sms.jsonl"
    if not path.exists():
        return None
    link = None
    for line in path.read_text().splitlines():
        record = json.loads(line)
        if record.get("contact_id") != contact_id:
            continue
        found = _LINK.search(record.get("text", ""))
        if found:
            link = found.group(0)
    return link


_LINK = re.compile(r"http://127\.0\.0\.1:\d+/a/[A-Za-z0-9_-]+")


def press(url: str, method: str) -> tuple[int, str]:
    """Open `url` like a browser would (GET) or press its button (POST); loopback only."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError("the demo only talks to its own loopback server")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    data = b"" if method == "POST" else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (loopback only)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, _title(response.read().decode())
    except urllib.error.HTTPError as exc:
        return exc.code, _title(exc.read().decode())


def _title(html: str) -> str:
    """The page's heading as a person reads it ('Acknowledge this alert?')."""
    found = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.DOTALL)
    return unescape(re.sub(r"<[^>]+>", "", found.group(1))).strip() if found else ""
