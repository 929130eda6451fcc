"""Read the punctuality record from a store: releases, their checks and their events only
(the one place in this package that does I/O, through the Store protocol)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from ..store.base import Store
from ..web.scrub import scrub
from .verdicts import Judged, Seen, judge


def gather(store: Store, now: datetime) -> list[Judged]:
    """Every stored release judged as of `now`, by due time then id."""
    out = [
        scrubbed(judge(record, store.checks(record.id), store.events(record.id), now))
        for record in store.all_releases()
    ]
    return sorted(out, key=lambda j: (j.due, j.release_id))


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
