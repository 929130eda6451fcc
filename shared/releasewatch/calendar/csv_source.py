"""A producer's own list as CSV, with a header row: id,title,url,due[,publication_url,producer,
chain]. `due` is Europe/London ('2026-07-17 09:30') or carries an offset; a date alone
('2026-07-17') is provisional (listed, not watched until it has a time). A year outside
FIRST_YEAR..LAST_YEAR is refused. An error about the file as a whole never quotes it: a path
that is not the calendar meant must not be echoed (sources.py confines paths too)."""

from __future__ import annotations

import csv
import io
import re

from ..model import IDENT, first_control_char
from ..timefmt import parse_due
from .announcement import (
    FIRST_YEAR,
    LAST_YEAR,
    Announcement,
    AnnState,
    FeedError,
    Parsed,
    Skipped,
)

REQUIRED = ("id", "title", "url", "due")
OPTIONAL = ("publication_url", "producer", "chain")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR = re.compile(r"\s*(\d{4})-")
_COLUMN = re.compile(r"[a-z][a-z0-9_]{0,29}")


def parse_csv(data: bytes) -> Parsed:
    """The file's announcements and skipped rows; FeedError (only) if it cannot be used."""
    try:
        return _parse(data)
    except FeedError:
        raise
    except Exception as exc:  # hostile input fails this source alone, with a reason
        raise FeedError(f"not a usable CSV file ({type(exc).__name__})") from None


def _parse(data: bytes) -> Parsed:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedError(f"not UTF-8 text (byte {exc.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise FeedError("empty file; expected a header row: " + ",".join(REQUIRED)) from None
    except csv.Error as exc:
        raise FeedError(f"line 1: {exc}") from None
    missing = [c for c in REQUIRED if c not in header]
    # A column is named only when it looks like one: never a line of some other file.
    unknown = [
        c if _COLUMN.fullmatch(c) else f"column {i + 1}"
        for i, c in enumerate(header)
        if c not in REQUIRED + OPTIONAL
    ]
    if len(unknown) > 5:
        unknown = [*unknown[:5], f"and {len(unknown) - 5} more"]
    if missing or unknown:
        raise FeedError(
            "line 1: "
            + "; ".join(
                ([f"missing column(s) {', '.join(missing)}"] if missing else [])
                + ([f"unknown column(s) {', '.join(unknown)}"] if unknown else [])
            )
            + f"; expected {','.join(REQUIRED)}[,{','.join(OPTIONAL)}]"
        )
    out = Parsed()
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            fields = dict(zip(header, (c.strip() for c in row), strict=False))
            result = _row(fields, len(row) == len(header))
            if isinstance(result, Announcement):
                out.add(result)
            else:
                out.skip(Skipped(f"line {line}", result, fields.get("title", "")))
    except csv.Error as exc:
        raise FeedError(f"line {reader.line_num}: {exc}") from None
    return out


def _row(fields: dict[str, str], complete: bool) -> Announcement | str:
    if not complete:
        return "wrong number of columns for the header"
    rid, title, url, due_text = (fields[c] for c in REQUIRED)
    if not IDENT.fullmatch(rid):
        return f"id {rid[:40]!r}: use letters, digits, '.', '_' and '-'"
    if not title:
        return "no title"
    for name, value in fields.items():
        bad = first_control_char(value)
        if bad is not None:
            return f"{name} contains a control character (U+{ord(bad):04X})"
    if not url:
        return "no url"
    if not due_text:
        return "no due date and time"
    state, due = AnnState.CONFIRMED, None
    year = _YEAR.match(due_text)
    if year is not None and not FIRST_YEAR <= int(year.group(1)) <= LAST_YEAR:
        # Refused before any arithmetic: a date at the calendar's edge overflows in UTC.
        return f"due is in the year {year.group(1)}: expected {FIRST_YEAR} to {LAST_YEAR}"
    if _DATE_ONLY.fullmatch(due_text):
        state = AnnState.PROVISIONAL
    else:
        try:
            due = parse_due(due_text)
        except (ValueError, OverflowError) as exc:
            return f"due: {exc}"
    return Announcement(
        id=rid,
        title=title,
        url=url,
        state=state,
        due=due,
        display_date=due_text,
        publication_url=fields.get("publication_url") or None,
        producer=fields.get("producer", ""),
        chain=fields.get("chain") or None,
    )
