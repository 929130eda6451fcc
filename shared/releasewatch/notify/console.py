"""Local channels: print each message to the console, and keep an outbox file of them.

The console shows who a message is for by name and role, never the address: terminals end up
in screenshots and scrollback. The outbox (JSON lines) is the local delivery itself, so it
keeps the address, like a mail spool.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from pathlib import Path
from typing import TextIO

from ..local.printer import for_terminal
from ..model import medium
from .base import Message


class ConsoleNotifier:
    def __init__(self, stream: TextIO | None = None, *, indent: str = "    ") -> None:
        self._stream = stream
        self._indent = indent
        self._lock = threading.Lock()

    def send(self, message: Message) -> str:
        stream = self._stream or sys.stdout
        label = _LABEL.get(message.channel, "EMAIL")
        head = f"{label} to {message.contact_name}: {message.subject}"
        body = message.text if medium(message.channel) == "sms" else _first_lines(message.text)
        with self._lock:
            # Message text quotes what servers sent (reasons, URLs, cache headers): escaped.
            print(f"  >> {for_terminal(head)}", file=stream)
            for line in body.splitlines():
                print(f"{self._indent}{for_terminal(line)}", file=stream)
            if message.attachments:
                names = ", ".join(a.filename for a in message.attachments)
                print(f"{self._indent}[attached: {names}]", file=stream)
            stream.flush()
        return f"console-{uuid.uuid4().hex[:12]}"


_LABEL = {"sms": "SMS", "notify_sms": "SMS", "teams": "TEAMS", "slack": "SLACK"}


def _first_lines(text: str, limit: int = 8) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("Dear ")]
    shown = lines[:limit]
    if len(lines) > limit:
        shown.append("...")
    return "\n".join(shown)


class OutboxNotifier:
    """Appends each message to `<dir>/<channel>.jsonl`; optionally echoes to another notifier."""

    def __init__(self, directory: str | Path, echo: ConsoleNotifier | None = None) -> None:
        self._dir = Path(directory)
        self._echo = echo
        self._lock = threading.Lock()

    def send(self, message: Message) -> str:
        self._dir.mkdir(parents=True, exist_ok=True)
        message_id = f"outbox-{uuid.uuid4().hex[:12]}"
        record = {
            "id": message_id,
            "key": message.key,
            "channel": message.channel,
            "to": message.to,
            "contact_id": message.contact_id,
            "subject": message.subject,
            "text": message.text,
            "attachments": [a.filename for a in message.attachments],
        }
        with self._lock, (self._dir / f"{message.channel}.jsonl").open("a") as out:
            out.write(json.dumps(record) + "\n")
        if self._echo is not None:
            self._echo.send(message)
        return message_id
