"""Where messages point people: acknowledge links and the release's dashboard page."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Links(Protocol):
    def ack_url(self, release_id: str, contact_id: str, step: int, now: datetime) -> str | None:
        """A signed, expiring link that acknowledges for this contact and step (None: none)."""
        ...

    def release_url(self, release_id: str) -> str | None: ...


class NoLinks:
    def ack_url(self, release_id: str, contact_id: str, step: int, now: datetime) -> str | None:
        return None

    def release_url(self, release_id: str) -> str | None:
        return None
