"""The punctuality record as plain data: what the JSON document holds (schema
web/schema/punctuality.v1.json) and what the CSV and Atom renderers read. Times are ISO 8601
in UTC, durations whole minutes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from ..timefmt import utc_iso
from .summary import COUNTED, Period, ProducerSummary, by_producer, summarise
from .verdicts import SHORT_NOTICE, Judged, Move, Seen

SCHEMA_VERSION = "1.0"


def _iso(when: datetime | None) -> str | None:
    return utc_iso(when) if when is not None else None


def _day(day: date | None) -> str | None:
    return day.isoformat() if day is not None else None


def seen_data(s: Seen | None) -> dict[str, Any] | None:
    if s is None:
        return None
    return {
        "at": _iso(s.at),
        "live": s.live,
        "url": s.url,
        "status": s.status,
        "reason": s.reason,
        "error": s.error,
        "final_url": s.final_url,
        "judged_url": s.judged_url,
        "published_at": _iso(s.published_at),
        "origin_date": _iso(s.origin_date),
        "cache": dict(s.cache),
    }


def move_data(m: Move) -> dict[str, Any]:
    return {
        "kind": m.kind,
        "announced_at": _iso(m.announced_at),
        "old_due": _iso(m.old_due),
        "new_due": _iso(m.new_due),
        "notice_minutes": int(m.notice.total_seconds() / 60),
        "short_notice": m.short,
        "note": m.note,
    }


def release_data(j: Judged) -> dict[str, Any]:
    return {
        "release_id": j.release_id,
        "title": j.title,
        "url": j.url,
        "producer": j.producer,
        "due": _iso(j.due),
        "verdict": j.verdict.value,
        "verdict_text": j.verdict_text,
        "lateness_minutes": j.lateness_minutes,
        "still_not_live": j.still_not_live,
        "first_seen_live": _iso(j.first_seen_live),
        "why": j.why,
        "moves": [move_data(m) for m in j.moves],
        "evidence": {
            "last_not_live": seen_data(j.last_not_live),
            "first_live": seen_data(j.first_live),
        },
    }


def summary_data(s: ProducerSummary) -> dict[str, Any]:
    return {
        "producer": s.producer,
        "releases": s.releases,
        **{v.value: s.count(v) for v in COUNTED},
        "median_lateness_minutes": s.median_lateness_minutes,
        "worst_lateness_minutes": s.worst_lateness_minutes,
    }


def document(judged: Sequence[Judged], period: Period, generated_at: datetime) -> dict[str, Any]:
    """The whole record for `period` (`judged` already chosen for it)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": _iso(generated_at),
        "period": {"from": _day(period.start), "to": _day(period.end)},
        "short_notice_days": SHORT_NOTICE.days,
        "totals": summary_data(summarise(judged)) | {"producer": "All producers"},
        "producers": [summary_data(s) for s in by_producer(judged)],
        "releases": [release_data(j) for j in judged],
    }
