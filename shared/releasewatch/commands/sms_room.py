"""Does an acknowledge link under a given base URL fit in one SMS beside the essentials?

An SMS is head + title + tail (notify/messages.py): the title gives way, the link in the tail
never does, and when even head + tail exceed one segment the head is dropped. So a base URL
is acceptable only if, for the longest head any message with a link can have, head + tail
still fit: then every SMS keeps what happened, when, and the whole link.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

from ..links.tokens import TokenCodec
from ..links.urls import SignedLinks
from ..model import Chain, Check, Contact, Notification, NotificationKind, Release, Step
from ..notify.context import SMS_LIMIT, MessageContext
from ..notify.messages import sms_text

_DUE = datetime(2025, 1, 16, 9, 30, tzinfo=UTC)  # GMT: the same widths as BST
_LATE = timedelta(hours=999, minutes=59)  # "999 h 59 min late": reminders go on for weeks
_CONTACT = Contact(id="c", name="c", phone="+447700900000")
_RELEASE = Release(
    id="r",
    title="x",  # one character: what is left is head + tail
    url="https://www.gov.uk/x",
    due=_DUE,
    chain=Chain(id="c", steps=(Step(after=timedelta(0), notify=("c",), channels=("sms",)),)),
    contacts={"c": _CONTACT},
)
# The widest "what the last check saw" is cut to 14 characters by the message itself.
_CHECK = Check(release_id="r", at=_DUE, url="u", live=False, reason="-", error="x" * 40)


def _longest_texts(base_url: str) -> list[tuple[str, str]]:
    """(sms text, link) for every kind of SMS that carries a link, at its widest."""
    links = SignedLinks(base_url, TokenCodec(os.urandom(32)))
    now = _DUE + _LATE
    out = []
    for kind, occurrence in ((NotificationKind.ALERT, 1), (NotificationKind.BREACH, 1)):
        link = links.ack_url("r", "c", 0, now) or ""
        notification = Notification(
            key="k",
            release_id="r",
            kind=kind,
            contact_id="c",
            channel="sms",
            due_at=now,
            step=0,
            occurrence=occurrence,
        )
        ctx = MessageContext(
            notification=notification,
            release=_RELEASE,
            contact=_CONTACT,
            now=now,
            last_check=_CHECK,
            ack_url=link,
        )
        out.append((sms_text(ctx), link))
    return out


def _fits(texts: list[tuple[str, str]]) -> bool:
    return all(
        len(text) <= SMS_LIMIT and link in text and text.startswith("RW ") for text, link in texts
    )


def public_url_problem(base_url: str) -> str | None:
    """Why links under `base_url` cannot go in SMS messages, or None if they fit."""
    try:
        texts = _longest_texts(base_url)
    except ValueError as exc:
        return str(exc)
    if _fits(texts):
        return None
    room = len(base_url.rstrip("/"))
    while room > len("https://a.b") and not _fits(_longest_texts("https://" + "x" * (room - 8))):
        room -= 1
    link = texts[0][1]
    return (
        f"{base_url!r} is too long for text messages: its acknowledge links are {len(link)} "
        f"characters, and with the alert's essentials they no longer fit one {SMS_LIMIT}-"
        f"character SMS (a link is never cut). Use a base URL of at most {room} characters."
    )
