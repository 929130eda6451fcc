"""The answer's Date header (probe/http.http_date): read when it is a date, ignored otherwise;
a server's header never breaks a probe."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from releasewatch.probe.http import http_date


def test_the_forms_rfc_9110_allows_are_read_in_utc() -> None:
    want = datetime(2025, 7, 17, 8, 30, tzinfo=UTC)
    assert http_date("Thu, 17 Jul 2025 08:30:00 GMT") == want  # IMF-fixdate
    assert http_date("Thursday, 17-Jul-25 08:30:00 GMT") == want  # obsolete RFC 850
    assert http_date("Thu Jul 17 08:30:00 2025") == want  # asctime, no zone: GMT
    assert http_date("Thu, 17 Jul 2025 09:30:00 +0100") == want


@pytest.mark.parametrize(
    "value",
    [None, "", "yesterday", "Thu, 99 Jul 2025 08:30:00 GMT", "x" * 65, "Thu, 17 Jul 99999 0 GMT"],
)
def test_anything_else_is_no_date(value: str | None) -> None:
    assert http_date(value) is None


@given(st.text(max_size=80))
def test_no_header_value_raises(value: str) -> None:
    got = http_date(value)
    assert got is None or got.tzinfo is not None
