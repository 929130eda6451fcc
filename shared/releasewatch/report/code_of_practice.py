"""Which Code of Practice for Statistics was in force on a release's due date, and how a breach
of its orderly-release requirement is named.

Edition 2.x (2018, revised May 2022) names it practice T3.6 of principle T3, Orderly release.
Edition 3.0 was published on 30 October 2025 and launched on 4 November 2025; it keeps the
standard release time and pre-announcement under its Standard 3 (see ../shared/CALENDARS.md,
"Code of Practice and breaches"). A message that cites T3.6 for a release due in 2026 would
not be true, so the edition is chosen by the due date.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

EDITION_3_FROM = datetime(2025, 11, 4, tzinfo=ZoneInfo("Europe/London"))


@dataclass(frozen=True)
class Practice:
    edition: str  # "2.1" or "3.0"
    short: str  # for a sentence: "T3.6, orderly release"
    full: str  # for the breach report's "Relevant principle(s) and practice(s)"


EDITION_2 = Practice(
    edition="2.1",
    short="T3.6, orderly release",
    full=(
        "Code of Practice for Statistics, Trustworthiness principle, T3 Orderly release: "
        "practice T3.6 (statistics are released at the standard time of 9.30am, or another time "
        "announced in advance, and that time is kept)"
    ),
)
EDITION_3 = Practice(
    edition="3.0",
    short="Standard 3, orderly release",
    full=(
        "Code of Practice for Statistics (edition 3.0), Standard 3, orderly release "
        "(statistics are released at the date and time announced in advance: the standard "
        "time of 9.30am, or another approved time, and that time is kept)"
    ),
)


def practice_for(due: datetime) -> Practice:
    """The orderly-release requirement of the Code in force at `due` (timezone-aware)."""
    return EDITION_3 if due >= EDITION_3_FROM else EDITION_2
