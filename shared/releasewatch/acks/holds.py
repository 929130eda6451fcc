"""What an acknowledgement really holds: the later alert steps with an occurrence inside its hold.

policy._held holds every later alert step (and the acknowledger's own repeats) until the ack
timeout runs out; but a hold holds something only if such a step would fire in that time. A
chain with no later alert step, or whose next one comes after the hold ends, holds nothing,
and no page or message may say "later steps are held until ..." for it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..model import Release


def held_steps(
    release: Release, ack_step: int, ack_at: datetime, until: datetime | None = None
) -> tuple[int, ...]:
    """The indices of the alert steps after `ack_step` that fire (first time or a repeat)
    between `ack_at` and the end of the hold, or `until` when that comes first (the page went
    live: nothing after that was held, it was no longer wanted)."""
    end = ack_at + release.ack_timeout
    if until is not None:
        end = min(end, until)
    if release.chain is None:  # observed: nobody was alerted, so nothing can be held
        return ()
    out = []
    for index, step in enumerate(release.chain.steps):
        if index <= ack_step or step.kind != "alert":
            continue
        if fires_between(release.due + step.after, step.repeat, ack_at, end):
            out.append(index)
    return tuple(out)


def fires_between(
    first: datetime, repeat: timedelta | None, start: datetime, end: datetime
) -> bool:
    if first >= end:
        return False
    if first >= start:
        return True
    if repeat is None:  # fired once, before the hold began: nothing left to hold
        return False
    # the first occurrence at or after `start`
    passed = -((first - start) // repeat)
    return first + repeat * passed < end
