"""The board's view models as JSON (/api/releases, /api/releases/<id>): the same data the
pages show, for people who feed it elsewhere. Times are ISO 8601 in UTC.

Each answer says its `schema_version`; the schemas (JSON Schema 2020-12) are published in the
package (web/schema/board.v1.json, release.v1.json) and served at api/schema/v1/board.json and
api/schema/v1/release.json. The tests validate every answer against them."""

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


SCHEMA_VERSION = "1.0"
# api/schema/v1/<name> → the file in web/schema/
SCHEMAS = {
    "board.json": "board.v1.json",
    "release.json": "release.v1.json",
    "punctuality.json": "punctuality.v1.json",
}


def to_json(model: object) -> str:
    return scrub(json.dumps(_plain(model), ensure_ascii=False, indent=1))


def document(model: object) -> str:
    """A view model as an API answer: its fields after `schema_version`."""
    return to_json({"schema_version": SCHEMA_VERSION, **_plain(model)})


def schema(name: str) -> str | None:
    """The published schema called `name` in api/schema/v1/, None for no such schema."""
    from importlib.resources import files

    file = SCHEMAS.get(name)
    if file is None:
        return None
    return files("releasewatch.web").joinpath("schema", file).read_text(encoding="utf-8")
