"""The punctuality record as CSV: one row per release (punctuality.csv) and one per producer
(producers.csv), the columns named as the JSON document's fields."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from .document import move_data, release_data, summary_data
from .summary import by_producer, summarise
from .verdicts import Judged

RELEASE_COLUMNS = (
    "release_id",
    "title",
    "producer",
    "url",
    "due",
    "verdict",
    "verdict_text",
    "lateness_minutes",
    "still_not_live",
    "first_seen_live",
    "moves",
    "short_notice_moves",
    "why",
    "last_not_live_at",
    "last_not_live_status",
    "last_not_live_reason",
    "first_live_at",
    "first_live_status",
    "first_live_reason",
    "published_at",
)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    # A spreadsheet runs a cell starting with = + - @ as a formula: titles come from calendars.
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _moves_text(j: Judged) -> str:
    parts = []
    for m in (move_data(m) for m in j.moves):
        to = m["new_due"] or m["kind"]
        parts.append(f"{m['old_due']} -> {to} announced {m['announced_at']}")
    return "; ".join(parts)


def releases_csv(judged: Sequence[Judged]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RELEASE_COLUMNS)
    for j in judged:
        data = release_data(j)
        last = data["evidence"]["last_not_live"] or {}
        first = data["evidence"]["first_live"] or {}
        row = data | {
            "moves": _moves_text(j),
            "short_notice_moves": j.short_notice_moves,
            "last_not_live_at": last.get("at"),
            "last_not_live_status": last.get("status"),
            "last_not_live_reason": last.get("reason"),
            "first_live_at": first.get("at"),
            "first_live_status": first.get("status"),
            "first_live_reason": first.get("reason"),
            "published_at": first.get("published_at"),
        }
        writer.writerow([_cell(row[c]) for c in RELEASE_COLUMNS])
    return out.getvalue()


def producers_csv(judged: Sequence[Judged]) -> str:
    rows = [summary_data(s) for s in by_producer(judged)]
    out = io.StringIO()
    columns = list(summary_data(summarise([])))
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in columns])
    return out.getvalue()
