"""The punctuality page (/punctuality, and `releasewatch punctuality --out` as static files):
each producer's summary in a table sortable by any column without JavaScript (links carry
?sort= and ?order=), every number a link to the releases it counts, a chart of lateness over
time per producer with its data as a table, and the releases chosen.

`Links` says where a link goes: a query string on the board (`Query`), or one of the static
files the command writes (`StaticFiles`), so one template serves both."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from hashlib import sha256
from typing import Protocol
from urllib.parse import urlencode

from ...punctuality.summary import (
    COUNTED,
    Period,
    ProducerSummary,
    by_producer,
    chosen,
    in_period,
    producer_of,
    summarise,
)
from ...punctuality.verdicts import VERDICT_WORDS, Judged, Move, Verdict, notice_words
from ...timefmt import delay_text, uk, uk_datetime
from .words import zone

# Sortable columns: the ?sort= value, the heading.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("producer", "Producer"),
    ("releases", "Releases"),
    *((v.value, VERDICT_WORDS[v]) for v in COUNTED),
    ("median", "Median late"),
    ("worst", "Worst late"),
)
SORTS = frozenset(key for key, _ in COLUMNS)
LATEST_SHOWN = 50  # the unfiltered page lists the latest late and early releases only


class BadQuery(ValueError):
    """A query parameter that cannot be read: the message names it and what is expected."""


@dataclass(frozen=True)
class Query:
    """What the page shows: the period, the releases chosen (a producer, a verdict), the
    summary's order. Also where the board's links go (a query string on the same page)."""

    period: Period = field(default_factory=Period)
    producer: str | None = None
    verdict: Verdict | None = None
    all_releases: bool = False  # ?verdict=all: every release (of the producer) listed
    sort: str = "producer"
    order: str = "asc"

    @classmethod
    def parse(cls, params: dict[str, list[str]]) -> Query:
        def one(name: str) -> str | None:
            values = params.get(name)
            return values[0] if values and values[0] != "" else None

        verdict_text = one("verdict")
        verdict = None
        if verdict_text not in (None, "all"):
            try:
                verdict = Verdict(verdict_text)
            except ValueError:
                names = ", ".join(v.value for v in Verdict)
                raise BadQuery(f"verdict: expected one of {names} or all") from None
        sort = one("sort") or "producer"
        if sort not in SORTS:
            raise BadQuery(f"sort: expected one of {', '.join(sorted(SORTS))}")
        order = one("order") or "asc"
        if order not in ("asc", "desc"):
            raise BadQuery("order: expected asc or desc")
        return cls(
            period=Period(_day(one("from"), "from"), _day(one("to"), "to")),
            producer=one("producer"),
            verdict=verdict,
            all_releases=verdict_text == "all",
            sort=sort,
            order=order,
        )

    def _params(self, **changes: str | None) -> str:
        base: dict[str, str | None] = {
            "from": self.period.start.isoformat() if self.period.start else None,
            "to": self.period.end.isoformat() if self.period.end else None,
            "producer": self.producer,
            "verdict": self.verdict.value
            if self.verdict
            else ("all" if self.all_releases else None),
            "sort": self.sort if self.sort != "producer" else None,
            "order": self.order if self.order != "asc" else None,
        }
        if self.all_releases and self.verdict is None:
            base["verdict"] = "all"
        base.update(changes)
        return urlencode({k: v for k, v in base.items() if v is not None})

    # -- Links --------------------------------------------------------------------------------
    def count(self, producer: str | None, verdict: Verdict | None) -> str:
        return "?" + self._params(producer=producer, verdict=verdict.value if verdict else "all")

    def sorted_by(self, key: str, order: str) -> str:
        return "?" + self._params(
            sort=None if key == "producer" else key, order=None if order == "asc" else order
        )

    def download(self, name: str) -> str:
        period = {k: v for k, v in (("from", self.period.start), ("to", self.period.end)) if v}
        text = urlencode({k: v.isoformat() for k, v in period.items()})
        return name + (f"?{text}" if text else "")


class Links(Protocol):
    def count(self, producer: str | None, verdict: Verdict | None) -> str: ...
    def sorted_by(self, key: str, order: str) -> str: ...
    def download(self, name: str) -> str: ...


@dataclass(frozen=True)
class StaticFiles:
    """Links between the files `releasewatch punctuality --out` writes, all in one folder."""

    def count(self, producer: str | None, verdict: Verdict | None) -> str:
        return f"{releases_file(producer, verdict)}"

    def sorted_by(self, key: str, order: str) -> str:
        return "index.html" if (key, order) == ("producer", "asc") else f"sort-{key}-{order}.html"

    def download(self, name: str) -> str:
        return name


def releases_file(producer: str | None, verdict: Verdict | None) -> str:
    """The static page listing one number's releases: releases-<producer>-<verdict>.html."""
    who = _slug(producer) if producer is not None else "all-producers"
    return f"releases-{who}-{verdict.value if verdict else 'all'}.html"


