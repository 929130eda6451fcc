"""Every calendar and rota parser is total and bounded: whatever it is given (hostile rules,
dates at the edge of the calendar, broken JSON shapes, random bytes), it returns its result or
raises only its source's own error (FeedError, RotaError), within a time and memory bound per
input (CPU time, peak memory). Property-based (hypothesis), derandomized and database-free so
every run is the same."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releasewatch.calendar.announcement import FeedError, Parsed
from releasewatch.calendar.csv_source import parse_csv
from releasewatch.calendar.govuk import parse_page as parse_govuk_page
from releasewatch.calendar.ics_source import parse_ics
from releasewatch.calendar.ons import parse_page as parse_ons_page
from releasewatch.readiness.rota import RotaError, weekly
from releasewatch.readiness.rota import ics as rota_ics
from tests.memory_bound import peak_growth_kb

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
# Per input, in CPU time (wall time on a loaded shared machine says little): the real figures
# are milliseconds; the worst a file may cost by design is its recurrence budget, ~1 s.
CPU_SECONDS = 2.0
# The process's peak memory may not grow by more than this while one input is read (measured
# from the read's start: tests/memory_bound.py): 16 MB pages once kept ~230 MB each.
GROWTH_KB = 128 * 1024

FUZZ = settings(
    max_examples=100,
    deadline=None,  # timed below, in CPU time, with the bound the product promises
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextmanager
def bounded() -> Iterator[None]:
    started = time.thread_time()
    with peak_growth_kb() as growth:
        yield
    took = time.thread_time() - started
    grown = growth[0]
    assert took < CPU_SECONDS, f"{took:.2f}s of CPU for one input"
    assert grown < GROWTH_KB, f"peak memory grew {grown // 1024} MB"


# What each parser says when something it did not foresee went wrong (its last line of
# defence): never expected here, where every input is one the parsers are meant to judge.
UNFORESEEN = ("cannot be read (", "not a usable CSV file (", "not a usable iCalendar file (")


def total(parse: Callable[[], Any], own_error: type[Exception]) -> Any:
    """The parser's result, or None when it raised its own error with a reason; anything else
    fails."""
    with bounded():
        try:
            return parse()
        except own_error as exc:
            assert str(exc), "an error with no reason"
            assert not any(u in str(exc) for u in UNFORESEEN), str(exc)
            return None


# --- inputs: mostly well formed (to get past the first checks), with edges and damage -----


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`good` four times in five, else `bad`."""
    return st.integers(0, 4).flatmap(lambda n: bad if n == 4 else good)


EDGE_YEARS = st.sampled_from([1, 2, 999, 1899, 1999, 2000, 2100, 2101, 9998, 9999])
YEARS = mostly(st.sampled_from([2026, 2027]), EDGE_YEARS | st.integers(0, 9999))
DIGITS2 = st.integers(0, 99).map(lambda n: f"{n:02d}")
MONTHS = mostly(st.integers(1, 12).map(lambda n: f"{n:02d}"), DIGITS2)
DAYS = mostly(st.integers(1, 28).map(lambda n: f"{n:02d}"), DIGITS2)
CLOCKS = mostly(st.just("093000"), st.tuples(DIGITS2, DIGITS2, DIGITS2).map("".join))


@st.composite
def ical_date(draw: st.DrawFn) -> str:
    text = f"{draw(YEARS):04d}{draw(MONTHS)}{draw(DAYS)}"
    if draw(st.integers(0, 3)):
        text += "T" + draw(CLOCKS) + draw(st.sampled_from(["", "Z"]))
    return text


TZIDS = st.sampled_from(
    [
        "",
        ";TZID=Europe/London",
        ";TZID=Asia/Tokyo",
        ";TZID=Pacific/Kiritimati",
        ";TZID=Nowhere/X",
        ";VALUE=DATE",
        ";TZID=GMT Standard Time",
        ";TZID=Etc/GMT+12",
    ]
)
RULE_PARTS = st.sampled_from(
    [
        # Combinations that never match: dateutil walks to the year 9999 looking.
        "BYMONTH=4;BYMONTHDAY=31",
        "BYMONTH=2;BYMONTHDAY=30",
        "BYMONTH=1;BYYEARDAY=100",
        "BYMONTH=6;BYWEEKNO=1",
        "INTERVAL=0",
        "INTERVAL=1",
        "INTERVAL=7",
        "INTERVAL=99999999999",
        "INTERVAL=-1",
        "BYMONTH=4",
        "BYMONTH=2",
        "BYMONTH=13",
        "BYMONTHDAY=31",
        "BYMONTHDAY=30",
        "BYMONTHDAY=-31",
        "BYMONTHDAY=29",
        "BYYEARDAY=366",
        "BYYEARDAY=100",
        "BYWEEKNO=53",
        "BYWEEKNO=1",
        "BYDAY=MO",
        "BYDAY=5FR",
        "BYDAY=XX",
        "BYSETPOS=-1",
        "BYSETPOS=400",
        "BYHOUR=9",
        "BYHOUR=9,14",
        "COUNT=3",
        "COUNT=999999999",
        "UNTIL=20270101T000000Z",
        "UNTIL=00010101",
        "UNTIL=99991231T235959Z",
        "WKST=SU",
    ]
)
FREQS = mostly(
    st.sampled_from(["FREQ=DAILY", "FREQ=WEEKLY", "FREQ=MONTHLY", "FREQ=YEARLY"]),
    st.sampled_from(["FREQ=HOURLY", "FREQ=SOMETIMES", ""]),
)


