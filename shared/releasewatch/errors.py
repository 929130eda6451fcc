"""The errors releasewatch raises, each for one situation a caller can act on.

ReleasewatchError
├── ConfigError            a config file is invalid; carries every problem found
├── StoreError
│   ├── AlreadyClaimed     another worker holds (or has sent) this notification
│   └── VersionConflict    the release changed since it was read
├── SendError              a channel refused or failed a message (permanent= says retry or not)
├── ProbeRefused           a target URL is not allowed (scheme, address, SSRF guard)
└── TokenError             an acknowledge token is forged, expired, replayed or malformed
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


class ReleasewatchError(Exception):
    """Base class for every error releasewatch raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One mistake in a config: where it is and what is expected there."""

    path: str
    message: str
    file: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = self.file or "<config>"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(ReleasewatchError):
    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StoreError(ReleasewatchError):
    pass


class AlreadyClaimed(StoreError):
    """The notification is claimed by a live lease, or already sent."""


class VersionConflict(StoreError):
    """A conditional update lost: someone else changed the release first."""


class SendError(ReleasewatchError):
    def __init__(
        self, reason: str, *, permanent: bool = False, retry_after: timedelta | None = None
    ) -> None:
        self.reason = reason
        self.permanent = permanent
        # The provider asked for this pause (HTTP Retry-After): the next attempt waits at least
        # this long, still within the service's attempt bound and its longest backoff.
        self.retry_after = retry_after
        super().__init__(reason)


class ProbeRefused(ReleasewatchError):
    """The URL may not be probed (not https, or resolves to a non-global address)."""


class TokenError(ReleasewatchError):
    pass
