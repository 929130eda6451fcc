"""Acknowledge by replying: every alert text sent through GOV.UK Notify ends "Reply ACK 4821".

Codes
    One 6-digit code per (release, contact, chain step), drawn at random (never derived from
    the release id) and different from every other open code of a contact with the same number,
    so a reply names exactly one alert. It is kept in the store as a marker claimed with the
    same conditional write that guards every message (key `<release>|reply|<step>|<contact>|
    <n>`, its code in provider_id), so two workers cannot give one alert two codes. Repeats of
    the step carry the same code; once it is used, or CODE_LIFETIME after it was issued, the
    next text of that step gets a new one.

Guessing
    A wrong code from a contact's number is recorded once per received text (a marker keyed
    `<release>|reply|miss|<contact>|<Notify's message id>`, so a re-read text counts once), on
    each watched release that number is a contact of. Within LOCKOUT_WINDOW, after
    MAX_WRONG_PER_SENDER wrong codes from one contact, or MAX_WRONG_PER_RELEASE from anyone,
    replies on that release are locked: even the right code is refused, and that contact's
    next alert texts carry no code (the acknowledge link still works). At most 10 guesses
    among a million codes in 12 hours: one chance in 100,000.

Replies (Notify's received-text callback, or GET /v2/received-text-messages when no callback
is set, from a persisted cursor)
    A reply acknowledges when it comes from the number of a contact an alert with that code
    went to, and the code is still open: then ack_service.record_ack records it by the link's
    rules (holds alert steps, never breach steps, the others are told, single use). A reply from
    an unknown number, with a wrong, old or used code, or "STOP"-style words changes nothing;
    it is logged by outcome and Notify's message id, never with the number or the text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from ..errors import AlreadyClaimed, TokenError
from ..links.tokens import Purpose, Token
from ..model import Delivery, DeliveryStatus, Notification, NotificationKind, ReleaseRecord
from ..notify.notify_errors import NotifyApiError
from ..notify.receipts import parse_time
from ..store.base import Store
from . import by_link as ack_service
from .by_link import AckOutcome

log = logging.getLogger("releasewatch.replies")

CODE_DIGITS = 6
CODE_LIFETIME = timedelta(hours=12)
LOCKOUT_WINDOW = timedelta(hours=12)  # wrong codes older than this no longer count
MAX_WRONG_PER_SENDER = 3  # wrong codes from one contact's number, per release
MAX_WRONG_PER_RELEASE = 10  # wrong codes from anyone, per release
_PREFIX = "code:"
_MISS_PREFIX = "miss:"
_MISS = "miss"
_SAFE_ID = re.compile(r"[A-Za-z0-9-]{1,64}")
_OWNER = "reply-code"
_LEASE = timedelta(minutes=1)
# "ACK 482193", "ack482193", "Ack #482193.", or the code alone; nothing else is an
# acknowledgement. 4 digits too: codes issued before codes grew to 6 are still open.
_REPLY = re.compile(r"\s*(?:ACK\s*#?\s*)?(\d{4}|\d{6})\s*[.!]?\s*", re.IGNORECASE)


def reply_suffix(code: str) -> str:
    return f" Reply ACK {code}"


def parse_reply(text: str) -> str | None:
    """The code a reply gives, or None when it is not an acknowledgement (STOP, HELP...)."""
    match = _REPLY.fullmatch(text or "")
    return match.group(1) if match else None


def normalise_number(number: str) -> str | None:
    """Notify's numbers (447700900123, 07700900123, +44 7700 900123) as E.164; None if not
    a phone number."""
    digits = re.sub(r"[\s()-]", "", number or "")
    if digits.startswith("+"):
        digits = digits[1:]
    elif digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0") and len(digits) == 11:
        digits = "44" + digits[1:]
    if not digits.isdigit() or not 8 <= len(digits) <= 15:
        return None
    return "+" + digits


# -- codes ------------------------------------------------------------------------------------
def _marker_key(release_id: str, step: int, contact_id: str, n: int) -> str:
    return f"{release_id}|reply|{step}|{contact_id}|{n}"


@dataclass(frozen=True)
class IssuedCode:
    release_id: str
    contact_id: str
    step: int
    n: int
    code: str
    issued_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.issued_at is not None and now - self.issued_at > CODE_LIFETIME

    def token(self, now: datetime) -> Token:
        """The code as the ack service's token: its one use is this code's."""
        return Token(
            release_id=self.release_id,
            contact_id=self.contact_id,
            step=self.step,
            purpose=Purpose.ACK,
            token_id=f"reply-{self.step}-{self.n}-{self.code}",
            expires=now,
        )


def _issued(deliveries: Iterable[Delivery]) -> list[IssuedCode]:
    out = []
    for d in deliveries:
        parts = d.key.split("|")
        if len(parts) != 5 or parts[1] != "reply" or not d.notification.is_marker:
            continue
        if d.status != DeliveryStatus.SENT or not (d.provider_id or "").startswith(_PREFIX):
            continue
        release_id, _, step, contact_id, n = parts
        code = (d.provider_id or "")[len(_PREFIX) :]
        out.append(IssuedCode(release_id, contact_id, int(step), int(n), code, d.sent_at))
    return out


# -- guessing -----------------------------------------------------------------------------------
def _misses(deliveries: Iterable[Delivery], now: datetime) -> list[str]:
    """The contact of each wrong code recorded on a release within the lockout window."""
    out = []
    for d in deliveries:
        parts = d.key.split("|")
        if len(parts) != 5 or parts[1:3] != ["reply", _MISS] or not d.notification.is_marker:
            continue
        if d.status != DeliveryStatus.SENT or d.sent_at is None:
            continue
        if now - d.sent_at <= LOCKOUT_WINDOW:
            out.append(parts[3])
    return out


def locked(deliveries: Iterable[Delivery], contact_id: str, now: datetime) -> bool:
    """Whether replies from this contact on this release are refused (too many wrong codes)."""
    misses = _misses(deliveries, now)
    return len(misses) >= MAX_WRONG_PER_RELEASE or misses.count(contact_id) >= MAX_WRONG_PER_SENDER


def _record_miss(
    store: Store, release_id: str, contact_id: str, message_id: str, now: datetime
) -> None:
    """One wrong code, counted once per received text however often it is read."""
    safe = (
        message_id
        if _SAFE_ID.fullmatch(message_id)
        else hashlib.sha256(message_id.encode()).hexdigest()[:32]
    )
    marker = Notification(
        key=f"{release_id}|reply|{_MISS}|{contact_id}|{safe}",
        release_id=release_id,
        kind=NotificationKind.ACK_NOTICE,
        contact_id=contact_id,
        channel="notify_sms",
        due_at=now,
        step=None,  # a marker: never sent as a message (Notification.is_marker)
    )
    try:
        store.claim(marker, _OWNER, now, _LEASE)
    except AlreadyClaimed:
        return  # this text was counted already (read again, or Notify called back twice)
    store.mark_sent(marker.key, _OWNER, now, _MISS_PREFIX)
    if locked(store.deliveries(release_id), contact_id, now):
        log.warning(
            "replies locked on release %s for contact %s: too many wrong codes (the "
            "acknowledge link still works)",
            release_id,
            contact_id,
        )


def _used(store: Store, code: IssuedCode, now: datetime) -> bool:
    return ack_service.spent(store, code.token(now))


def code_for(
    store: Store, record: ReleaseRecord, contact_id: str, step: int, now: datetime
) -> str | None:
    """The open code for this alert, issuing one if needed; None while replies on this release
    are locked for the contact (the text then carries the link only). Raises AlreadyClaimed
    when another worker is issuing it this very moment (the send is then retried)."""
    release = record.release
    deliveries = store.deliveries(release.id)
    if locked(deliveries, contact_id, now):
        return None
    mine = [c for c in _issued(deliveries) if c.contact_id == contact_id and c.step == step]
    latest = max(mine, key=lambda c: c.n, default=None)
    if latest is not None and not _used(store, latest, now) and not latest.expired(now):
        return latest.code
    n = latest.n + 1 if latest is not None else 0
    phone = release.contacts[contact_id].phone
    taken = {c.code for c in open_codes(store, phone, now)}
    code = _draw(taken)
    guard = Notification(
        key=_marker_key(release.id, step, contact_id, n),
        release_id=release.id,
        kind=NotificationKind.ACK_NOTICE,
        contact_id=contact_id,
        channel="notify_sms",
        due_at=now,
        step=None,  # a marker: never sent as a message (Notification.is_marker)
    )
    try:
        store.claim(guard, _OWNER, now, _LEASE)
    except AlreadyClaimed:
        for c in _issued(store.deliveries(release.id)):
            if (c.contact_id, c.step, c.n) == (contact_id, step, n):
                return c.code
        raise
    store.mark_sent(guard.key, _OWNER, now, _PREFIX + code)
    return code


def _draw(taken: set[str]) -> str:
    for _ in range(100):
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        if code not in taken:
            return code
    raise RuntimeError("no free reply code")  # 100 draws among fewer than 10,000 open codes


def open_codes(store: Store, phone: str | None, now: datetime) -> list[IssuedCode]:
    """Unused codes of contacts with this number, on releases still not live."""
    if phone is None:
        return []
    out = []
    for record in store.active_releases():
        if record.state.is_live or record.release.stopped:
            continue
        holders = {c.id for c in record.release.contacts.values() if c.phone == phone}
        if not holders:
            continue
        for code in _issued(store.deliveries(record.id)):
            if code.contact_id in holders and not code.expired(now) and not _used(store, code, now):
                out.append(code)
    return out


# -- replies ----------------------------------------------------------------------------------
class ReplyOutcome(StrEnum):
    ACKNOWLEDGED = "acknowledged"
    ALREADY_ACKNOWLEDGED = "already_acknowledged"  # this contact's hold for the step runs
    NOT_NEEDED = "not_needed"  # the page is live, the release cancelled or no longer watched
    NOT_AN_ACK = "not_an_ack"  # STOP, HELP, a question...: no code in it
    UNKNOWN_NUMBER = "unknown_number"
    WRONG_CODE = "wrong_code"  # no open alert to this number has that code
    REPLAYED = "replayed"  # the code was used already
    EXPIRED = "expired"  # the code is older than CODE_LIFETIME: the next text has a new one
    LOCKED = "locked"  # too many wrong codes: replies refused for a while, the link works


@dataclass(frozen=True)
class Reply:
    message_id: str  # Notify's id for the received text
    number: str
    text: str
    at: datetime


def handle_reply(store: Store, reply: Reply, now: datetime) -> ReplyOutcome:
    outcome = _handle(store, reply, now)
    # By outcome and Notify's id only: never the number, never the text.
    log.info("reply %s: %s", reply.message_id, outcome.value)
    return outcome


def _handle(store: Store, reply: Reply, now: datetime) -> ReplyOutcome:
    code = parse_reply(reply.text)
    if code is None:
        return ReplyOutcome.NOT_AN_ACK
    number = normalise_number(reply.number)
    records = store.active_releases()
    holders = [
        (r, c.id)
        for r in records
        for c in r.release.contacts.values()
        if number is not None and c.phone == number
    ]
    if not holders:
        return ReplyOutcome.UNKNOWN_NUMBER
    matches: list[tuple[ReleaseRecord, IssuedCode]] = []
    open_to: list[tuple[ReleaseRecord, str]] = []  # holders whose replies are not locked
    for record, contact_id in holders:
        deliveries = store.deliveries(record.id)
        if locked(deliveries, contact_id, now):
            continue
        open_to.append((record, contact_id))
        for issued in _issued(deliveries):
            if issued.contact_id == contact_id and issued.code == code:
                matches.append((record, issued))
    if not open_to:
        return ReplyOutcome.LOCKED
    if not matches:
        for record, contact_id in open_to:
            if not (record.state.is_live or record.release.stopped):
                _record_miss(store, record.id, contact_id, reply.message_id, now)
        return ReplyOutcome.WRONG_CODE
    if all(c.expired(now) for _, c in matches):
        return ReplyOutcome.EXPIRED
    matches = [(r, c) for r, c in matches if not c.expired(now)]
    fresh = [(r, c) for r, c in matches if not _used(store, c, now)]
    if not fresh:
        return ReplyOutcome.REPLAYED
    record, issued = max(fresh, key=lambda pair: pair[1].n)
    try:
        result = ack_service.record_ack(store, issued.token(now), record, now, via="sms-reply")
    except TokenError:  # TokenReplayed: the same reply twice at once, the other one won
        return ReplyOutcome.REPLAYED
    return {
        AckOutcome.RECORDED: ReplyOutcome.ACKNOWLEDGED,
        AckOutcome.ALREADY_ACKNOWLEDGED: ReplyOutcome.ALREADY_ACKNOWLEDGED,
    }.get(result.outcome, ReplyOutcome.NOT_NEEDED)


class BadInbound(ValueError):
    """A callback body that is not a Notify received text message."""


def parse_inbound(body: Any, now: datetime) -> Reply:
    """Notify's received-text callback: id, source_number, message, date_received."""
    if not isinstance(body, Mapping):
        raise BadInbound("expected a JSON object")
    message_id, number, text = body.get("id"), body.get("source_number"), body.get("message")
    if not isinstance(message_id, str) or not message_id or len(message_id) > 64:
        raise BadInbound("id: expected Notify's message id")
    if not isinstance(number, str) or not isinstance(text, str):
        raise BadInbound("source_number and message: expected text")
    return Reply(message_id, number, text[:1000], parse_time(body.get("date_received")) or now)


