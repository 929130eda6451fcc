"""Loopback chat webhooks on 127.0.0.1: a Teams Workflows trigger and a Slack incoming webhook.

The Teams one checks every post the way the flow and Teams would, and answers 400 (with a
Workflows-style error) to anything that would not show:
- the envelope: {"type": "message", "attachments": [one adaptive card attachment]};
- the card against the Adaptive Card JSON schema of the version it declares (1.4, the fixture
  in tests/fixtures/adaptivecards/, Microsoft's published schema), and that version is 1.4;
- every Action.OpenUrl url is https, or the loopback ack server's own link;
- text lengths: a non-empty title of at most 150 characters, no text over 2,000, no control
  characters, and the whole post under Teams' 28 KB.
Tests script the answers (202 by default; 429 with Retry-After, 500, 401...), and the server
keeps every post and every problem it found.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jsonschema

SCHEMA_FILE = Path(__file__).parent / "fixtures" / "adaptivecards" / "adaptive-card-1.4.schema.json"
CARD_VERSION = "1.4"
MAX_POST = 28 * 1024
MAX_TEXT = 2000
MAX_TITLE = 150


@cache
def card_validator() -> jsonschema.Draft6Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    jsonschema.Draft6Validator.check_schema(schema)
    return jsonschema.Draft6Validator(schema)


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _texts(card: dict[str, Any]) -> Iterator[str]:
    for node in _walk(card):
        kind = node.get("type")
        if kind in ("TextBlock", "TextRun"):
            yield str(node.get("text", ""))
        elif kind == "FactSet":
            for fact in node.get("facts", []):
                yield str(fact.get("title", ""))
                yield str(fact.get("value", ""))
        elif isinstance(kind, str) and kind.startswith("Action."):
            yield str(node.get("title", ""))


def teams_problems(raw: bytes, ack_base: str | None = None) -> list[str]:
    """Why Teams would not show this post as a card (empty: it would)."""
    problems: list[str] = []
    if len(raw) > MAX_POST:
        problems.append(f"post is {len(raw)} bytes, over {MAX_POST}")
    try:
        post = json.loads(raw)
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    if not isinstance(post, dict) or post.get("type") != "message":
        return ['envelope: expected {"type": "message", ...}']
    attachments = post.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return ["envelope: expected exactly one attachment"]
    attachment = attachments[0]
    if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
        problems.append(f"attachment contentType {attachment.get('contentType')!r}")
    card = attachment.get("content")
    if not isinstance(card, dict):
        return [*problems, "attachment has no card content"]
    if card.get("type") != "AdaptiveCard" or card.get("version") != CARD_VERSION:
        problems.append(f"card type/version {card.get('type')!r}/{card.get('version')!r}")
    for error in card_validator().iter_errors(card):
        where = "/".join(str(p) for p in error.absolute_path)
        problems.append(f"schema: {where}: {error.message[:200]}")
    for node in _walk(card):
        if node.get("type") == "Action.OpenUrl":
            url = str(node.get("url", ""))
            if not (url.startswith("https://") or (ack_base and url.startswith(ack_base))):
                problems.append(f"Action.OpenUrl to {url!r}: not https nor the ack server")
    body = card.get("body") or []
    title = _first_text(body)
    if not title or len(title) > MAX_TITLE:
        problems.append(f"title missing or over {MAX_TITLE} characters: {title!r}")
    for text in _texts(card):
        if not text.strip():
            problems.append("an empty text")
        if len(text) > MAX_TEXT:
            problems.append(f"a text of {len(text)} characters")
        if any(ord(ch) < 0x20 for ch in text):
            problems.append(f"a control character in {text[:40]!r}")
    return problems


def _first_text(body: list[Any]) -> str:
    for node in _walk(body):
        if node.get("type") in ("TextBlock", "TextRun"):
            return str(node.get("text", ""))
    return ""


def slack_problems(raw: bytes) -> list[str]:
    """Why Slack would refuse this incoming-webhook post (empty: it would take it)."""
    try:
        post = json.loads(raw)
    except ValueError as exc:
        return [f"not JSON: {exc}"]
    problems = []
    if not str(post.get("text", "")).strip():
        problems.append("no fallback text")
    blocks = post.get("blocks", [])
    if len(blocks) > 50:
        problems.append("more than 50 blocks")
    limits = {"header": 150, "section": 3000}
    for block in blocks:
        kind = block.get("type")
        if kind in limits and "text" in block and len(block["text"]["text"]) > limits[kind]:
            problems.append(f"{kind} text too long")
        for item in block.get("fields", []):
            if len(item["text"]) > 2000:
                problems.append("field too long")
        if len(block.get("fields", [])) > 10:
            problems.append("more than 10 fields")
        for element in block.get("elements", []):
            if element.get("type") == "button":
                if len(element["text"]["text"]) > 75:
                    problems.append("button text too long")
                if not str(element.get("url", "")).startswith(("https://", "http://127.0.0.1")):
                    problems.append("button url not https")
    return problems


@dataclass
class Post:
    path: str
    body: bytes
    problems: list[str]

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def card(self) -> dict[str, Any]:
        content: dict[str, Any] = self.json["attachments"][0]["content"]
        return content


@dataclass
class Script:
    """What the next posts get: a queue of (status, headers, body); then `default`."""

    queue: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    default: tuple[int, dict[str, str], bytes] = (202, {}, b"")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: WebhookServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        server = self.server
        with server.lock:
            if server.kind == "teams":
                problems = teams_problems(raw, server.ack_base)
            else:
                problems = slack_problems(raw)
            server.posts.append(Post(self.path, raw, problems))
            if problems:
                if server.kind == "teams":
                    body = json.dumps(
                        {"error": {"code": "InvalidCard", "message": "; ".join(problems)[:300]}}
                    ).encode()
                else:
                    body = b"invalid_blocks"
                status, headers = 400, {}
            elif server.script.queue:
                status, headers, body = server.script.queue.pop(0)
            else:
                status, headers, body = server.script.default
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


class WebhookServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, kind: str, ack_base: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.kind = kind
        self.ack_base = ack_base
        self.posts: list[Post] = []
        self.script = Script(default=(202, {}, b"") if kind == "teams" else (200, {}, b"ok"))
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str = "/workflows/abc/triggers/manual/paths/invoke") -> str:
        # The shape of a Workflows URL, signature and all: it must never be logged or stored.
        return f"http://127.0.0.1:{self.port}{path}?api-version=1&sig=SECRETSIGNATURE123"

    def answer(self, *replies: tuple[int, dict[str, str], bytes]) -> None:
        with self.lock:
            self.script.queue.extend(replies)

    def problems(self) -> list[str]:
        return [p for post in self.posts for p in post.problems]


@contextmanager
def loopback_webhook(kind: str = "teams", ack_base: str | None = None) -> Iterator[WebhookServer]:
    server = WebhookServer(kind, ack_base)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