@dataclass(frozen=True)
class Cell:
    text: str
    href: str | None = None  # a count links to the releases it counts


@dataclass(frozen=True)
class Header:
    key: str
    label: str
    href: str  # sorts by this column (the other way when it is the current one)
    aria_sort: str  # ascending, descending or none


@dataclass(frozen=True)
class SummaryRow:
    producer: str
    cells: tuple[Cell, ...]  # after the producer, in COLUMNS' order


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    late: bool
    label: str  # what a screen reader hears, and the tooltip


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    producer: str
    slug: str
    points: tuple[Point, ...]
    ticks: tuple[Tick, ...]
    first_day: str
    last_day: str
    description: str
    rows: tuple[tuple[str, str, str], ...]  # the data as a table: due, release, verdict


@dataclass(frozen=True)
class ReleaseRow:
    release_id: str
    title: str
    url: str
    producer: str
    due_text: str
    verdict: str
    verdict_text: str
    why: str
    first_seen_text: str
    moves: tuple[str, ...]
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class PunctualityPage:
    heading: str
    period_text: str
    zone: str
    headers: tuple[Header, ...]
    rows: tuple[SummaryRow, ...]
    totals: SummaryRow
    charts: tuple[Chart, ...]
    listing_heading: str
    releases: tuple[ReleaseRow, ...]
    listing_note: str
    downloads: dict[str, str] = field(default_factory=dict)
    filtered: bool = False


# -- the page ---------------------------------------------------------------------------------
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 640, 200, 70, 10, 10, 30


def build_page(
    judged: Sequence[Judged], query: Query, links: Links, now: datetime
) -> PunctualityPage:
    shown = in_period(judged, query.period)
    summaries = _sorted(by_producer(shown), query.sort, query.order)
    headers = tuple(
        Header(
            key,
            label,
            links.sorted_by(key, _next_order(query, key)),
            _aria_sort(query, key),
        )
        for key, label in COLUMNS
    )
    rows = tuple(_row(s, s.producer, links) for s in summaries)
    totals = _row(summarise(shown), None, links)
    filtered = query.producer is not None or query.verdict is not None or query.all_releases
    listed = chosen(shown, query.producer, query.verdict)
    if filtered:
        heading = _listing_heading(query, len(listed))
        note = ""
    else:
        listed = sorted(
            (j for j in listed if j.verdict in (Verdict.LATE, Verdict.EARLY)),
            key=lambda j: j.due,
            reverse=True,
        )
        heading = "Latest late and early releases"
        note = (
            f"The latest {min(len(listed), LATEST_SHOWN)} of {len(listed)}; choose a number "
            "in the table to list the releases it counts."
        )
        listed = listed[:LATEST_SHOWN]
    chart_from = chosen(shown, query.producer) if query.producer else shown
    return PunctualityPage(
        heading="Punctuality of official statistics",
        period_text=_period_text(query.period, shown),
        zone=zone(now),
        headers=headers,
        rows=rows,
        totals=totals,
        charts=tuple(_charts(chart_from)),
        listing_heading=heading,
        releases=tuple(_release_row(j) for j in listed),
        listing_note=note,
        downloads={
            "csv": links.download("punctuality.csv"),
            "producers_csv": links.download("producers.csv"),
            "json": links.download("punctuality.json"),
            "atom": links.download("late-and-early.atom"),
        },
        filtered=filtered,
    )


