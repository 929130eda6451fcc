"""Read the punctuality record from a store: releases, their checks and their events only
(the one place in this package that does I/O, through the Store protocol)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ..model import Check, ReleaseRecord
from ..store.base import Store
from ..web.scrub import scrub
from .verdicts import Judged, Seen, judge


def gather(store: Store, now: datetime) -> list[Judged]:
    """Every stored release judged as of `now`, by due time then id."""
    out = [
        scrubbed(judge(record, _checks(store, record, now), store.events(record.id), now))
        for record in store.all_releases()
    ]
    return sorted(out, key=lambda j: (j.due, j.release_id))


def _checks(store: Store, record: ReleaseRecord, now: datetime) -> list[Check]:
    """A release's checks, unless nothing can be judged from them yet (not live, not past its
    due time and grace): most of the releases watched are months ahead, and reading their
    checks would make the page cost what is watched, not what is judged."""
    release = record.release
    if record.live_at is None and now <= release.due + release.grace:
        return []
    return store.checks(record.id)


def scrubbed(j: Judged) -> Judged:
    """The line with every free text scrubbed where it enters: a calendar's title, producer or
    change note, or a server's error, may quote an address, and a link that carries the
    producer in its query string would hide it from a scrub of the finished page."""
    return replace(
        j,
        title=scrub(j.title),
        producer=scrub(j.producer),
        why=scrub(j.why),
        moves=tuple(replace(m, note=scrub(m.note)) for m in j.moves),
        last_not_live=_seen(j.last_not_live),
        first_live=_seen(j.first_live),
    )


def _seen(s: Seen | None) -> Seen | None:
    if s is None:
        return None
    return replace(s, reason=scrub(s.reason), error=scrub(s.error) if s.error else None)