@st.composite
def rrule(draw: st.DrawFn) -> str:
    return ";".join([draw(FREQS), *draw(st.lists(RULE_PARTS, max_size=4))]).strip(";")


@st.composite
def vevent(draw: st.DrawFn) -> str:
    uid = draw(mostly(st.sampled_from(["a", "b", "c"]), st.sampled_from(["", "/releases/x"])))
    lines = ["BEGIN:VEVENT"]
    if uid:
        lines.append(f"UID:{uid}")
    summary = mostly(st.just("Stats {Month} {yyyy}"), st.sampled_from(["Stats", "", "x{mm}"]))
    lines.append("SUMMARY:" + draw(summary))
    url = mostly(st.just("https://www.example.com/{yyyy}-{mm}-{dd}"), st.sampled_from(["x", ""]))
    lines.append("URL:" + draw(url))
    if draw(st.integers(0, 5)):
        lines.append(f"DTSTART{draw(TZIDS)}:{draw(ical_date())}")
    if draw(st.integers(0, 2)):
        lines.append(f"RRULE:{draw(rrule())}")
    if draw(st.integers(0, 4)) == 0:
        lines.append(f"RDATE:{draw(ical_date())}")
    if draw(st.integers(0, 4)) == 0:
        lines.append(f"EXDATE{draw(TZIDS)}:{draw(ical_date())}")
    if draw(st.integers(0, 4)) == 0:
        lines.append(f"RECURRENCE-ID{draw(TZIDS)}:{draw(ical_date())}")
    if draw(st.booleans()):
        lines.append("STATUS:" + draw(st.sampled_from(["CANCELLED", "TENTATIVE", "Confirmed"])))
    if draw(st.booleans()):
        lines.append("DTEND:" + draw(ical_date()))
    lines.append("END:VEVENT")
    return "\r\n".join(lines) + "\r\n"


@st.composite
def ical(draw: st.DrawFn) -> bytes:
    events = draw(st.lists(vevent(), max_size=6))
    text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + "".join(events) + "END:VCALENDAR\r\n"
    data = text.encode()
    if draw(st.integers(0, 9)) == 0:  # now and then, damage it
        cut = draw(st.integers(0, len(data)))
        data = data[:cut] + draw(st.binary(max_size=40)) + data[cut:]
    return data


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
OFFSETS = st.sampled_from(["Z", "+23:59", "-23:59", "+00:00", "+01:00", "", "+99:99"])
STAMPS = mostly(
    st.builds(
        lambda y, mo, d, h, mi, off: f"{y:04d}-{mo}-{d}T{h:02d}:{mi:02d}:00.000{off}",
        YEARS,
        MONTHS,
        DAYS,
        st.integers(0, 24),
        st.integers(0, 60),
        OFFSETS,
    )
    | st.sampled_from(["0001-01-01T00:00+23:59", "9999-12-31T23:59-23:59"]),
    JSON,
)
ANNOUNCEMENTS = "/government/statistics/announcements/"
SLUGS = st.text("abcdefghij-/", min_size=1, max_size=12)


