"""Signed, expiring tokens for the links in messages (acknowledge, and later confirm-ready).

A token must fit, with its link, in one 160-character SMS beside the essentials, so it is a
packed struct rather than JSON: 33 bytes, 44 characters of base64url, no padding.

    byte  0       version (high nibble) | purpose (low nibble)
    byte  1       chain step (0..255)
    bytes 2-5     expiry, Unix seconds, unsigned big-endian
    bytes 6-10    token id: 5 random bytes; the replay key (one use per token)
    bytes 11-13   release ref: first 3 bytes of SHA-256(release id)
    bytes 14-16   contact ref: first 3 bytes of SHA-256(contact id)
    bytes 17-32   MAC: HMAC-SHA256(key, domain | bytes 0-16 | len+release id | len+contact id),
                  truncated to 16 bytes (128 bits)

The token carries only short references to the release and the contact, but the MAC covers
their full ids: the verifier looks the candidates up (`TokenCodec.verify(..., candidates)`) and
accepts only a pair whose full ids make the MAC match. A reference collision therefore costs a
second HMAC, never a wrong binding. The MAC is compared with `hmac.compare_digest`.

Checks run in this order, each with its own error (all subclasses of errors.TokenError, each
carrying the HTTP status the web layer answers with):

    TokenMalformed     400  not base64url, wrong length, unknown version
    TokenForged        403  the MAC does not match any candidate (tampered, wrong key, forged,
                            or the release/contact no longer exists)
    TokenWrongPurpose  403  a genuine token minted for another purpose
    TokenExpired       410  genuine, but past its expiry (expiry second itself still valid)
    TokenReplayed      409  genuine and fresh, but already used (raised by acks/by_link.py)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import struct
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from pathlib import Path

from ..errors import TokenError

VERSION = 1
TOKEN_BYTES = 33
TOKEN_CHARS = 44
MAC_BYTES = 16
MIN_SECRET_BYTES = 16
DEFAULT_TTL = timedelta(hours=24)
SECRET_ENV = "RELEASEWATCH_ACK_SECRET"  # noqa: S105 (the variable's name, not a secret)

_HEAD = struct.Struct(">BBI5s3s3s")  # 17 bytes
_DOMAIN = b"releasewatch-token\x00"
assert _HEAD.size + MAC_BYTES == TOKEN_BYTES


class Purpose(IntEnum):
    ACK = 1  # acknowledge an alert: holds repeats and later alert steps
    CONFIRM_READY = 2  # the readiness reminder's "it is scheduled" link (readiness_service)
    DASHBOARD = 3  # read-only access to the dashboard on AWS (`releasewatch dashboard-link`)


# -- errors --------------------------------------------------------------------------------------
class TokenMalformed(TokenError):
    http_status = 400
    public = "This link is incomplete or damaged. Open it again from the original message."


class TokenForged(TokenError):
    http_status = 403
    public = "This link is not valid. It may have been altered, or the release no longer exists."


class TokenWrongPurpose(TokenError):
    http_status = 403
    public = "This link is for something else: open it from the message it came in."


class TokenExpired(TokenError):
    http_status = 410
    public = "This link has expired. Use the link in the latest message."


class TokenReplayed(TokenError):
    http_status = 409
    public = "This link has already been used to acknowledge."


def http_status(error: TokenError) -> int:
    status = getattr(error, "http_status", 400)
    return int(status)


def public_message(error: TokenError) -> str:
    text = getattr(error, "public", "This link is not valid.")
    return str(text)


# -- the token -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RawToken:
    """A token's fields as decoded: structure checked, nothing trusted yet."""

    purpose: int
    step: int
    expires: datetime
    token_id: str  # hex
    release_ref: bytes
    contact_ref: bytes
    head: bytes
    mac: bytes


@dataclass(frozen=True)
class Token:
    """A verified token: genuine, for the expected purpose, not expired."""

    release_id: str
    contact_id: str
    step: int
    purpose: Purpose
    token_id: str
    expires: datetime


