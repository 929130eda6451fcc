"""Confirming a release is ready from a link: verify the token, look before acting, record once.

    preview(store, token, codec, now)   read-only: what a POST would do (the GET page)
    confirm(store, token, codec, now)   records an EventKind.READY_CONFIRMED event, once

Tokens have purpose CONFIRM_READY (an acknowledge token is refused here, and this one at /a/).
Single use and replay-safe as in acks/by_link.py: the token is spent by claiming a marker
notification `<release>|confirm|<token_id>` with the store's conditional claim, then the event
is appended, then the marker is marked sent; of two concurrent POSTs exactly one claim wins.

One confirmation per release is enough: a later one (by anybody) records nothing and says who
confirmed and when. Nothing is recorded for a release that is live, cancelled or not watched.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from ..links import single_use
from ..links.single_use import record_once
from ..links.tokens import Purpose, Token, TokenCodec, TokenReplayed
from ..model import Event, EventKind, ReleaseRecord
from ..store.base import Store
from .policy import confirmation

OWNER = "confirm-link"


class ConfirmOutcome(StrEnum):
    RECORDED = "recorded"
    WOULD_RECORD = "would_record"  # preview only
    ALREADY_CONFIRMED = "already_confirmed"  # somebody confirmed before: nothing new
    NOT_NEEDED = "not_needed"  # live, cancelled or no longer watched


@dataclass(frozen=True)
class ConfirmResult:
    outcome: ConfirmOutcome
    release_id: str
    release_title: str
    due: datetime
    contact_id: str
    contact_name: str
    at: datetime
    token_id: str
    by: str = ""  # ALREADY_CONFIRMED: who did
    by_at: datetime | None = None
    reason: str = ""


def guard_key(release_id: str, token_id: str) -> str:
    return f"{release_id}|confirm|{token_id}"


def preview(store: Store, token: str, codec: TokenCodec, now: datetime) -> ConfirmResult:
    verified, record = _verify(store, token, codec, now)
    if _spent(store, verified):
        raise TokenReplayed("this token has already been used")
    return _assess(store, verified, record, now, ConfirmOutcome.WOULD_RECORD)


def confirm(store: Store, token: str, codec: TokenCodec, now: datetime) -> ConfirmResult:
    verified, record = _verify(store, token, codec, now)
    if _spent(store, verified):
        raise TokenReplayed("this token has already been used")
    result = _assess(store, verified, record, now, ConfirmOutcome.RECORDED)
    if result.outcome != ConfirmOutcome.RECORDED:
        return result
    # A marker (ACK_NOTICE with no step, see Notification.is_marker): never sent as a message.
    event = Event(
        release_id=verified.release_id,
        at=now,
        kind=EventKind.READY_CONFIRMED,
        contact_id=verified.contact_id,
        # The due time confirmed: if the calendar moves the release, this no longer counts.
        detail={"token_id": verified.token_id, "via": "link", "due": result.due.isoformat()},
    )
    record_once(
        store,
        verified,
        guard_key(verified.release_id, verified.token_id),
        event,
        OWNER,
        "confirm",
        now,
    )
    return result


def _verify(
    store: Store, token: str, codec: TokenCodec, now: datetime
) -> tuple[Token, ReleaseRecord]:
    return single_use.verify(store, token, codec, now, Purpose.CONFIRM_READY)


def _spent(store: Store, token: Token) -> bool:
    key = guard_key(token.release_id, token.token_id)
    return single_use.spent(store, token, key, EventKind.READY_CONFIRMED)


def _assess(
    store: Store, token: Token, record: ReleaseRecord, now: datetime, outcome: ConfirmOutcome
) -> ConfirmResult:
    release = record.release
    contact = release.contacts[token.contact_id]
    base = ConfirmResult(
        outcome=outcome,
        release_id=release.id,
        release_title=release.title,
        due=release.due,
        contact_id=contact.id,
        contact_name=contact.name,
        at=now,
        token_id=token.token_id,
    )
    if record.state.is_live:
        return replace(base, outcome=ConfirmOutcome.NOT_NEEDED, reason="the page is already live")
    if release.stopped:
        return replace(base, outcome=ConfirmOutcome.NOT_NEEDED, reason=release.stopped_because)
    if not record.active:
        reason = "the release is no longer watched"
        return replace(base, outcome=ConfirmOutcome.NOT_NEEDED, reason=reason)
    done = confirmation(store.events(release.id), release.due)
    if done is not None:
        who = release.contacts.get(done.contact_id or "")
        by = who.name if who else (done.contact_id or "someone")
        return replace(base, outcome=ConfirmOutcome.ALREADY_CONFIRMED, by=by, by_at=done.at)
    return base
