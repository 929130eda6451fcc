"""Email over SMTP (any server: a relay, Mailpit, aiosmtpd in the tests)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from ..errors import SendError
from .base import Message


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    sender: str = "releasewatch@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    ssl: bool = False
    timeout: float = 20.0


def build_email(message: Message, sender: str) -> EmailMessage:
    email = EmailMessage()
    email["From"] = sender
    email["To"] = message.to
    email["Subject"] = message.subject
    email["Message-ID"] = make_msgid(domain="releasewatch")
    if message.key:
        # Lets a mail server or a person spot a duplicate delivery of the same notification.
        email["X-Releasewatch-Key"] = message.key
    email.set_content(message.text)
    if message.html:
        email.add_alternative(message.html, subtype="html")
    for att in message.attachments:
        maintype, _, subtype = att.content_type.partition("/")
        email.add_attachment(att.data, maintype=maintype, subtype=subtype, filename=att.filename)
    return email


class SmtpNotifier:
    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, message: Message) -> str:
        s = self.settings
        email = build_email(message, s.sender)
        try:
            client: smtplib.SMTP
            if s.ssl:
                client = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
            with client:
                if s.starttls and not s.ssl:
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, s.password or "")
                refused = client.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise SendError(f"recipient refused ({codes})", permanent=_permanent(codes)) from None
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(
                f"SMTP authentication failed ({exc.smtp_code})", permanent=True
            ) from None
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            raise SendError(f"SMTP error {code}", permanent=_permanent([code])) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise SendError(f"SMTP unavailable: {type(exc).__name__}", permanent=False) from None
        if refused:
            raise SendError("recipient refused", permanent=True)
        return str(email["Message-ID"])


def _permanent(codes: list[int]) -> bool:
    """5xx replies are permanent (RFC 5321); 4xx are worth retrying."""
    return bool(codes) and all(500 <= c < 600 for c in codes)
