"""What every request is checked against before anything else, by the local web server and
the API function alike: the Host it names, the depth of a JSON body, and the headers every
answer carries (error pages too).

A page on another site can make a browser resolve its own name to 127.0.0.1 (DNS rebinding)
and then read the board as if it were same-origin; it cannot make the browser send another
Host. So the local server answers only the names it serves: 127.0.0.1, localhost and [::1]
on its port, and the public URL's host (a tunnel or reverse proxy) when one is set.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

SECURITY_HEADERS = {
    "Content-Type": "text/html; charset=utf-8",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the token is in the URL: never send it onwards
    "X-Robots-Tag": "noindex, nofollow",
    "X-Frame-Options": "DENY",  # no clickjacking of the acknowledge button
    "X-Content-Type-Options": "nosniff",
    # Only this site's own stylesheet and script (static files, web/assets.py), and the
    # refresh script's fetch of the same page: nothing inline, nothing from elsewhere.
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; "
        "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}
MAX_JSON_DEPTH = 32  # a Notify callback nests two levels; Python's parser recurses per level
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def with_security_headers(headers: dict[str, str]) -> dict[str, str]:
    """`headers`, with every security header it does not set itself (its own Content-Type and
    Cache-Control win: a stylesheet is cached, JSON is JSON)."""
    return {name: value for name, value in SECURITY_HEADERS.items()} | headers


def allowed_hosts(port: int, public_urls: Iterable[str | None] = ()) -> frozenset[str]:
    """Host header values (lowercase, host:port, or the bare host for a default port) this
    server answers to."""
    hosts = {f"{name}:{port}" for name in LOOPBACK_NAMES}
    for url in public_urls:
        if not url:
            continue
        parts = urlsplit(url)
        if not parts.hostname:
            continue
        name = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        default = 443 if parts.scheme == "https" else 80
        given = parts.port or default
        hosts.add(f"{name}:{given}")
        if given == default:
            hosts.add(name)
    return frozenset(h.lower() for h in hosts)


def host_allowed(header: str | None, allowed: frozenset[str]) -> bool:
    """Whether the request's Host names this server (no Host at all: refused)."""
    if not header:
        return False
    return header.strip().lower().rstrip(".") in allowed


def too_deep(text: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON text nests arrays or objects deeper than `max_depth` (counted outside
    strings): checked before parsing, which recurses once per level."""
    raw = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > max_depth:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


class TooDeep(ValueError):
    """A JSON body nested deeper than any callback needs."""


def load_json(body: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """json.loads, refusing (ValueError) a body nested deeper than `max_depth` before parsing."""
    if too_deep(body, max_depth):
        raise TooDeep(f"JSON nested deeper than {max_depth} levels")
    return json.loads(body)
