"""A bound on recurrence expansion, counted in periods tried, not occurrences kept.

dateutil's rrule walks period by period (a day for FREQ=DAILY) from DTSTART until it has
enough occurrences or passes UNTIL, and only checks UNTIL when a period yields an occurrence:
a rule that never matches (BYMONTH=4;BYMONTHDAY=31) walks to the year 9999, seconds of CPU per
event, and INTERVAL=0 never moves at all. Both recurring-ical-events (ICS calendars) and
rota.py expand through dateutil, so the walk is bounded where dateutil takes each period:
within `budget(n)`, the n+1st period tried raises ExpansionTooLong. Outside a budget (and in
any other thread or task: the budget is a context variable) dateutil behaves as it always has.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dateutil.rrule  # type: ignore[import-untyped]


class ExpansionTooLong(Exception):
    """More periods tried than a budget allows; `budget` is the one spent."""

    def __init__(self, spent: Budget) -> None:
        super().__init__(f"more than {spent.limit} recurrence periods tried")
        self.budget = spent


class Budget:
    """Periods left; a budget inside another spends both (a series within its file's)."""

    def __init__(self, periods: int, outer: Budget | None) -> None:
        self.limit = periods
        self.left = periods
        self.outer = outer

    def spend(self) -> None:
        here: Budget | None = self
        while here is not None:
            here.left -= 1
            if here.left < 0:
                raise ExpansionTooLong(here)
            here = here.outer


_current: contextvars.ContextVar[Budget | None] = contextvars.ContextVar(
    "releasewatch_rrule_budget", default=None
)


@contextmanager
def budget(periods: int) -> Iterator[Budget]:
    """Bound every rrule expansion inside the block, together, to `periods` periods tried
    (and any budget around it too)."""
    spent = Budget(periods, _current.get())
    token = _current.set(spent)
    try:
        yield spent
    finally:
        _current.reset(token)


_Plain: Any = dateutil.rrule._iterinfo


def _counted(name: str) -> Any:
    original = getattr(_Plain, name)

    def dayset(self: Any, *args: Any) -> Any:
        spent = _current.get()
        if spent is not None:
            spent.spend()
        return original(self, *args)

    return dayset


class _CountedIterinfo(_Plain):  # type: ignore[misc]
    """dateutil's per-expansion helper; each dayset call is one period of the walk."""

    # No __slots__ of its own: dateutil's __init__ sets every name in self.__slots__, which
    # must stay the base class's.
    ydayset = _counted("ydayset")
    mdayset = _counted("mdayset")
    wdayset = _counted("wdayset")
    ddayset = _counted("ddayset")


if dateutil.rrule._iterinfo is _Plain:  # once, however often this module is reloaded
    dateutil.rrule._iterinfo = _CountedIterinfo
