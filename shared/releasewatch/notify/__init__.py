"""Notifiers: one per channel, each turning a rendered Message into a sent message or SendError."""

from .base import Attachment, Message, Notifier

__all__ = ["Attachment", "Message", "Notifier"]
