"""Where messages point people: acknowledge links and the release's dashboard page."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import quote, urlsplit

from .tokens import Purpose, TokenCodec

ACK_PATH = "/a/"  # short on purpose: the link must fit in an SMS beside the essentials
RELEASE_PATH = "/r/"
CONFIRM_PATH = "/c/"  # confirm a release is ready (readiness_service)
# The dashboard on AWS: /d/<token>/ and /d/<token>/r/<id>. The token is part of the path, so
# the dashboard's relative links carry it with no cookie and no script (web.app.WebApp.signed).
DASHBOARD_PATH = "/d/"
# A confirm link stays valid a little past the due time it is about, whatever the codec's ttl.
CONFIRM_GRACE = timedelta(hours=1)


class Links(Protocol):
    def ack_url(self, release_id: str, contact_id: str, step: int, now: datetime) -> str | None:
        """A signed, expiring link that acknowledges for this contact and step (None: none)."""
        ...

    def release_url(self, release_id: str) -> str | None: ...

    def confirm_url(
        self, release_id: str, contact_id: str, now: datetime, due: datetime
    ) -> str | None:
        """A signed link that confirms the release is uploaded and scheduled (None: none)."""
        ...


class NoLinks:
    def ack_url(self, release_id: str, contact_id: str, step: int, now: datetime) -> str | None:
        return None

    def release_url(self, release_id: str) -> str | None:
        return None

    def confirm_url(
        self, release_id: str, contact_id: str, now: datetime, due: datetime
    ) -> str | None:
        return None


class SignedLinks:
    """Links to the web endpoint at `base_url` (the local server, or the API Lambda's URL).

    Every call to `ack_url` mints a fresh token (its own id, so each can be used once);
    `now` is passed in: links read no clock.
    """

    def __init__(self, base_url: str, codec: TokenCodec) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base URL {base_url!r} must start with http:// or https://")
        _check_base(base_url)
        self.base_url = base_url.rstrip("/")
        self.codec = codec

    @classmethod
    def from_secret(cls, base_url: str, secret: bytes) -> SignedLinks:
        """For the AWS side: the secret bytes come from SSM; the URL is the function URL."""
        return cls(base_url, TokenCodec(secret))

    def ack_url(self, release_id: str, contact_id: str, step: int, now: datetime) -> str | None:
        token = self.codec.issue(release_id, contact_id, step, now, purpose=Purpose.ACK)
        return f"{self.base_url}{ACK_PATH}{token}"

    def release_url(self, release_id: str) -> str | None:
        return f"{self.base_url}{RELEASE_PATH}{quote(release_id, safe='')}"

    def confirm_url(
        self, release_id: str, contact_id: str, now: datetime, due: datetime
    ) -> str | None:
        # Asked on Friday for Monday: the link must outlive the codec's usual 24 hours.
        ttl = max(self.codec.ttl, due + CONFIRM_GRACE - now)
        token = self.codec.issue(
            release_id, contact_id, 0, now, purpose=Purpose.CONFIRM_READY, ttl=ttl
        )
        return f"{self.base_url}{CONFIRM_PATH}{token}"


def dashboard_url(base_url: str, token: str) -> str:
    """The link `releasewatch dashboard-link` prints (the trailing slash matters: the
    dashboard's own links are relative to it)."""
    _check_base(base_url)
    return f"{base_url.rstrip('/')}{DASHBOARD_PATH}{token}/"


def _check_base(base_url: str) -> None:
    """Every message carries this base: it may name only a scheme, host, port and path. A
    user:password would be sent to every contact in every SMS and email; a query or fragment
    would swallow the /a/<token> path; a space or control character would break the link."""
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in base_url):
        raise ValueError(f"base URL {base_url!r} contains a space or control character")
    try:
        parts = urlsplit(base_url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValueError(f"base URL {base_url!r} is not a valid URL ({exc})") from None
    if "@" in parts.netloc:
        raise ValueError(
            f"base URL for host {parts.hostname!r} carries a user name or password (not "
            "repeated here): every message would show it; give the address without credentials"
        )
    if not parts.hostname:
        raise ValueError(f"base URL {base_url!r} names no host")
    if parts.query or parts.fragment or base_url.rstrip("/").endswith(("?", "#")):
        raise ValueError(
            f"base URL {base_url!r} has a query or fragment: the acknowledge path is appended "
            "to it; give only scheme, host, port and path"
        )
