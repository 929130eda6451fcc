"""The public path beside a clean "not live" origin, at the busiest minute: releases checked
together ask it in different rounds, a sixth of them in each round of a 10 s cadence, not
all of them in the same round every minute (probe/recheck.py)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from itertools import pairwise

from releasewatch.probe.recheck import PUBLIC_RECHECK, public_recheck_due
from tests.factories import DUE


def rounds_asking(ids: list[str], start_at: timedelta, rounds: int) -> Counter[int]:
    """How many of `ids` ask the public path in each round, checked every 10 s together from
    `start_at` after the due time, all having asked it together in round 0."""
    asking: Counter[int] = Counter()
    last = dict.fromkeys(ids, DUE + start_at)
    for n in range(1, rounds):
        now = DUE + start_at + timedelta(seconds=10 * n)
        for rid in ids:
            if public_recheck_due(rid, last[rid], now):
                last[rid] = now
                asking[n] += 1
    return asking


def test_releases_checked_together_ask_the_public_path_in_different_rounds() -> None:
    ids = [f"release-{n}" for n in range(300)]
    for start_at in (timedelta(seconds=-120), timedelta(seconds=-30), timedelta(seconds=7)):
        asking = rounds_asking(ids, start_at, rounds=19)  # three minutes
        # each asks once a minute: 300 a minute in all...
        assert sum(asking[n] for n in range(7, 13)) == 300
        # ...a sixth of them a round (50), give or take the ids' spread; not 300 at once
        assert max(asking.values()) <= 80, asking


def test_a_release_asks_it_first_at_once_then_once_a_minute() -> None:
    assert public_recheck_due("lms", None, DUE)
    asked = [DUE]
    for n in range(1, 37):  # six minutes, every 10 s
        now = DUE + timedelta(seconds=10 * n)
        if public_recheck_due("lms", asked[-1], now):
            asked.append(now)
    gaps = [b - a for a, b in pairwise(asked)]
    assert timedelta(0) < gaps[0] <= PUBLIC_RECHECK  # at the release's own moment
    assert gaps[1:] == [PUBLIC_RECHECK] * (len(gaps) - 1) and len(gaps) >= 5