def ref(identifier: str) -> bytes:
    return hashlib.sha256(identifier.encode()).digest()[:3]


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode(token: str) -> RawToken:
    """Check a token's shape. Raises TokenMalformed; says nothing about authenticity."""
    if not isinstance(token, str) or len(token) != TOKEN_CHARS:
        raise TokenMalformed(f"expected {TOKEN_CHARS} characters")
    if not token.isascii() or any(not (c.isalnum() or c in "-_") for c in token):
        raise TokenMalformed("not base64url")
    try:
        data = base64.urlsafe_b64decode(token)
    except (binascii.Error, ValueError) as exc:
        raise TokenMalformed("not base64url") from exc
    if len(data) != TOKEN_BYTES:
        raise TokenMalformed("wrong length")
    head, mac = data[: _HEAD.size], data[_HEAD.size :]
    vp, step, expires, token_id, release_ref, contact_ref = _HEAD.unpack(head)
    if vp >> 4 != VERSION:
        raise TokenMalformed(f"unknown token version {vp >> 4}")
    return RawToken(
        purpose=vp & 0x0F,
        step=step,
        expires=datetime.fromtimestamp(expires, UTC),
        token_id=token_id.hex(),
        release_ref=release_ref,
        contact_ref=contact_ref,
        head=head,
        mac=mac,
    )


class TokenCodec:
    """Issues and verifies tokens with one current secret and any number of previous ones
    (verify-only, for rotating the secret without breaking links already sent)."""

    def __init__(
        self, secret: bytes, *, previous: Sequence[bytes] = (), ttl: timedelta = DEFAULT_TTL
    ) -> None:
        for key in (secret, *previous):
            if len(key) < MIN_SECRET_BYTES:
                raise ValueError(f"a token secret needs at least {MIN_SECRET_BYTES} bytes")
        if ttl <= timedelta(0):
            raise ValueError("token ttl must be positive")
        self._keys = (bytes(secret), *(bytes(k) for k in previous))
        self.ttl = ttl

    def issue(
        self,
        release_id: str,
        contact_id: str,
        step: int,
        now: datetime,
        *,
        purpose: Purpose = Purpose.ACK,
        token_id: bytes | None = None,
        ttl: timedelta | None = None,
    ) -> str:
        if not 0 <= step <= 255:
            raise ValueError("step must be 0..255")
        tid = token_id if token_id is not None else secrets.token_bytes(5)
        if len(tid) != 5:
            raise ValueError("token_id must be 5 bytes")
        expires = int(
            (now + (ttl if ttl is not None and ttl > timedelta(0) else self.ttl)).timestamp()
        )
        head = _HEAD.pack(
            (VERSION << 4) | int(purpose), step, expires, tid, ref(release_id), ref(contact_id)
        )
        return _b64encode(head + self._mac(self._keys[0], head, release_id, contact_id))

    def verify(
        self,
        token: str,
        now: datetime,
        candidates: Iterable[tuple[str, str]],
        *,
        purpose: Purpose = Purpose.ACK,
    ) -> Token:
        """Verify `token` against (release id, contact id) `candidates` (only those whose refs
        match are tried). Raises a TokenError subclass; see the module docstring for the order."""
        raw = decode(token)
        match = self._authentic(raw, candidates)
        if match is None:
            raise TokenForged("signature does not match")
        if raw.purpose != purpose:
            raise TokenWrongPurpose(f"minted for purpose {raw.purpose}, not {int(purpose)}")
        if now > raw.expires:
            raise TokenExpired(f"expired at {raw.expires.isoformat()}")
        release_id, contact_id = match
        return Token(
            release_id=release_id,
            contact_id=contact_id,
            step=raw.step,
            purpose=Purpose(raw.purpose),
            token_id=raw.token_id,
            expires=raw.expires,
        )

    def _authentic(
        self, raw: RawToken, candidates: Iterable[tuple[str, str]]
    ) -> tuple[str, str] | None:
        found: tuple[str, str] | None = None
        for release_id, contact_id in candidates:
            if ref(release_id) != raw.release_ref or ref(contact_id) != raw.contact_ref:
                continue
            for key in self._keys:
                expected = self._mac(key, raw.head, release_id, contact_id)
                if hmac.compare_digest(expected, raw.mac) and found is None:
                    found = (release_id, contact_id)
        return found

    @staticmethod
    def _mac(key: bytes, head: bytes, release_id: str, contact_id: str) -> bytes:
        r, c = release_id.encode(), contact_id.encode()
        message = b"".join(
            (_DOMAIN, head, struct.pack(">H", len(r)), r, struct.pack(">H", len(c)), c)
        )
        return hmac.new(key, message, hashlib.sha256).digest()[:MAC_BYTES]