@st.composite
def govuk_result(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    item = {
        "title": draw(mostly(st.text(min_size=1, max_size=30), JSON)),
        "link": draw(
            mostly(SLUGS.map(lambda s: "/government/statistics/announcements/" + s), JSON)
        ),
        "release_timestamp": draw(STAMPS),
        "statistics_announcement_state": draw(
            mostly(st.sampled_from(["confirmed", "provisional", "cancelled"]), JSON)
        ),
        "display_date": draw(st.text(max_size=20) | JSON),
        "organisations": draw(JSON),
    }
    return {k: v for k, v in item.items() if draw(st.integers(0, 9))}


@st.composite
def ons_release(draw: st.DrawFn) -> Any:
    if draw(st.integers(0, 9)) == 0:
        return draw(JSON)
    description = {
        "title": draw(mostly(st.text(min_size=1, max_size=30), JSON)),
        "release_date": draw(STAMPS),
        "published": draw(mostly(st.just(False), JSON)),
        "cancelled": draw(st.booleans()),
        "finalised": draw(mostly(st.just(True), st.booleans())),
        "provisional_date": draw(st.text(max_size=20) | JSON),
    }
    return {
        "uri": draw(mostly(SLUGS.map(lambda s: "/releases/" + s), JSON)),
        "description": description if draw(st.integers(0, 9)) else draw(JSON),
        "date_changes": draw(JSON),
    }


def page(items: Any, total_key: str, draw: st.DrawFn) -> bytes:
    total = draw(mostly(st.integers(0, 2**64), st.integers(-5, -1) | JSON))
    body: Any = {"results" if total_key == "total" else "releases": items}
    if total_key == "total":
        body["total"] = total
    else:
        body["breakdown"] = {"total": total} if draw(st.integers(0, 9)) else draw(JSON)
    if draw(st.integers(0, 9)) == 0:
        body = draw(JSON)
    return json.dumps(body).encode()


# --- the properties -------------------------------------------------------------------------


def check_parsed(out: Parsed) -> None:
    for a in out.announcements:
        assert a.due is None or 2000 <= a.due.year <= 2100  # no date past the sane range
        assert a.title and a.url


@FUZZ
@given(ical())
def test_any_ics_file_is_parsed_or_a_feed_error_quickly(data: bytes):
    out = total(lambda: parse_ics(data, NOW), FeedError)
    if out is not None:
        check_parsed(out)


@FUZZ
@given(st.data())
def test_any_govuk_search_page_is_parsed_or_a_feed_error_quickly(data: st.DataObject):
    body = page(data.draw(st.lists(govuk_result(), max_size=8)), "total", data.draw)
    out = Parsed()
    if total(lambda: parse_govuk_page(body, "https://www.gov.uk", into=out), FeedError):
        check_parsed(out)


@FUZZ
@given(st.data())
def test_any_ons_search_page_is_parsed_or_a_feed_error_quickly(data: st.DataObject):
    body = page(data.draw(st.lists(ons_release(), max_size=8)), "breakdown", data.draw)
    out = Parsed()
    if total(lambda: parse_ons_page(body, "https://www.ons.gov.uk", into=out), FeedError):
        check_parsed(out)


CSV_CELLS = st.sampled_from(
    [
        "2026-07-17 09:30",
        "0001-01-01T00:00+23:59",
        "9999-12-31T23:59-23:59",
        "2026-03-29 01:30",
        "2026-02-30",
        "0000-01-01",
        "https://www.example.com/x",
        "id-1",
        "",
        '"',
        "\x1b[31m",
    ]
) | st.text(max_size=15)
COLUMNS = ["id", "title", "url", "due", "publication_url", "producer", "chain"]


@st.composite
def csv_file(draw: st.DrawFn) -> bytes:
    header = COLUMNS[:4] if draw(st.integers(0, 3)) else draw(st.permutations(COLUMNS))[:5]
    if draw(st.integers(0, 9)) == 0:
        header.append(draw(st.text(max_size=10)))
    good = st.tuples(
        st.sampled_from(["a", "b", "x y"]),
        st.just("Title"),
        st.just("https://www.example.com/x"),
        CSV_CELLS,
    ).map(list)
    rows = draw(st.lists(mostly(good, st.lists(CSV_CELLS, max_size=8)), max_size=8))
    text = "\n".join(",".join(r) for r in [header, *rows])
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        data = draw(st.binary(max_size=60)) + data
    return data


@FUZZ
@given(csv_file())
def test_any_csv_file_is_parsed_or_a_feed_error_quickly(data: bytes):
    out = total(lambda: parse_csv(data), FeedError)
    if out is not None:
        check_parsed(out)


@FUZZ
@given(ical(), st.none() | ical())
def test_any_ical_rota_is_read_or_a_rota_error_quickly(data: bytes, override: bytes | None):
    # A rota event's SUMMARY is its contact: the fuzzed events name "Stats ..." people.
    out = total(lambda: rota_ics(data, override), RotaError)
    if out is not None:
        assert all(s.start is not None and 2000 <= s.start.year <= 2100 for s in out.shifts)


@FUZZ
@given(
    st.lists(
        st.fixed_dictionaries(
            {},
            optional={
                "days": st.lists(st.sampled_from(["mon", "sun", "xyz"]), max_size=3) | JSON,
                "from": st.sampled_from(["08:00", "24:00", "7:00", "23:59"]) | JSON,
                "to": st.sampled_from(["18:00", "24:00", "00:00", "08:00"]) | JSON,
                "contact": st.text(max_size=8) | JSON,
            },
        )
        | JSON,
        max_size=5,
    )
    | JSON
)
def test_any_weekly_rota_is_read_or_a_rota_error_quickly(entries: Any):
    total(lambda: weekly(entries), RotaError)
