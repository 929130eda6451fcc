"""Acknowledging an alert from a link: verify the token, look before acting, record once.

    preview(store, token, codec, now)      read-only: what a POST would do (the GET page)
    acknowledge(store, token, codec, now)  records an EventKind.ACKNOWLEDGED event, once

Both raise a tokens.TokenError subclass for a token that is malformed, forged, for another
purpose or expired; `acknowledge` raises TokenReplayed for a token already used.

Replay protection without changing the Store port: a token is spent by claiming a dedicated
notification key, `<release>|ack|<token_id>`, with the store's conditional `claim` (the same
conditional write that stops two ticks sending one message), then the event is appended, then
the claim is marked sent. Two concurrent POSTs of one token: exactly one claim wins, the other
gets AlreadyClaimed and answers 409. The guard notification has kind ACK_NOTICE and step=None,
which no policy-made notification has (policy numbers its ack notices), so it is never mistaken
for a message; it is marked sent at once, so the policy's sweep of unfinished deliveries never
sees it. A crash between claim and mark leaves it CLAIMED until the lease ends (see _LEASE).

An acknowledgement is not recorded (and the token not spent) when it would change nothing:
the page is already live, the release was cancelled or removed, or the same contact already
acknowledged the same step and that hold is still running.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from ..links import single_use
from ..links.single_use import record_once
from ..links.tokens import Purpose, Token, TokenCodec, TokenReplayed
from ..model import Event, EventKind, ReleaseRecord
from ..policy import Ack, acks_from
from ..store.base import Store
from .holds import held_steps

OWNER = "ack-link"


class AckOutcome(StrEnum):
    RECORDED = "recorded"  # a new acknowledgement was stored
    WOULD_RECORD = "would_record"  # preview only: a POST would record it
    ALREADY_ACKNOWLEDGED = "already_acknowledged"  # this contact's hold for this step is running
    NOT_NEEDED = "not_needed"  # live, cancelled or no longer watched: nothing to acknowledge


@dataclass(frozen=True)
class AckResult:
    outcome: AckOutcome
    release_id: str
    release_title: str
    contact_id: str
    contact_name: str
    step: int
    at: datetime  # when it was recorded (or previewed)
    token_id: str
    hold_until: datetime | None = None  # later alert steps are held until then...
    held_steps: tuple[int, ...] = ()  # ...if any falls inside the hold (acks/holds.py)
    reason: str = ""  # for NOT_NEEDED / ALREADY_ACKNOWLEDGED: why, in words


def guard_key(release_id: str, token_id: str) -> str:
    return f"{release_id}|ack|{token_id}"


def preview(store: Store, token: str, codec: TokenCodec, now: datetime) -> AckResult:
    """What acknowledging would do, without doing it: the GET confirmation page."""
    verified, record = _verify(store, token, codec, now)
    if _spent(store, verified):
        raise TokenReplayed("this token has already been used")
    return _assess(store, verified, record, now, AckOutcome.WOULD_RECORD)


def acknowledge(store: Store, token: str, codec: TokenCodec, now: datetime) -> AckResult:
    verified, record = _verify(store, token, codec, now)
    if _spent(store, verified):
        raise TokenReplayed("this token has already been used")
    return record_ack(store, verified, record, now, via="link")


def record_ack(
    store: Store, verified: Token, record: ReleaseRecord, now: datetime, *, via: str
) -> AckResult:
    """Acknowledge what a verified token (or a reply code, acks/by_reply.py) names, once, by the
    same rules whichever way it came; TokenReplayed when its one use is taken."""
    result = _assess(store, verified, record, now, AckOutcome.RECORDED)
    if result.outcome != AckOutcome.RECORDED:
        return result
    event = Event(
        release_id=verified.release_id,
        at=now,
        kind=EventKind.ACKNOWLEDGED,
        contact_id=verified.contact_id,
        detail={"step": str(verified.step), "token_id": verified.token_id, "via": via},
    )
    record_once(
        store, verified, guard_key(verified.release_id, verified.token_id), event, OWNER, "ack", now
    )
    return result


def spent(store: Store, token: Token) -> bool:
    """Whether this token's (or reply code's) one use is taken."""
    return _spent(store, token)


def _verify(
    store: Store, token: str, codec: TokenCodec, now: datetime
) -> tuple[Token, ReleaseRecord]:
    return single_use.verify(store, token, codec, now, Purpose.ACK)


def _spent(store: Store, token: Token) -> bool:
    key = guard_key(token.release_id, token.token_id)
    return single_use.spent(store, token, key, EventKind.ACKNOWLEDGED)


def _assess(
    store: Store, token: Token, record: ReleaseRecord, now: datetime, outcome: AckOutcome
) -> AckResult:
    release = record.release
    contact = release.contacts[token.contact_id]
    base = AckResult(
        outcome=outcome,
        release_id=release.id,
        release_title=release.title,
        contact_id=contact.id,
        contact_name=contact.name,
        step=token.step,
        at=now,
        token_id=token.token_id,
        hold_until=now + release.ack_timeout,
        held_steps=held_steps(release, token.step, now),
    )
    if record.state.is_live:
        return _not(base, AckOutcome.NOT_NEEDED, "the page is already confirmed live")
    if release.stopped:
        return _not(base, AckOutcome.NOT_NEEDED, release.stopped_because)
    if not record.active:
        return _not(base, AckOutcome.NOT_NEEDED, "the release is no longer watched")
    running = _running_hold(acks_from(store.events(release.id)), token, now, release.ack_timeout)
    if running is not None:
        return _not(
            base,
            AckOutcome.ALREADY_ACKNOWLEDGED,
            "you already acknowledged this alert",
            hold_until=running.at + release.ack_timeout,
            held_steps=held_steps(release, running.step, running.at),
        )
    return base


def _running_hold(acks: list[Ack], token: Token, now: datetime, timeout: timedelta) -> Ack | None:
    for ack in acks:
        if ack.contact_id == token.contact_id and ack.step == token.step and now < ack.at + timeout:
            return ack
    return None


def _not(
    base: AckResult,
    outcome: AckOutcome,
    reason: str,
    hold_until: datetime | None = None,
    held_steps: tuple[int, ...] = (),
) -> AckResult:
    return replace(
        base, outcome=outcome, reason=reason, hold_until=hold_until, held_steps=held_steps
    )
