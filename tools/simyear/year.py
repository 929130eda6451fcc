"""A deterministic (seeded) year of pre-announced UK official statistics.

Every proportion below is an ASSUMPTION, chosen to look like the GOV.UK research and statistics
calendar and the ONS release calendar, not measured from them:

- Size: `releases` a year (default 3,200), over the weekdays of 2027 that are not bank holidays
  in England, across ~150 producers: ONS (a quarter of all releases, on its own host) and 149
  GOV.UK organisations whose shares fall off as 1/rank^0.9 (a few departments publish most).
- Days: every working day has some; Thursdays weigh 1.5x, the first Thursday of each month 3x
  (the "first Thursday-ish" peaks). One day, the first Thursday of June (PEAK_DAY), has exactly
  `peak` releases (default 300) due in the same minute, 09:30.
- Times (Europe/London): 09:30 72%, 07:00 14%, 12:00 5%, 10:00 3%, 16:00 3%, 14:00 2%,
  11:00 1% (ONS: 07:00 30%, the market-sensitive indicators).
- Fates: on time 88% (live 1-50 s after due: GOV.UK's scheduled publishing runs late by
  seconds); late by minutes 4% (3-45 min); late by hours 1.5% (1-6 h); early 1% (2 min to
  3 h before due); cancelled with notice 1.5% (1-30 days before due); moved with long notice
  2% (29-60 days before, past the Code of Practice's four weeks, to 1-20 working days later);
  moved at short notice 1% (2-20 h before, to 1-5 working days later); never found 1% (the
  page never goes live). A moved release then
  goes live on time at its new due time. The peak minute's releases are never moved or
  cancelled (so the minute keeps all `peak`); their other fates keep the same proportions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
YEAR = 2027
PEAK_DAY = date(2027, 6, 3)  # the first Thursday of June
PEAK_TIME = time(9, 30)
# England and Wales bank holidays in 2027 (gov.uk/bank-holidays): no release is due on them.
BANK_HOLIDAYS = frozenset(
    date(YEAR, m, d)
    for m, d in ((1, 1), (3, 26), (3, 29), (5, 3), (5, 31), (8, 30), (12, 27), (12, 28))
)


class Fate(StrEnum):
    ON_TIME = "on_time"
    LATE_MINUTES = "late_minutes"
    LATE_HOURS = "late_hours"
    EARLY = "early"
    CANCELLED = "cancelled"
    MOVED_LONG = "moved_long_notice"
    MOVED_SHORT = "moved_short_notice"
    NEVER_FOUND = "never_found"


FATES: dict[Fate, float] = {
    Fate.ON_TIME: 0.88,
    Fate.LATE_MINUTES: 0.04,
    Fate.LATE_HOURS: 0.015,
    Fate.EARLY: 0.01,
    Fate.CANCELLED: 0.015,
    Fate.MOVED_LONG: 0.02,
    Fate.MOVED_SHORT: 0.01,
    Fate.NEVER_FOUND: 0.01,
}
TIMES: dict[time, float] = {
    time(9, 30): 0.72,
    time(7, 0): 0.14,
    time(12, 0): 0.05,
    time(10, 0): 0.03,
    time(16, 0): 0.03,
    time(14, 0): 0.02,
    time(11, 0): 0.01,
}
ONS_TIMES: dict[time, float] = {time(9, 30): 0.62, time(7, 0): 0.30, time(12, 0): 0.08}
ONS = "Office for National Statistics"
ONS_SHARE = 0.25
NAMED = (
    "Department for Education",
    "Department of Health and Social Care",
    "Department for Work and Pensions",
    "HM Revenue & Customs",
    "Department for Transport",
    "Ministry of Justice",
    "Home Office",
    "NHS England",
    "Department for Energy Security and Net Zero",
    "Department for Environment, Food & Rural Affairs",
    "Ministry of Housing, Communities and Local Government",
    "Department for Culture, Media and Sport",
    "Department for Business and Trade",
    "HM Treasury",
    "Welsh Government",
    "Scottish Government",
    "Northern Ireland Statistics and Research Agency",
    "Ofqual",
    "Ofsted",
    "Office of Rail and Road",
)
GOVUK_PRODUCERS = NAMED + tuple(f"Public body {n}" for n in range(len(NAMED) + 1, 150))


@dataclass(frozen=True)
class SimRelease:
    """One release's whole simulated life: as announced, and what then happens to it."""

    id: str
    producer: str
    host: str  # "govuk" or "ons": which loopback origin serves its page
    title: str
    path: str  # the page's path on its origin
    announced_due: datetime  # as first announced (UTC)
    fate: Fate
    due: datetime  # as finally announced: the announced due, or where a move put it
    live_at: datetime | None  # when the page goes live; None: never (cancelled, never found)
    notice_at: datetime | None = None  # when a move or cancellation is announced

    @property
    def expected_minutes_late(self) -> int | None:
        """Whole minutes after due (negative: early); None when it never goes live."""
        if self.live_at is None:
            return None
        return int((self.live_at - self.due).total_seconds() // 60)


@dataclass(frozen=True)
class Year:
    seed: int
    releases: tuple[SimRelease, ...]
    peak_due: datetime  # the busiest minute (UTC)

    def due_on(self, day: date) -> list[SimRelease]:
        return [r for r in self.releases if r.due.astimezone(LONDON).date() == day]


def working_days(start: date, end: date) -> list[date]:
    days, day = [], start
    while day <= end:
        if day.weekday() < 5 and day not in BANK_HOLIDAYS:
            days.append(day)
        day += timedelta(days=1)
    return days


def at_london(day: date, when: time) -> datetime:
    return datetime.combine(day, when, tzinfo=LONDON).astimezone(UTC)


def day_weight(day: date) -> float:
    if day.weekday() != 3:
        return 1.0
    return 3.0 if day.day <= 7 else 1.5


def generate(
    releases: int = 3200,
    *,
    peak: int = 300,
    seed: int = 2027,
    start: date = date(YEAR, 1, 1),
    end: date = date(YEAR, 12, 31),
    peak_day: date = PEAK_DAY,
) -> Year:
    """The year: `releases` in all, `peak` of them due at 09:30 on `peak_day` (which must be a
    working day between `start` and `end`). Same arguments, same year."""
    if releases < peak:
        raise ValueError(f"releases ({releases}) must be at least peak ({peak})")
    days = working_days(start, end)
    if peak_day not in days:
        raise ValueError(f"peak_day {peak_day} is not a working day from {start} to {end}")
    rng = random.Random(seed)
    weights = [1 / (k**0.9) for k in range(1, len(GOVUK_PRODUCERS) + 1)]
    others = [d for d in days if d != peak_day]
    peak_due = at_london(peak_day, PEAK_TIME)
    out: list[SimRelease] = []
    for n in range(releases):
        is_peak = n < peak or not others
        ons = rng.random() < ONS_SHARE
        producer = ONS if ons else rng.choices(GOVUK_PRODUCERS, weights)[0]
        if is_peak:
            due = peak_due
        else:
            day = rng.choices(others, [day_weight(d) for d in others])[0]
            table = ONS_TIMES if ons else TIMES
            due = at_london(day, rng.choices(list(table), list(table.values()))[0])
        fates = FATES
        if is_peak:  # the peak minute keeps all its releases
            fates = {f: p for f, p in FATES.items() if f not in _CHANGES}
        fate = rng.choices(list(fates), list(fates.values()))[0]
        out.append(life(rng, n, producer, "ons" if ons else "govuk", due, fate, days, peak_due))
    out.sort(key=lambda r: (r.due, r.id))
    return Year(seed=seed, releases=tuple(out), peak_due=peak_due)


_CHANGES = (Fate.CANCELLED, Fate.MOVED_LONG, Fate.MOVED_SHORT)


def life(
    rng: random.Random,
    n: int,
    producer: str,
    host: str,
    due: datetime,
    fate: Fate,
    days: list[date],
    peak_due: datetime,
) -> SimRelease:
    slug = f"statistics-{n:05d}"
    rid = f"{host}-{n:05d}"
    title = f"{producer} statistical release {n:05d}"
    path = f"/releases/{slug}" if host == "ons" else f"/government/statistics/{slug}"
    on_time = timedelta(seconds=rng.randint(1, 50))
    final, notice = due, None
    live: datetime | None = due + on_time
    if fate is Fate.LATE_MINUTES:
        live = due + timedelta(minutes=rng.randint(3, 45), seconds=rng.randint(0, 59))
    elif fate is Fate.LATE_HOURS:
        live = due + timedelta(hours=rng.randint(1, 5), minutes=rng.randint(0, 59))
    elif fate is Fate.EARLY:
        live = due - timedelta(minutes=rng.randint(2, 180))
    elif fate is Fate.CANCELLED:
        live, notice = None, due - timedelta(days=rng.randint(1, 30), hours=rng.randint(0, 8))
    elif fate is Fate.NEVER_FOUND:
        live = None
    elif fate in (Fate.MOVED_LONG, Fate.MOVED_SHORT):
        if fate is Fate.MOVED_LONG:
            notice = due - timedelta(days=rng.randint(29, 60))
            later = rng.randint(1, 20)
        else:
            notice = due - timedelta(hours=rng.randint(2, 20))
            later = rng.randint(1, 5)
        final = _working_days_later(due, later, days, avoid=peak_due)
        live = final + on_time
    return SimRelease(rid, producer, host, title, path, due, fate, final, live, notice)


def _working_days_later(due: datetime, count: int, days: list[date], avoid: datetime) -> datetime:
    """The same London time `count` working days later (past the year's end: calendar days),
    never the peak minute."""
    local = due.astimezone(LONDON)
    later = [d for d in days if d > local.date()]
    day = later[count - 1] if len(later) >= count else local.date() + timedelta(days=count)
    moved = at_london(day, local.time())
    return moved + timedelta(days=1) if moved == avoid else moved


def summary(year: Year) -> str:
    """The year in two lines: fates and due times."""
    fates: dict[str, int] = {}
    hours: dict[str, int] = {}
    for r in year.releases:
        fates[r.fate.value] = fates.get(r.fate.value, 0) + 1
        key = r.due.astimezone(LONDON).strftime("%H:%M")
        hours[key] = hours.get(key, 0) + 1
    producers = len({r.producer for r in year.releases})
    peak = sum(1 for r in year.releases if r.due == year.peak_due)
    return (
        f"  {len(year.releases)} releases from {producers} producers (seed {year.seed}); "
        f"peak {peak} due {year.peak_due.astimezone(LONDON):%a %d %b %H:%M} London\n"
        f"  fates: {', '.join(f'{k} {v}' for k, v in sorted(fates.items(), key=lambda x: -x[1]))}"
        f"\n  due times: {', '.join(f'{k} {v}' for k, v in sorted(hours.items()))}"
    )
