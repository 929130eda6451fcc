"""Gather a page's inputs from the store and build its view model (the only I/O in views/).

A store that cannot be read is a problem on the page, not a 500: the board then shows what it
can (nothing) under a banner saying why."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from ...model import Delivery, Event, ReleaseRecord, ReleaseState
from ...policy import lateness_unproven
from ...store.base import Store
from .board import Board, View, build_board, in_view, shown_state, state_tag
from .problems import Health, Problem, delivery_problems, health_problems
from .release import ReleasePage, build_release_page

log = logging.getLogger("releasewatch.web")

CHECKS_SHOWN = 3000  # the timeline's checks: hours of 10 s polling, collapsed into runs


def _watched(record: ReleaseRecord, now: datetime) -> bool:
    """Releases whose failed sends are worth a banner: active ones and today's."""
    return record.active or in_view(record, "today", now)


def problems_for(
    records: list[ReleaseRecord],
    deliveries: dict[str, list[Delivery]],
    health: Health,
    now: datetime,
) -> list[Problem]:
    out = health_problems(health, now)
    for record in sorted(records, key=lambda r: (r.release.due, r.id)):
        if _watched(record, now):
            out.extend(delivery_problems(record, deliveries.get(record.id, [])))
    return out


def load_board(store: Store, now: datetime, view: View, health: Health) -> Board:
    try:
        records = store.all_releases()
        shown = [r for r in records if in_view(r, view, now)]
        events: dict[str, list[Event]] = {r.id: store.events(r.id) for r in shown}
        watched = [r for r in records if _watched(r, now)]
        # The watched ones' for the problems, the shown ones' for their readiness lines.
        wanted = {r.id: r for r in [*watched, *shown]}
        deliveries = {rid: store.deliveries(rid) for rid in wanted}
        unproven = {r.id for r in shown if _unproven(store, r, now)}
    except Exception as exc:  # a corrupt or locked store: say so on the page
        log.warning("board: cannot read the store: %s", type(exc).__name__)
        health = replace(health, unreadable=f"{type(exc).__name__}: {exc}")
        return build_board([], {}, now, view, health_problems(health, now), store_readable=False)
    problems = problems_for(watched, deliveries, health, now)
    return build_board(shown, events, now, view, problems, unproven, deliveries)


def load_release(
    store: Store, release_id: str, now: datetime, health: Health
) -> ReleasePage | None:
    record = store.get_release(release_id)
    if record is None:
        return None
    events = store.events(release_id)
    deliveries = store.deliveries(release_id)
    checks = store.checks(release_id, limit=CHECKS_SHOWN)
    problems = health_problems(health, now)
    others = [r for r in store.active_releases() if r.id != release_id]
    problems += problems_for(
        [record, *others],
        {release_id: deliveries} | {r.id: store.deliveries(r.id) for r in others},
        Health(),
        now,
    )
    return build_release_page(
        record, events, deliveries, checks, now, problems, unproven=_unproven(store, record, now)
    )


def state_words(store: Store, record: ReleaseRecord, now: datetime) -> str:
    """A release's state as the board says it ('Live, 4 min late', 'Not due yet'), for the
    `status` command: one wording for both, never the internal state names."""
    events = store.events(record.id)
    return state_tag(record, events, now, unproven=_unproven(store, record, now)).text


def _unproven(store: Store, record: ReleaseRecord, now: datetime) -> bool:
    """Live after its due time, with no check in between that saw it not live (nor GOV.UK's
    publication time): nobody can say it was late. Reads every check of such a release only."""
    if shown_state(record, now) != ReleaseState.LIVE_LATE:
        return False
    return lateness_unproven(record.release, record.live_at, store.checks(record.id))
