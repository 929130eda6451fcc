"""What acknowledge and confirm links share: find the release a signed token names, tell
whether the token was used already, and record its one use.

A token is used once: its use is guarded by a marker claimed in the store with the same
conditional write that guards every message (a Notification that is never sent, see
Notification.is_marker), so two clicks racing on two servers record once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from ..errors import AlreadyClaimed
from ..model import Event, EventKind, Notification, NotificationKind, ReleaseRecord
from ..store.base import Store
from .tokens import Purpose, Token, TokenCodec, TokenReplayed, decode, ref

_LEASE = timedelta(minutes=10)


def verify(
    store: Store, token: str, codec: TokenCodec, now: datetime, purpose: Purpose
) -> tuple[Token, ReleaseRecord]:
    """The verified token and the release it names (TokenError when it names none)."""
    raw = decode(token)
    records = {r.id: r for r in store.all_releases() if ref(r.id) == raw.release_ref}

    def candidates() -> Iterator[tuple[str, str]]:
        for record in records.values():
            for contact_id in record.release.contacts:
                yield record.id, contact_id

    verified = codec.verify(token, now, candidates(), purpose=purpose)
    return verified, records[verified.release_id]


def spent(store: Store, token: Token, guard_key: str, recorded_as: EventKind) -> bool:
    """Whether this token's one use is taken: its marker claimed, or its event recorded."""
    if any(d.key == guard_key for d in store.deliveries(token.release_id)):
        return True
    return any(
        e.kind == recorded_as and e.detail.get("token_id") == token.token_id
        for e in store.events(token.release_id)
    )


def record_once(
    store: Store, token: Token, guard_key: str, event: Event, owner: str, use: str, now: datetime
) -> None:
    """Claim the token's marker, record `event`, mark the marker done; TokenReplayed when
    another request claimed it first."""
    guard = Notification(
        key=guard_key,
        release_id=token.release_id,
        kind=NotificationKind.ACK_NOTICE,
        contact_id=token.contact_id,
        channel="email",
        due_at=now,
        step=None,
    )
    try:
        store.claim(guard, owner, now, _LEASE)
    except AlreadyClaimed:
        raise TokenReplayed("this token has already been used") from None
    store.add_event(event)
    store.mark_sent(guard.key, owner, now, f"{use}:{token.token_id}")