def inbound_callback(store: Store, body: Any, now: datetime) -> tuple[int, dict[str, str]]:
    """web/notify_callbacks.py's inbound handler: 200 with the outcome whatever it was (Notify
    must not retry a reply that changes nothing), 400 for a body that is not a received text."""
    try:
        reply = parse_inbound(body, now)
    except BadInbound as exc:
        return 400, {"error": str(exc)}
    return 200, {"status": handle_reply(store, reply, now).value}


# -- polling ----------------------------------------------------------------------------------
class Cursor(Protocol):
    """Where reading received texts got to: the newest message handled."""

    def load(self) -> dict[str, str]: ...

    def save(self, value: dict[str, str]) -> None: ...


class FileCursor:
    """A cursor in a small JSON file beside the local database (written atomically)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return (
            {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}
        )

    def save(self, value: dict[str, str]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(value))
        tmp.replace(self.path)


class ReplyPoller:
    """Reads GET /v2/received-text-messages (newest first, paged back with older_than) from
    the cursor on, oldest first; a replayed message is harmless (each code is single use, a
    wrong code counts once per message id), so a lost cursor only costs a re-read of the last
    `first_look`.

    The cursor never moves past a text that was not handled: when more texts arrived than
    `pages` pages hold, those read are handled, the cursor stays, and the next poll goes on
    paging back from where this one stopped (`scan`) until it meets the cursor; only then does
    the cursor move, to the newest text the first of those polls read (`top_id`)."""

    def __init__(
        self,
        client: Any,  # NotifyClient (typed loosely: httpx and PyJWT load only with Notify)
        cursor: Cursor,
        *,
        pages: int = 4,
        first_look: timedelta = timedelta(hours=1),
    ) -> None:
        self.client = client
        self.cursor = cursor
        self.pages = max(1, pages)
        self.first_look = first_look

    def __call__(self, store: Store, now: datetime) -> int:
        return self.poll(store, now)

    def poll(self, store: Store, now: datetime) -> int:
        """Handle the texts received since the cursor; returns how many acknowledged."""
        seen = self.cursor.load()
        last_id = seen.get("id")
        since = parse_time(seen.get("at")) or now - self.first_look
        scan = seen.get("scan")  # where the last poll stopped paging back, short of the cursor
        fresh: list[Mapping[str, Any]] = []
        older_than = scan
        reached = False  # met the cursor (or the end of the list): nothing unread lies beyond
        for _ in range(self.pages):
            try:
                page = self.client.received_texts(older_than)
            except NotifyApiError as exc:
                log.warning("could not read received texts: %s", exc.reason())
                break  # the cursor stays: the next tick reads them
            texts = page.get("received_text_messages")
            if not isinstance(texts, list) or not texts:
                reached = True
                break
            for t in texts:
                at = parse_time(t.get("created_at")) if isinstance(t, dict) else None
                if not isinstance(t, dict) or t.get("id") == last_id or at is None or at < since:
                    reached = True
                    break
                fresh.append(t)
            if reached:
                break
            older_than = texts[-1].get("id") if isinstance(texts[-1], dict) else None
            if not older_than:
                reached = True
                break
        acked = sum(
            handle_reply(store, _reply(t, now), now) == ReplyOutcome.ACKNOWLEDGED
            for t in reversed(fresh)  # oldest first
        )
        if not reached:
            if fresh and older_than:  # go on from there next time; the cursor stays
                top = {"top_id": str(fresh[0].get("id")), "top_at": str(fresh[0].get("created_at"))}
                self.cursor.save(top | seen | {"scan": older_than})  # the first walk's top
            return acked
        if scan and seen.get("top_id"):
            # Everything from the cursor up to the top of the walk that began the scan is
            # handled now (the texts above `scan` by that walk): the cursor moves there.
            self.cursor.save({"id": seen["top_id"], "at": seen.get("top_at", "")})
        elif fresh:
            newest = fresh[0]
            self.cursor.save({"id": str(newest.get("id")), "at": str(newest.get("created_at"))})
        return acked


def _reply(t: Mapping[str, Any], now: datetime) -> Reply:
    return Reply(
        str(t.get("id")),
        str(t.get("user_number", "")),
        str(t.get("content", ""))[:1000],
        parse_time(t.get("created_at")) or now,
    )


def is_reply_code_marker(delivery: Delivery) -> bool:
    """For views that list deliveries: a reply code's record, not a message."""
    return delivery.notification.is_marker and delivery.key.split("|")[1:2] == ["reply"]
