"""An Atom feed (RFC 4287) of every release judged late or early, newest first.

Each entry's id is a UUID made from the release id and its due time, so a reader sees one
entry per release and due time however often the feed is rebuilt; `updated` moves when the
judgement does (a late page not live yet gets its final lateness when it goes live)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from xml.etree import ElementTree as ET

from ..timefmt import uk_datetime, utc_iso
from .verdicts import Judged, Verdict

ATOM = "http://www.w3.org/2005/Atom"
FEED_ID = uuid.uuid5(uuid.NAMESPACE_URL, "releasewatch:punctuality:late-and-early")
FEED_TITLE = "Official statistics released late or early"
JUDGED = (Verdict.LATE, Verdict.EARLY)


def entry_id(j: Judged) -> str:
    return f"urn:uuid:{uuid.uuid5(FEED_ID, f'{j.release_id}|{utc_iso(j.due)}')}"


def late_and_early(judged: Sequence[Judged]) -> list[Judged]:
    """The feed's releases, most recently judged first."""
    chosen = [j for j in judged if j.verdict in JUDGED]
    return sorted(chosen, key=lambda j: (j.judged_at or j.due, j.release_id), reverse=True)


def feed(
    judged: Sequence[Judged], generated_at: datetime, self_href: str = "", page_href: str = ""
) -> str:
    """The feed as XML text. `self_href`/`page_href`: the feed's own address and the
    punctuality page's, when known (relative addresses are allowed by RFC 4287)."""
    ET.register_namespace("", ATOM)
    entries = late_and_early(judged)
    root = ET.Element(f"{{{ATOM}}}feed")
    _text(root, "id", f"urn:uuid:{FEED_ID}")
    _text(root, "title", FEED_TITLE)
    updated = max((j.judged_at or j.due for j in entries), default=generated_at)
    _text(root, "updated", utc_iso(updated))
    author = ET.SubElement(root, f"{{{ATOM}}}author")
    _text(author, "name", "releasewatch")
    _text(root, "generator", "releasewatch")
    if self_href:
        ET.SubElement(root, f"{{{ATOM}}}link", rel="self", href=self_href)
    if page_href:
        ET.SubElement(root, f"{{{ATOM}}}link", rel="alternate", href=page_href)
    for j in entries:
        entry = ET.SubElement(root, f"{{{ATOM}}}entry")
        _text(entry, "id", entry_id(j))
        _text(entry, "title", f"{j.verdict_text}: {j.title}")
        _text(entry, "updated", utc_iso(j.judged_at or j.due))
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", href=j.url)
        if j.producer:
            ET.SubElement(entry, f"{{{ATOM}}}category", term=j.producer)
        summary = f"{j.producer or 'A producer'}: due {uk_datetime(j.due)}. {j.why}."
        _text(entry, "summary", summary)
    body: str = ET.tostring(root, encoding="unicode", xml_declaration=False)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def _text(parent: ET.Element, name: str, text: str) -> None:
    ET.SubElement(parent, f"{{{ATOM}}}{name}").text = text
