"""A hostile iCal rota is a RotaError with a reason, quickly: endless or never-matching rules,
dates at the edge of the calendar, a file that is not iCalendar (never echoed)."""

from __future__ import annotations

import time

import pytest

from releasewatch.readiness.rota import RotaError
from releasewatch.readiness.rota import ics as rota_ics


def ics(*events: str) -> bytes:
    return ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n" + "".join(events) + "END:VCALENDAR\r\n").encode()


def rota_event(rule: str = "", start: str = "DTSTART:20260701T070000Z") -> bytes:
    end = "DTEND:20260701T170000Z" if "2026" in start else start.replace("DTSTART", "DTEND")
    rrule = f"RRULE:{rule}\r\n" if rule else ""
    return ics(
        f"BEGIN:VEVENT\r\nUID:r1\r\nSUMMARY:alice\r\n{start}\r\n{end}\r\n{rrule}END:VEVENT\r\n"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (rota_event("FREQ=DAILY;INTERVAL=0"), "event r1: RRULE INTERVAL=0: expected 1 to 1000"),
        (rota_event("FREQ=DAILY;BYMONTH=4;BYMONTHDAY=31"), "tried over 200000 periods"),
        (rota_event(start="DTSTART;TZID=Asia/Tokyo:00010101T000000"), "the year 1: expected"),
        (b"root:x:0:0:root:/root:/bin/bash\n", "not an iCalendar file"),
    ],
)
def test_a_hostile_rota_is_a_rota_error_with_a_reason_quickly(data: bytes, message: str):
    started = time.perf_counter()
    with pytest.raises(RotaError) as caught:
        rota_ics(data)
    assert time.perf_counter() - started < 3
    assert message in str(caught.value)
    assert "root:x" not in str(caught.value)
