"""Read the punctuality record from a store: releases, their checks and their events only
(the one place in this package that does I/O, through the Store protocol)."""

from __future__ import annotations

from datetime import datetime

from ..store.base import Store
from .verdicts import Judged, judge


def gather(store: Store, now: datetime) -> list[Judged]:
    """Every stored release judged as of `now`, by due time then id."""
    out = [
        judge(record, store.checks(record.id), store.events(record.id), now)
        for record in store.all_releases()
    ]
    return sorted(out, key=lambda j: (j.due, j.release_id))
