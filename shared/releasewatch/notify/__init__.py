"""The channels and what they say.

Notifiers, one per channel (console, smtp, ses, sns, govuk_notify, teams, slack, webhook; chat
picks among the last three), each turning a rendered Message into a sent message or SendError;
base.py is their port. messages.py words every message from a MessageContext (context.py, with
the SMS fitting every text shares); calendar_text, card_text, readiness_text and rota_text word
their own kinds. receipts.py reads GOV.UK Notify's delivery receipts back; notify_config.py is
the config's `notify:` block.
"""

from .base import Attachment, Message, Notifier

__all__ = ["Attachment", "Message", "Notifier"]
