"""A producer's own list as CSV, with a header row: id,title,url,due[,publication_url,producer,
chain]. `due` is Europe/London ('2026-07-17 09:30') or carries an offset; a date alone
('2026-07-17') is provisional (listed, not watched until it has a time)."""

from __future__ import annotations

import csv
import io
import re

from ..model import IDENT, first_control_char
from ..timefmt import parse_due
from .announcement import Announcement, AnnState, FeedError, Parsed, Skipped

REQUIRED = ("id", "title", "url", "due")
OPTIONAL = ("publication_url", "producer", "chain")
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_csv(data: bytes) -> Parsed:
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
    unknown = [c for c in header if c not in REQUIRED + OPTIONAL]
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
                out.announcements.append(result)
            else:
                out.skipped.append(Skipped(f"line {line}", result, fields.get("title", "")))
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
