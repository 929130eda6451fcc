"""Email by Amazon SES (v2 SendEmail): text + HTML, or raw MIME when there are attachments."""

from __future__ import annotations

from typing import Any

from ..aws.lazy import Lazy
from ..errors import SendError
from .awserrors import client_config, send_error
from .base import Message
from .smtp import build_email


class SesNotifier:
    """Send email with SESv2. `sender` must be a verified identity (or in a verified domain).

    Raises SendError as notify/awserrors.py classifies SES's errors: throttling, 5xx and network
    failures are transient; MessageRejected, an unverified MAIL FROM domain, a suspended account
    or a bad parameter are permanent.
    """

    def __init__(
        self, sender: str, *, client: Any = None, configuration_set: str | None = None
    ) -> None:
        self.sender = sender
        self.configuration_set = configuration_set
        # Made on first send, not here: a handler imports and builds fast, and tests build
        # notifiers before a moto mock starts.
        self._client: Any = client if client is not None else Lazy(_sesv2_client)

    @property
    def client(self) -> Any:
        return self._client() if isinstance(self._client, Lazy) else self._client

    def send(self, message: Message) -> str:
        if message.channel != "email":
            raise SendError(f"SES sends email, not {message.channel}", permanent=True)
        request: dict[str, Any] = {
            "FromEmailAddress": self.sender,
            "Destination": {"ToAddresses": [message.to]},
            "Content": self._content(message),
        }
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        if message.key:
            # Tags show up in SES event publishing: lets an operator trace a notification.
            request["EmailTags"] = [{"Name": "notification", "Value": _tag(message.key)}]
        try:
            response = self.client.send_email(**request)
        except Exception as exc:  # every failure becomes a classified SendError
            raise send_error("ses", exc, message.to) from None
        return str(response["MessageId"])

    def _content(self, message: Message) -> dict[str, Any]:
        if message.attachments:
            raw = build_email(message, self.sender).as_bytes()
            return {"Raw": {"Data": raw}}
        body: dict[str, Any] = {"Text": {"Data": message.text, "Charset": "UTF-8"}}
        if message.html:
            body["Html"] = {"Data": message.html, "Charset": "UTF-8"}
        return {
            "Simple": {
                "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                "Body": body,
            }
        }


def _tag(key: str) -> str:
    """SES tag values allow only ASCII letters, digits, '_', '-', '.', '@' (max 256)."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "_-.") else "_" for c in key)[:256]


def _sesv2_client() -> Any:
    from ..aws import clients

    return clients.client("sesv2", config=client_config())