# -- dashboard links -----------------------------------------------------------------------------
# A dashboard token is about no release and no contact: it binds this fixed scope instead, so
# it can never verify as an ack or confirm token (their MACs cover a real release and contact).
DASHBOARD_SCOPE = "releasewatch-dashboard"


class DashboardLinkExpired(TokenExpired):
    public = (
        "This dashboard link has expired. Ask an operator for a new one "
        "(`releasewatch dashboard-link`)."
    )


class DashboardLinkInvalid(TokenForged):
    public = (
        "This dashboard link is not valid: it was altered, or the key that signs links has "
        "been rotated since. Ask an operator for a new one (`releasewatch dashboard-link`)."
    )


def issue_dashboard(codec: TokenCodec, now: datetime, ttl: timedelta) -> str:
    """A token that opens the dashboard until `now + ttl` (or until the key is rotated)."""
    scope = DASHBOARD_SCOPE
    return codec.issue(scope, scope, 0, now, purpose=Purpose.DASHBOARD, ttl=ttl)


def verify_dashboard(codec: TokenCodec, token: str, now: datetime) -> Token:
    """Raises TokenMalformed, TokenWrongPurpose (an ack or confirm token), DashboardLinkInvalid
    or DashboardLinkExpired."""
    raw = decode(token)
    if raw.purpose != Purpose.DASHBOARD:  # unauthenticated, but refused either way
        raise TokenWrongPurpose(f"minted for purpose {raw.purpose}, not a dashboard link")
    try:
        return codec.verify(
            token, now, [(DASHBOARD_SCOPE, DASHBOARD_SCOPE)], purpose=Purpose.DASHBOARD
        )
    except TokenExpired as exc:
        raise DashboardLinkExpired(str(exc)) from None
    except TokenForged as exc:
        raise DashboardLinkInvalid(str(exc)) from None


# -- the secret ----------------------------------------------------------------------------------
def secret_from_text(text: str) -> bytes:
    """A configured secret: base64url/hex of random bytes, or a long passphrase used as is."""
    text = text.strip()
    if len(text) < MIN_SECRET_BYTES:
        raise ValueError(f"{SECRET_ENV} is too short: use at least {MIN_SECRET_BYTES} characters")
    return text.encode()


def local_secret(state_dir: Path, env: Mapping[str, str] | None = None) -> tuple[bytes, str | None]:
    """The local mode's signing secret: $RELEASEWATCH_ACK_SECRET, else a random one generated
    once and kept in `<state_dir>/ack-secret` (mode 0600). Returns (secret, note) where note
    says a new secret was generated (links sent before with another secret stop working)."""
    env = os.environ if env is None else env
    configured = env.get(SECRET_ENV)
    if configured:
        return secret_from_text(configured), None
    path = state_dir / "ack-secret"
    if path.exists():
        return secret_from_text(path.read_text()), None
    state_dir.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return secret_from_text(path.read_text()), None
    with os.fdopen(fd, "w") as out:
        out.write(value + "\n")
    note = (
        f"{SECRET_ENV} is not set: generated an acknowledge-link secret in {path} "
        "(keep it with the database; set the variable to share one between machines)"
    )
    return value.encode(), note
