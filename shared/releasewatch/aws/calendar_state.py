"""The calendar sync's state on AWS, in the release table (aws/blobs.py): the last good import
of each source (locally `<db>.calendars.json`) and which sources are failing, so a failure
is told to the operators once per streak although every sync runs in a fresh invocation."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ..calendar.imports import Imports
from ..clock import Clock
from .blobs import Documents

IMPORTS = "calendar-imports"
FAILING = "calendar-failing"


class TableImports:
    """The ImportsKeeper (calendar/imports.py) on the DynamoDB table."""

    def __init__(self, documents: Documents, clock: Clock) -> None:
        self.documents = documents
        self.clock = clock

    def load(self) -> Imports:
        raw = self.documents.get(IMPORTS)
        if raw is None:
            return Imports({}, {})
        return Imports.from_json(raw, f"table {self.documents.table_name} ({IMPORTS})")

    def save(self, imports: Imports) -> None:
        self.documents.put(IMPORTS, imports.to_json(), self.clock.now())


class FailingSources:
    """Source label (or the whole sync) → why it fails, while it fails."""

    def __init__(self, documents: Documents) -> None:
        self.documents = documents

    def load(self) -> dict[str, str]:
        try:
            raw = self.documents.get(FAILING)
            data: Any = json.loads(raw) if raw is not None else {}
        except ValueError:
            return {}  # forgetting a streak tells it once more: better than never again
        if not isinstance(data, dict):
            return {}
        return {str(k): str(v) for k, v in data.items()}

    def save(self, failing: dict[str, str], now: datetime) -> None:
        self.documents.put(FAILING, json.dumps(failing, sort_keys=True).encode(), now)
