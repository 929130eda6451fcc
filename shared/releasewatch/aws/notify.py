"""GOV.UK Notify on AWS: the API key and the callbacks' bearer token are SSM SecureStrings,
read as the ack-link key is (aws/secure_parameters.py: decrypted, cached 5 minutes), so a rotated
value is used within minutes and a missing one fails the messages, never the cold start.

Without a callback token the poller reads receipts and replies back after each tick; the
received-text cursor is one item, `NOTIFY / RECEIVED-TEXTS`, in no index.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..clock import Clock
from . import secure_parameters
from .settings import PollerSettings

if TYPE_CHECKING:  # (the poller's idle tick loads no models)
    from ..model import Channel
    from ..notify.base import Notifier
    from ..store.base import Store

_CURSOR_KEY: dict[str, Any] = {"PK": {"S": "NOTIFY"}, "SK": {"S": "RECEIVED-TEXTS"}}


def read_secure(parameter_name: str) -> str:
    return secure_parameters.read_secure(parameter_name).strip()


class DynamoCursor:
    """acks.by_reply.Cursor on the table: where reading received texts got to."""

    def __init__(self, client: Any, table_name: str) -> None:
        self.client = client
        self.table_name = table_name

    def load(self) -> dict[str, str]:
        item = self.client.get_item(TableName=self.table_name, Key=_CURSOR_KEY).get("Item")
        if not item:
            return {}
        data = json.loads(item["cursor"]["S"])
        return {k: v for k, v in data.items() if isinstance(v, str)}

    def save(self, value: dict[str, str]) -> None:
        item = _CURSOR_KEY | {"cursor": {"S": json.dumps(value)}}
        self.client.put_item(TableName=self.table_name, Item=item)


def notify_for_poller(
    settings: PollerSettings,
    clock: Clock,
    store: Store,
    read: Callable[[str], str] = read_secure,
) -> tuple[dict[Channel, Notifier], list[Callable[[Store, datetime], object]]]:
    """The Notify channels, and what the poller runs after each tick when Notify does not call
    back (receipts and replies read back). Empty when Notify is not configured."""
    name = settings.notify_api_key_parameter
    if not name:
        return {}, []
    from ..acks.by_reply import ReplyPoller
    from ..bootstrap import notify_notifiers
    from ..notify.govuk_notify import NotifyClient, NotifyKey, NotifySettings
    from ..notify.receipts import ReceiptPoller

    assert settings.notify_email_template_id and settings.notify_sms_template_id
    notify = NotifySettings(
        email_template_id=settings.notify_email_template_id,
        sms_template_id=settings.notify_sms_template_id,
        sms_sender_id=settings.notify_sms_sender_id,
        email_reply_to_id=settings.notify_email_reply_to_id,
        replies=settings.notify_replies,
    )
    client = NotifyClient(lambda: NotifyKey.parse(read(name)), clock)
    notifiers = notify_notifiers(client, notify, transport=settings.notify_transport)
    after: list[Callable[[Store, datetime], object]] = []
    if not settings.notify_callback_token_parameter:
        after.append(ReceiptPoller(client, max_attempts=settings.max_attempts))
        table = getattr(store, "table_name", None)
        if settings.notify_replies and table is not None:
            cursor = DynamoCursor(getattr(store, "client"), table)  # noqa: B009
            after.append(ReplyPoller(client, cursor))
    return notifiers, after
