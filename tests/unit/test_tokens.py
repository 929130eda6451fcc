"""Acknowledge tokens: thousands of hostile tokens, none accepted, none changing anything.

Every attack goes through ack_service.acknowledge against a real (in-memory) store, and the
test checks the store is byte-for-byte as it was: 0 accepted, 0 state changes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import inspect
import struct
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releasewatch.acks import by_link as ack_service
from releasewatch.acks.by_link import AckOutcome, acknowledge
from releasewatch.errors import TokenError
from releasewatch.links import tokens
from releasewatch.links.tokens import (
    TOKEN_CHARS,
    Purpose,
    TokenCodec,
    TokenExpired,
    TokenForged,
    TokenMalformed,
    TokenReplayed,
    TokenWrongPurpose,
    decode,
)
from releasewatch.model import EventKind
from tests.factories import DUE, make_release
from tests.fakes import InMemoryStore

SECRET = b"s" * 32
OTHER = b"o" * 32
NOW = DUE + timedelta(minutes=12)
RELEASE = "lms-2025-07"
CONTACT = "web_publisher"

SLOW = settings(
    max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def fresh_store() -> InMemoryStore:
    store = InMemoryStore()
    store.apply_releases([make_release()], DUE - timedelta(minutes=20))
    return store


def snapshot(store: InMemoryStore) -> tuple[object, ...]:
    return (
        [r.model_dump_json() for r in store.all_releases()],
        [e.model_dump_json() for e in store.events(RELEASE)],
        [d.model_dump_json() for d in store.deliveries(RELEASE)],
    )


CODEC = TokenCodec(SECRET)
GOOD = CODEC.issue(RELEASE, CONTACT, 1, NOW)
STORE = fresh_store()
BEFORE = snapshot(STORE)


def refused(token: str, now: datetime = NOW) -> TokenError:
    """Acknowledge with `token`; it must be refused with a TokenError and change nothing."""
    with pytest.raises(TokenError) as caught:
        acknowledge(STORE, token, CODEC, now)
    assert snapshot(STORE) == BEFORE
    return caught.value


def test_a_genuine_token_round_trips_and_fits_a_short_link():
    token = CODEC.issue(RELEASE, CONTACT, 1, NOW)
    assert len(token) == TOKEN_CHARS == 44
    verified = CODEC.verify(token, NOW, [(RELEASE, CONTACT)])
    assert (verified.release_id, verified.contact_id, verified.step) == (RELEASE, CONTACT, 1)
    assert verified.purpose == Purpose.ACK
    assert verified.expires == NOW + CODEC.ttl


def test_every_token_has_its_own_id():
    ids = {decode(CODEC.issue(RELEASE, CONTACT, 1, NOW)).token_id for _ in range(2000)}
    assert len(ids) == 2000


def test_the_mac_is_compared_in_constant_time():
    assert "hmac.compare_digest" in inspect.getsource(tokens.TokenCodec._authentic)


@SLOW
@given(st.integers(min_value=0, max_value=33 * 8 - 1))
def test_any_single_bit_flipped_is_refused(bit):
    raw = bytearray(base64.urlsafe_b64decode(GOOD))
    raw[bit // 8] ^= 1 << (bit % 8)
    token = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    assert isinstance(refused(token), (TokenForged, TokenMalformed))


@SLOW
@given(st.binary(min_size=33, max_size=33))
def test_random_tokens_of_the_right_shape_are_refused(data):
    token = base64.urlsafe_b64encode(data).decode().rstrip("=")
    assert isinstance(refused(token), (TokenForged, TokenMalformed))


@SLOW
@given(st.text(max_size=80))
def test_arbitrary_text_is_refused_as_malformed_or_forged(text):
    assert isinstance(refused(text), (TokenForged, TokenMalformed))


@SLOW
@given(st.integers(min_value=0, max_value=TOKEN_CHARS - 1))
def test_every_truncation_is_refused_as_malformed(cut):
    assert isinstance(refused(GOOD[:cut]), TokenMalformed)


@SLOW
@given(st.binary(min_size=16, max_size=64).filter(lambda k: k != SECRET), st.integers(0, 3))
def test_a_token_signed_with_any_other_key_is_refused(key, step):
    token = TokenCodec(key).issue(RELEASE, CONTACT, step, NOW)
    assert isinstance(refused(token), TokenForged)


@SLOW
@given(
    step=st.integers(0, 255),
    expires=st.integers(0, 2**32 - 1),
    purpose=st.integers(0, 15),
    token_id=st.binary(min_size=5, max_size=5),
)
def test_forged_fields_with_a_guessed_mac_are_refused(step, expires, purpose, token_id):
    """An attacker who knows the format (and the refs: they are public) still needs the key."""
    head = struct.pack(
        ">BBI5s3s3s",
        (1 << 4) | purpose,
        step,
        expires,
        token_id,
        tokens.ref(RELEASE),
        tokens.ref(CONTACT),
    )
    guess = hmac.new(b"not the key", head, hashlib.sha256).digest()[:16]
    token = base64.urlsafe_b64encode(head + guess).decode().rstrip("=")
    assert isinstance(refused(token), TokenForged)


def test_expired_by_one_second_is_refused_and_the_last_second_is_not():
    token = CODEC.issue(RELEASE, CONTACT, 1, NOW)
    expiry = NOW + CODEC.ttl
    assert CODEC.verify(token, expiry, [(RELEASE, CONTACT)]).token_id
    error = refused(token, expiry + timedelta(seconds=1))
    assert isinstance(error, TokenExpired) and error.http_status == 410


@SLOW
@given(st.sampled_from([p for p in Purpose if p != Purpose.ACK]), st.integers(0, 3))
def test_a_token_for_another_purpose_is_refused(purpose, step):
    token = CODEC.issue(RELEASE, CONTACT, step, NOW, purpose=purpose)
    assert isinstance(refused(token), TokenWrongPurpose)


def test_a_token_for_another_release_or_contact_is_not_transferable():
    """Swap the release/contact refs of a genuine token for another's: the MAC binds the ids."""
    raw = bytearray(base64.urlsafe_b64decode(GOOD))
    raw[14:17] = tokens.ref("stats_team")
    token = base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    assert isinstance(refused(token), TokenForged)


