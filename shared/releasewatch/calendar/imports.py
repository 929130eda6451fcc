"""The last good import of each source, kept beside the state database.

A source that fails keeps its last good import (its releases are neither dropped nor
changed); written whole to a temporary file and renamed, so it is never half-written.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from ..timefmt import from_utc_iso, utc_iso
from .announcement import Announcement


class Imports:
    def __init__(self, sources: dict[str, list[Announcement]], at: dict[str, datetime]) -> None:
        self.sources = sources
        self.at = at  # when each source was last imported successfully

    @classmethod
    def load(cls, path: Path) -> Imports:
        """The saved imports; empty if there are none yet. ValueError if the file is damaged."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls({}, {})
        except OSError as exc:
            raise ValueError(f"{path}: cannot read the last calendar imports: {exc}") from None
        return cls.from_json(raw, str(path))

    @classmethod
    def from_json(cls, raw: bytes, where: str) -> Imports:
        """ValueError naming `where` if the saved imports are damaged."""
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise ValueError(f"{where}: cannot read the last calendar imports: {exc}") from None
        try:
            sources = {
                label: [Announcement.model_validate(a) for a in entry["announcements"]]
                for label, entry in data["sources"].items()
            }
            at = {label: from_utc_iso(entry["at"]) for label, entry in data["sources"].items()}
        except (KeyError, TypeError, AttributeError, ValueError, ValidationError) as exc:
            raise ValueError(f"{where}: the last calendar imports are damaged: {exc}") from None
        return cls(sources, at)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(self.to_json())
        os.replace(tmp, path)

    def to_json(self) -> bytes:
        data = {
            "version": 1,
            "sources": {
                label: {
                    "at": utc_iso(self.at[label]),
                    "announcements": [a.model_dump(mode="json") for a in anns],
                }
                for label, anns in self.sources.items()
            },
        }
        return json.dumps(data, indent=1, sort_keys=True).encode("utf-8")


def imports_path(db: Path) -> Path:
    return db.with_name(db.name + ".calendars.json")


class ImportsKeeper(Protocol):
    """Where the last good imports live: a file beside the SQLite database locally
    (FileImports), an item in the DynamoDB table on AWS (aws/calendar_state.py)."""

    def load(self) -> Imports:
        """Empty if nothing was saved yet; ValueError if what was saved is damaged."""
        ...

    def save(self, imports: Imports) -> None: ...


class FileImports:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> Imports:
        return Imports.load(self.path)

    def save(self, imports: Imports) -> None:
        imports.save(self.path)


def keeper(where: Path | ImportsKeeper) -> ImportsKeeper:
    return FileImports(where) if isinstance(where, Path) else where
