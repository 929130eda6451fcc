"""Loose title matching: producers retitle at publication ("Monthly statistics: Patents,
October 2026" announced, "Patents statistics: October 2026" published).

Titles are compared as sets of words, not strings: case, punctuation and order do not count;
boilerplate words ("statistics", "monthly", "official"...) and dates (months, years, numbers)
weigh little, so two releases of one series share most of their weight only when their
subject words agree. Two titles naming different periods (October against September) never
match, however alike the rest.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MONTHS = frozenset({
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep",
    "sept", "oct", "nov", "dec", "q1", "q2", "q3", "q4", "quarter",
})  # fmt: skip
BOILERPLATE = frozenset({
    "a", "an", "and", "the", "of", "for", "in", "on", "to", "by", "from", "at", "with",
    "statistics", "statistic", "statistical", "stats", "official", "national", "accredited",
    "monthly", "quarterly", "annual", "weekly", "provisional", "final", "revised",
    "experimental", "release", "bulletin", "data", "dataset", "report", "uk", "england",
    "wales", "scotland", "britain", "great", "northern", "ireland", "united", "kingdom", "gb",
    "summary", "overview", "headline", "latest", "update",
})  # fmt: skip
DATE_WEIGHT = 0.25
BOILERPLATE_WEIGHT = 0.1
MATCH_FROM = 0.6  # share of the announced title's weight the found one must cover


@dataclass(frozen=True)
class TitleMatch:
    score: float  # 0..1: the announced title's weight the other title shares
    shared: tuple[str, ...]  # the subject words both have (not dates or boilerplate)
    conflict: str = ""  # why they cannot be one release (different periods), else ""

    @property
    def matches(self) -> bool:
        return not self.conflict and bool(self.shared) and self.score >= MATCH_FROM

    def describe(self) -> str:
        if self.conflict:
            return self.conflict
        words = ", ".join(self.shared) or "no subject word"
        return f"title words shared: {words} (score {self.score:.2f})"


def words(title: str) -> list[str]:
    text = unicodedata.normalize("NFKC", title).casefold()
    return re.sub(r"[\W_]+", " ", text).split()


def weight(word: str) -> float:
    if word in MONTHS or word.isdigit():
        return DATE_WEIGHT
    if word in BOILERPLATE:
        return BOILERPLATE_WEIGHT
    return 1.0


def title_match(announced: str, found: str) -> TitleMatch:
    mine, theirs = set(words(announced)), set(words(found))
    total = sum(weight(w) for w in mine)
    if not total:
        return TitleMatch(0.0, ())
    common = mine & theirs
    score = sum(weight(w) for w in common) / total
    shared = tuple(sorted(w for w in common if weight(w) == 1.0))
    for kind in (_periods, _years):
        a, b = kind(mine), kind(theirs)
        if a and b and not a & b:
            return TitleMatch(score, shared, f"different periods ({_list(a)} and {_list(b)})")
    return TitleMatch(score, shared)


def _periods(found: set[str]) -> set[str]:
    # Month names only: "Q2" and "April to June" are one period in two spellings.
    return {w for w in found if w in MONTHS and w not in _QUARTERS}


_QUARTERS = frozenset({"q1", "q2", "q3", "q4", "quarter"})


def _years(found: set[str]) -> set[str]:
    return {w for w in found if len(w) == 4 and w.isdigit() and w[:2] in ("19", "20")}


def _list(found: set[str]) -> str:
    return " ".join(sorted(found))
