"""When the public path is asked beside an origin that answers cleanly "not live": about once
a PUBLIC_RECHECK per release, each release at its own moment of the minute.

Releases checked together (300 due at 09:30, lined up again by the pre-window's checks a
minute apart) would otherwise all ask it in the same round, every minute: a round of twice the
requests, which the politeness budget spreads over seconds past the 10 s hot interval (15 s
on ONS's 10 a second). Each release's minute starts at its own offset, taken from its id so
that every process agrees, so that on a 10 s cadence a sixth of them ask it in each round.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

PUBLIC_RECHECK = timedelta(seconds=60)


def offset(release_id: str) -> float:
    """Where this release's minute starts, in seconds into PUBLIC_RECHECK."""
    digest = hashlib.blake2b(release_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64 * PUBLIC_RECHECK.total_seconds()


def public_recheck_due(release_id: str, last: datetime | None, now: datetime) -> bool:
    """Whether to ask the public path at `now`, last asked at `last` (None: never, and it is
    asked at once, as nothing is known of what the CDN serves). Then at the first check in
    each of the release's own minutes: a second time within the first minute, at most."""
    if last is None:
        return True
    span, start = PUBLIC_RECHECK.total_seconds(), offset(release_id)
    return (now.timestamp() - start) // span != (last.timestamp() - start) // span