def _row(s: ProducerSummary, producer: str | None, links: Links) -> SummaryRow:
    cells = [Cell(str(s.releases), links.count(producer, None))]
    for v in COUNTED:
        n = s.count(v)
        cells.append(Cell(str(n), links.count(producer, v) if n else None))
    late = links.count(producer, Verdict.LATE) if s.count(Verdict.LATE) else None
    cells.append(Cell(_minutes_text(s.median_lateness_minutes), late))
    cells.append(Cell(_minutes_text(s.worst_lateness_minutes), late))
    return SummaryRow(s.producer if producer is not None else "All producers", tuple(cells))


def _minutes_text(minutes: float | None) -> str:
    if minutes is None:
        return "None"
    return delay_text(timedelta(minutes=minutes))


def _sort_value(s: ProducerSummary, key: str) -> tuple[float, str]:
    name = s.producer.casefold()
    if key == "producer":
        return (0.0, name)
    if key == "releases":
        return (float(s.releases), name)
    if key == "median":
        return (s.median_lateness_minutes if s.median_lateness_minutes is not None else -1, name)
    if key == "worst":
        return (float(s.worst_lateness_minutes or -1), name)
    return (float(s.count(Verdict(key))), name)


def _sorted(summaries: list[ProducerSummary], key: str, order: str) -> list[ProducerSummary]:
    return sorted(summaries, key=lambda s: _sort_value(s, key), reverse=order == "desc")


def _next_order(query: Query, key: str) -> str:
    if query.sort == key:
        return "desc" if query.order == "asc" else "asc"
    return "asc" if key == "producer" else "desc"  # counts: the most first


def _aria_sort(query: Query, key: str) -> str:
    if query.sort != key:
        return "none"
    return "ascending" if query.order == "asc" else "descending"


def _listing_heading(query: Query, n: int) -> str:
    what = VERDICT_WORDS[query.verdict].lower() if query.verdict else "all"
    who = query.producer or "all producers"
    return f"{n} release{'' if n == 1 else 's'}: {what}, {who}"


def _period_text(period: Period, shown: Sequence[Judged]) -> str:
    if not shown and period.start is None and period.end is None:
        return "No releases recorded yet."
    start = period.start or (uk(shown[0].due).date() if shown else None)
    end = period.end or (uk(shown[-1].due).date() if shown else None)
    return f"Releases due from {_long(start)} to {_long(end)}."


def _long(day: date | None) -> str:
    return f"{day:%-d %B %Y}" if day is not None else "the start"


def _release_row(j: Judged) -> ReleaseRow:
    evidence = []
    if j.last_not_live is not None:
        s = j.last_not_live
        evidence.append(f"Last seen not live {uk_datetime(s.at)}: {_served(s.status, s.error)}, "
                        f"{s.reason}")  # fmt: skip
    if j.first_live is not None:
        s = j.first_live
        line = f"First seen live {uk_datetime(s.at)}: {_served(s.status, s.error)}, {s.reason}"
        if s.published_at is not None:
            line += f"; GOV.UK says first published {uk_datetime(s.published_at)}"
        evidence.append(line)
    moves = tuple(_move_text(m) for m in j.moves)
    return ReleaseRow(
        release_id=j.release_id,
        title=j.title,
        url=j.url,
        producer=producer_of(j),
        due_text=uk_datetime(j.due),
        verdict=j.verdict.value,
        verdict_text=j.verdict_text,
        why=j.why,
        first_seen_text=uk_datetime(j.first_seen_live) if j.first_seen_live else "Not seen live",
        moves=moves,
        evidence=tuple(evidence),
    )


