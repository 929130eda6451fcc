"""GOV.UK Notify over its REST API, with httpx and PyJWT (no notifications-python-client: it
brings requests and docopt for what is one signed POST).

    API key    `{key_name}-{service_id}-{secret}`: both UUIDs, the name may hold hyphens, so
               it is sliced from the end as Notify's own clients do (key[-73:-37], key[-36:]).
    token      a JWT per request: HS256, {"iss": service_id, "iat": now}, signed with the
               secret; Notify refuses one more than 30 s off its clock (403 AuthError).
    send       POST /v2/notifications/email | /sms with template_id, personalisation and
               reference (the delivery key: Notify's de-duplication aid, and how a delivery
               receipt finds its delivery); 201 with the notification's `id`.
    errors     {"status_code": 400, "errors": [{"error": "BadRequestError", "message": ...}]}

    transient (SendError permanent=False: retried within the attempt bound)
        429 RateLimitError / TooManyRequestsError, any 5xx, network failures and timeouts
    permanent (SendError permanent=True: the fallback path runs)
        400 (BadRequestError, ValidationError), 403 (AuthError), any other 4xx

One generic template per channel: the email template's subject is ((subject)) and its body
((body)); the text message template's body is ((body)). Reasons never hold the address.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..clock import Clock
from ..errors import SendError
from .base import Message
from .notify_errors import NotifyApiError

# httpx and PyJWT (with the cryptography it probes for) load with the first client or token:
# the reply and receipt readers import this module's ids on every poller tick's path, Notify
# configured or not (issue 19, cold start).
if TYPE_CHECKING:
    import httpx

NOTIFY_BASE_URL = "https://api.notifications.service.gov.uk"
PROVIDER_PREFIX = "notify:"  # a delivery's provider_id when Notify sent it
EMAIL_FIELDS = ("subject", "body")
SMS_FIELDS = ("body",)

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
UUID = re.compile(_UUID)
# A Notify API key anywhere in a text: a name, then the service id and the secret.
KEY_SHAPE = re.compile(rf"[A-Za-z0-9_.-]*-{_UUID}-{_UUID}")


class NotifyKeyError(ValueError):
    """An API key that is not `{name}-{service_id}-{secret}`; the message never quotes it."""


@dataclass(frozen=True)
class NotifyKey:
    service_id: str
    secret: str
    name: str = ""

    def __repr__(self) -> str:  # never the secret, in a traceback or a log
        return f"NotifyKey(name={self.name!r}, service_id={self.service_id!r}, secret=...)"

    @classmethod
    def parse(cls, key: str) -> NotifyKey:
        key = key.strip()
        secret, service_id = key[-36:], key[-73:-37]
        if len(key) < 74 or key[-37] != "-" or not UUID.fullmatch(secret):
            raise NotifyKeyError(
                "is not a Notify API key (expected key_name-service_id-secret, as the Notify "
                "admin shows it when the key is created)"
            )
        if not UUID.fullmatch(service_id) or key[-74] != "-":
            raise NotifyKeyError(
                "is not a Notify API key: its service id part is not a UUID (expected "
                "key_name-service_id-secret)"
            )
        return cls(service_id=service_id, secret=secret, name=key[:-74])


def api_token(key: NotifyKey, issued_at: int) -> str:
    """The bearer token for one request (Notify: a fresh one per request)."""
    import jwt

    return jwt.encode(
        {"iss": key.service_id, "iat": issued_at},
        key.secret,
        algorithm="HS256",
        headers={"typ": "JWT", "alg": "HS256"},
    )


class NotifyClient:
    """Notify's v2 API, synchronous (notifiers run in a worker thread, one call at a time)."""

    def __init__(
        self,
        key: NotifyKey | Callable[[], NotifyKey],
        clock: Clock,
        *,
        base_url: str = NOTIFY_BASE_URL,
        http: httpx.Client | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.key = key
        self.clock = clock
        self.base_url = base_url.rstrip("/")
        import httpx

        # No redirects: Notify's API never redirects, and a token must not follow one.
        self._http = http or httpx.Client(timeout=timeout, follow_redirects=False)

    def close(self) -> None:
        self._http.close()

    def _key(self) -> NotifyKey:
        """The key, or (on AWS) the key read from SSM now, cached 5 minutes: a rotated
        key is used within minutes, without a cold start."""
        if isinstance(self.key, NotifyKey):
            return self.key
        try:
            return self.key()
        except NotifyKeyError as exc:
            raise NotifyApiError(None, "KeyUnusable", f"the API key {exc}") from None
        except Exception as exc:  # SSM unreachable, parameter missing, access denied
            raise NotifyApiError(None, "KeyUnreadable", type(exc).__name__) from None

    def _headers(self) -> dict[str, str]:
        token = api_token(self._key(), int(self.clock.now().timestamp()))
        return {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "User-Agent": "releasewatch",
        }

    def request(
        self,
        method: str,
        path: str,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        import httpx

        headers = self._headers()
        try:
            response = self._http.request(
                method,
                self.base_url + path,
                json=dict(body) if body is not None else None,
                params=dict(params) if params else None,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise NotifyApiError(None, type(exc).__name__, "") from None
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400 or not isinstance(data, dict):
            raise _api_error(response.status_code, data)
        return data

    def send_email(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v2/notifications/email", body)

    def send_sms(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return self.request("POST", "/v2/notifications/sms", body)

    def notification(self, notification_id: str) -> dict[str, Any]:
        if not UUID.fullmatch(notification_id):
            raise NotifyApiError(400, "ValidationError", "not a notification id")
        return self.request("GET", f"/v2/notifications/{notification_id}")

    def received_texts(self, older_than: str | None = None) -> dict[str, Any]:
        params = {"older_than": older_than} if older_than else {}
        return self.request("GET", "/v2/received-text-messages", params=params)


def _api_error(status: int, data: Any) -> NotifyApiError:
    errors = data.get("errors") if isinstance(data, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else {}
    if not isinstance(first, dict):
        first = {}
    if status < 400:  # 2xx without a JSON object: Notify (or what stands in for it) is broken
        return NotifyApiError(502, "BadResponse", "the answer was not a JSON object")
    return NotifyApiError(
        status, str(first.get("error") or "Error"), str(first.get("message") or "")[:500]
    )


@dataclass(frozen=True)
class NotifySettings:
    """The config's `notify:` block, resolved (the key itself is read from the environment
    or SSM, never from the YAML)."""

    email_template_id: str
    sms_template_id: str
    sms_sender_id: str | None = None
    email_reply_to_id: str | None = None
    base_url: str = NOTIFY_BASE_URL
    # Alert texts end "Reply ACK 4821": needs a reply number on the Notify service.
    replies: bool = True


class NotifyNotifier:
    """Email or text messages through Notify, for one channel's medium."""

    def __init__(self, client: NotifyClient, settings: NotifySettings, medium: str) -> None:
        if medium not in ("email", "sms"):
            raise ValueError(f"Notify sends email or sms, not {medium}")
        self.client = client
        self.settings = settings
        self.medium = medium
        # The service renders "Reply ACK <code>" only into texts whose replies come back here.
        self.accepts_replies = medium == "sms" and settings.replies

    def send(self, message: Message) -> str:
        body = self.payload(message)
        try:
            if self.medium == "sms":
                answer = self.client.send_sms(body)
            else:
                answer = self.client.send_email(body)
        except NotifyApiError as exc:
            raise SendError(exc.reason(message.to), permanent=not exc.transient) from None
        notification_id = answer.get("id")
        if not isinstance(notification_id, str) or not notification_id:
            # Accepted, but nothing to track it by: recorded as sent (it went out).
            return PROVIDER_PREFIX
        return PROVIDER_PREFIX + notification_id

    def payload(self, message: Message) -> dict[str, Any]:
        s = self.settings
        body: dict[str, Any] = {"reference": message.key}
        if self.medium == "sms":
            body |= {
                "phone_number": message.to,
                "template_id": s.sms_template_id,
                "personalisation": {"body": message.text},
            }
            if s.sms_sender_id:
                body["sms_sender_id"] = s.sms_sender_id
        else:
            body |= {
                "email_address": message.to,
                "template_id": s.email_template_id,
                # Attachments are not sent: Notify's file links need another template. The
                # report's text is in the body.
                "personalisation": {"subject": message.subject, "body": message.text},
            }
            if s.email_reply_to_id:
                body["email_reply_to_id"] = s.email_reply_to_id
        return body


def notify_id(provider_id: str | None) -> str | None:
    """Notify's notification id from a delivery's provider_id, or None if not sent by Notify."""
    if provider_id is None or not provider_id.startswith(PROVIDER_PREFIX):
        return None
    rest = provider_id[len(PROVIDER_PREFIX) :]
    return rest if UUID.fullmatch(rest) else None
