"""The board's view models as JSON (/api/releases, /api/releases/<id>): the same data the
pages show, for people who feed it elsewhere. Times are ISO 8601 in UTC."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any

from ..timefmt import utc_iso
from .scrub import scrub


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, datetime):
        return utc_iso(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def to_json(model: object) -> str:
    return scrub(json.dumps(_plain(model), ensure_ascii=False, indent=1))