def _move_text(m: Move) -> str:
    what = {"moved": "Moved", "cancelled": "Cancelled"}.get(m.kind, "Date taken back")
    text = f"{what} from {uk_datetime(m.old_due)}"
    if m.new_due is not None:
        text += f" to {uk_datetime(m.new_due)}"
    text += f", seen {uk_datetime(m.announced_at)}: {notice_words(m)}"
    return text + (", short notice" if m.short else "")


def _served(status: int | None, error: str | None) -> str:
    return f"HTTP {status}" if status is not None else (error or "no answer")


# -- the chart --------------------------------------------------------------------------------
# Lateness spans seconds to a year: the y axis is logarithmic (minutes + 1), late above the
# line, early below, so both a 3-minute and a 400-day delay can be read.
_TICKS = ((1, "1 min"), (60, "1 h"), (1440, "1 day"), (43200, "30 days"), (525600, "1 year"))


def _scale(minutes: float) -> float:
    return math.copysign(math.log10(1 + abs(minutes)), minutes)


def _charts(judged: Sequence[Judged]) -> list[Chart]:
    timed = [j for j in judged if j.verdict in (Verdict.LATE, Verdict.EARLY)]
    if not timed:
        return []
    start = min(j.due for j in judged).timestamp()
    end = max(j.due for j in judged).timestamp()
    span = max(end - start, 1.0)
    top = max(_scale(abs(j.lateness_minutes or 0)) for j in timed)
    top = max(top, _scale(60))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return round(TOP + plot_h / 2 - (value / top) * (plot_h / 2), 1)

    ticks = [Tick(y(0), "on time")]
    for minutes, label in _TICKS:
        if _scale(minutes) <= top:
            ticks += [Tick(y(_scale(minutes)), f"{label} late"),
                      Tick(y(-_scale(minutes)), f"{label} early")]  # fmt: skip
    groups: dict[str, list[Judged]] = {}
    for j in timed:
        groups.setdefault(producer_of(j), []).append(j)
    out = []
    for name in sorted(groups, key=str.casefold):
        items = sorted(groups[name], key=lambda j: j.due)
        points = tuple(
            Point(
                x=round(LEFT + (j.due.timestamp() - start) / span * plot_w, 1),
                y=y(_scale(j.lateness_minutes or 0)),
                late=j.verdict == Verdict.LATE,
                label=f"{uk_datetime(j.due)}: {j.title}, {j.verdict_text.lower()}",
            )
            for j in items
        )
        late = sum(1 for j in items if j.verdict == Verdict.LATE)
        out.append(
            Chart(
                producer=name,
                slug=_slug(name),
                points=points,
                ticks=tuple(ticks),
                first_day=f"{uk(min(j.due for j in judged)):%-d %b %Y}",
                last_day=f"{uk(max(j.due for j in judged)):%-d %b %Y}",
                description=(
                    f"{late} late and {len(items) - late} early releases by {name}, by due "
                    "date; the data follows as a table."
                ),
                rows=tuple((uk_datetime(j.due), j.title, j.verdict_text) for j in items),
            )
        )
    return out


def _slug(text: str) -> str:
    """A file-name-safe name, unique per producer (two names may read alike once simplified)."""
    words = re.sub(r"[^a-z0-9]+", "-", text.casefold()).strip("-")[:50] or "producer"
    return f"{words}-{sha256(text.encode()).hexdigest()[:6]}"


def _day(text: str | None, name: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadQuery(f"{name}: expected a date like 2025-07-17, not {text[:20]!r}") from None
