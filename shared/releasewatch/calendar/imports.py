"""The last good import of each source, kept beside the state database.

A source that fails keeps its last good import (its releases are neither dropped nor
changed); written whole to a temporary file and renamed, so it is never half-written.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

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
            data = json.loads(path.read_bytes())
        except FileNotFoundError:
            return cls({}, {})
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: cannot read the last calendar imports: {exc}") from None
        try:
            sources = {
                label: [Announcement.model_validate(a) for a in entry["announcements"]]
                for label, entry in data["sources"].items()
            }
            at = {label: from_utc_iso(entry["at"]) for label, entry in data["sources"].items()}
        except (KeyError, TypeError, AttributeError, ValueError, ValidationError) as exc:
            raise ValueError(f"{path}: the last calendar imports are damaged: {exc}") from None
        return cls(sources, at)

    def save(self, path: Path) -> None:
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
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(tmp, path)


def imports_path(db: Path) -> Path:
    return db.with_name(db.name + ".calendars.json")
