"""SMS by Amazon SNS: Publish straight to a phone number, as a Transactional message."""

from __future__ import annotations

import logging
from typing import Any

from ..aws.lazy import Lazy
from ..errors import SendError
from .awserrors import client_config, send_error
from .base import Message

log = logging.getLogger(__name__)


class SnsSmsNotifier:
    """Send SMS with SNS Publish(PhoneNumber=...).

    `sender_id` is the alphanumeric sender shown where countries allow it (the UK does);
    `topic_arn`, when given, also gets a copy (without the number) for fan-out, e.g. to an ops
    channel; a failed copy is logged, never raised, because the SMS itself went out.

    Raises SendError as notify/awserrors.py classifies SNS's errors: Throttled(Exception),
    5xx and network failures are transient; InvalidParameter(Value), OptedOut and
    EndpointDisabled are permanent (the service then falls back to email).
    """

    def __init__(
        self,
        *,
        client: Any = None,
        sender_id: str | None = None,
        topic_arn: str | None = None,
    ) -> None:
        self.sender_id = sender_id
        self.topic_arn = topic_arn
        # Made on first send, not here: a handler imports and builds fast, and tests build
        # notifiers before a moto mock starts.
        self._client: Any = client if client is not None else Lazy(_sns_client)

    @property
    def client(self) -> Any:
        return self._client() if isinstance(self._client, Lazy) else self._client

    def attributes(self) -> dict[str, dict[str, str]]:
        # Transactional: delivered with the higher reliability SNS offers for critical
        # messages (and not subject to the Promotional quiet hours some countries impose).
        attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
        if self.sender_id:
            attributes["AWS.SNS.SMS.SenderID"] = {
                "DataType": "String",
                "StringValue": self.sender_id,
            }
        return attributes

    def send(self, message: Message) -> str:
        if message.channel != "sms":
            raise SendError(f"SNS SMS sends sms, not {message.channel}", permanent=True)
        try:
            response = self.client.publish(
                PhoneNumber=message.to,
                Message=message.text,
                MessageAttributes=self.attributes(),
            )
        except Exception as exc:  # every failure becomes a classified SendError
            raise send_error("sns", exc, message.to) from None
        if self.topic_arn:
            self._copy_to_topic(message)
        return str(response["MessageId"])

    def _copy_to_topic(self, message: Message) -> None:
        try:
            self.client.publish(
                TopicArn=self.topic_arn,
                Subject=_subject(message.subject),
                Message=message.text,
            )
        except Exception as exc:
            log.warning(
                "sms sent; topic copy failed",
                extra={"notification": message.key, "error": send_error("sns", exc, "").reason},
            )


def _subject(subject: str) -> str:
    """SNS subjects: ASCII, no line breaks, under 100 characters."""
    clean = "".join(c if c.isascii() and c.isprintable() else " " for c in subject).strip()
    return (clean or "releasewatch")[:99]


def _sns_client() -> Any:
    from ..aws import clients

    return clients.client("sns", config=client_config())
