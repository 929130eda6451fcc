"""Readiness on every store: the release's readiness settings survive storage, and a confirm
link records one confirmation however many times (and through however many handles) it is
posted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from releasewatch.links.tokens import TokenCodec, TokenReplayed
from releasewatch.links.urls import SignedLinks
from releasewatch.model import EventKind, Readiness
from releasewatch.readiness import confirm as readiness_service
from releasewatch.store.base import Store
from tests.factories import make_release

NOW = datetime(2025, 7, 16, 13, 5, tzinfo=UTC)  # 14:05 BST, the day before
READY = Readiness(notify=("stats_team", "web_publisher"), escalate_to=("lead_official",))
CODEC = TokenCodec(b"contract-readiness-secret-0123456789")


def _token(release_id: str = "lms-2025-07") -> str:
    release = make_release(readiness=READY)
    url = SignedLinks("https://rw.example.com", CODEC).confirm_url(
        release_id, "web_publisher", NOW, release.due
    )
    assert url is not None
    return url.rsplit("/", 1)[1]


def test_readiness_settings_are_stored_as_given(store: Store) -> None:
    store.apply_releases([make_release(readiness=READY)], NOW)
    record = store.get_release("lms-2025-07")
    assert record is not None and record.release.readiness == READY


def test_a_confirm_link_records_one_confirmation(
    store: Store, open_store: Callable[[], Store]
) -> None:
    store.apply_releases([make_release(readiness=READY)], NOW)
    token = _token()
    handles = [store, open_store(), open_store()]

    def post(s: Store) -> str:
        try:
            return readiness_service.confirm(s, token, CODEC, NOW).outcome.value
        except TokenReplayed:
            return "replayed"

    # One after another: that two racing claims have one winner is the store contract's own
    # test (test_racing_claims_have_exactly_one_winner_per_key); moto does not make a read
    # beside a concurrent conditional update atomic, as DynamoDB does.
    assert [post(h) for h in handles] == ["recorded", "replayed", "replayed"]
    events = [e for e in store.events("lms-2025-07") if e.kind == EventKind.READY_CONFIRMED]
    assert [(e.contact_id, e.at) for e in events] == [("web_publisher", NOW)]
    with pytest.raises(TokenReplayed):
        readiness_service.preview(store, token, CODEC, NOW)