def test_a_token_for_an_unknown_release_is_refused():
    token = CODEC.issue("no-such-release", CONTACT, 1, NOW)
    assert isinstance(refused(token), TokenForged)


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=2, max_value=6))
def test_a_token_is_accepted_once_then_every_replay_is_refused(replays):
    store = fresh_store()
    token = CODEC.issue(RELEASE, CONTACT, 1, NOW)
    first = acknowledge(store, token, CODEC, NOW)
    assert first.outcome == AckOutcome.RECORDED
    after_first = snapshot(store)
    for n in range(replays):
        with pytest.raises(TokenReplayed) as caught:
            acknowledge(store, token, CODEC, NOW + timedelta(seconds=n))
        assert caught.value.http_status == 409
        assert snapshot(store) == after_first
    acks = [e for e in store.events(RELEASE) if e.kind == EventKind.ACKNOWLEDGED]
    assert len(acks) == 1


def test_replay_is_refused_even_after_the_hold_ran_out():
    store = fresh_store()
    token = CODEC.issue(RELEASE, CONTACT, 1, NOW)
    acknowledge(store, token, CODEC, NOW)
    with pytest.raises(TokenReplayed):
        acknowledge(store, token, CODEC, NOW + timedelta(hours=2))


def test_a_previous_secret_still_verifies_during_rotation_but_never_signs():
    old = TokenCodec(OTHER)
    rotated = TokenCodec(SECRET, previous=[OTHER])
    token = old.issue(RELEASE, CONTACT, 1, NOW)
    assert rotated.verify(token, NOW, [(RELEASE, CONTACT)]).contact_id == CONTACT
    fresh = rotated.issue(RELEASE, CONTACT, 1, NOW)
    with pytest.raises(TokenForged):
        old.verify(fresh, NOW, [(RELEASE, CONTACT)])


def test_short_secrets_are_refused():
    with pytest.raises(ValueError, match="at least 16 bytes"):
        TokenCodec(b"short")


def test_every_refusal_is_a_4xx():
    for error in (TokenMalformed, TokenForged, TokenWrongPurpose, TokenExpired, TokenReplayed):
        assert 400 <= error.http_status < 500
        assert tokens.public_message(error("x"))


def test_the_local_secret_is_generated_once_and_kept_private(tmp_path):
    secret, note = tokens.local_secret(tmp_path, env={})
    assert note and "ack-secret" in note
    again, note2 = tokens.local_secret(tmp_path, env={})
    assert again == secret and note2 is None
    assert (tmp_path / "ack-secret").stat().st_mode & 0o077 == 0
    configured, _ = tokens.local_secret(tmp_path, env={tokens.SECRET_ENV: "x" * 20})
    assert configured == b"x" * 20


def test_ack_service_uses_the_stores_conditional_claim_for_replays():
    from releasewatch.links import single_use

    # The one use goes through single_use.record_once, whose marker is a conditional claim
    # (by link, acknowledge -> record_ack; by a reply code, reply_ack -> record_ack).
    assert "record_ack(" in inspect.getsource(ack_service.acknowledge)
    assert "record_once(" in inspect.getsource(ack_service.record_ack)
    assert "store.claim(" in inspect.getsource(single_use.record_once)


def test_the_expiry_is_an_absolute_utc_instant():
    assert decode(GOOD).expires.tzinfo == UTC
