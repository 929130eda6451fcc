"""Email over SMTP (any server: a relay, Mailpit, aiosmtpd in the tests).

TLS: with `starttls` (the default) a remote server must offer STARTTLS, or nothing is sent: the
password and the messages would otherwise cross the network in clear. A loopback relay
(127.0.0.1, ::1, localhost) is used with STARTTLS when it offers it and without when it does
not, so a local relay or Mailpit works with no settings. `ssl` is implicit TLS (port 465).

Every failure reason names the setting that changes the outcome (the `--smtp` flag and the
RELEASEWATCH_SMTP_* variables read in bootstrap.smtp_from_env), and never the address.

Once the server has accepted the message (its 250 reply to DATA), the message is in its
hands: a failure after that (a dropped connection or an error reply on QUIT) still counts as
sent. Retrying would only deliver a duplicate. A connection dropped *before* that reply is
ambiguous (the server may or may not have kept the message); it is a transient failure, and the
service's attempt bound caps the copies such a server can cause.
"""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

from ..errors import SendError
from .base import Message

log = logging.getLogger("releasewatch.notify.smtp")

_HOST_SETTING = "--smtp HOST:PORT (or RELEASEWATCH_SMTP_HOST and RELEASEWATCH_SMTP_PORT)"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int = 587
    sender: str = "releasewatch@localhost"
    username: str | None = None
    password: str | None = None
    starttls: bool = True  # required for a remote host; used if offered on loopback
    ssl: bool = False
    timeout: float = 20.0


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


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
        try:
            email = build_email(message, s.sender)
            email.as_bytes()  # flattening is where a bad header shows itself: before connecting
        except (ValueError, TypeError, LookupError) as exc:
            # The same message can never be built: not worth another attempt.
            raise SendError(
                f"the email could not be built ({type(exc).__name__}: {exc})", permanent=True
            ) from None
        client: smtplib.SMTP | None = None
        try:
            client = self._connect()
            if s.username:
                client.login(s.username, s.password or "")
            refused = client.send_message(email)
        except SendError:
            raise
        except Exception as exc:
            raise self._reason(exc) from None
        finally:
            if client is not None:
                _quit(client)
        if refused:
            raise SendError(
                "the SMTP server refused the recipient; check the contact's email in the config",
                permanent=True,
            )
        return str(email["Message-ID"])

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.ssl:
            return smtplib.SMTP_SSL(
                s.host, s.port, timeout=s.timeout, context=ssl.create_default_context()
            )
        client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            if s.starttls:
                client.ehlo()
                if client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                elif not is_loopback(s.host):
                    raise SendError(
                        f"the SMTP server {s.host}:{s.port} does not offer STARTTLS, which a "
                        "server that is not on this machine must; use a loopback relay, "
                        "implicit TLS (RELEASEWATCH_SMTP_SSL=1, usually port 465), or set "
                        "RELEASEWATCH_SMTP_STARTTLS=0 to send in clear",
                        permanent=True,
                    )
        except BaseException:
            _quit(client)
            raise
        return client

    def _reason(self, exc: Exception) -> SendError:
        """A SendError for an SMTP failure, naming the setting that would change it."""
        s = self.settings
        where = f"{s.host}:{s.port}"
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = [code for code, _ in exc.recipients.values()]
            return SendError(
                f"the SMTP server refused the recipient ({codes}); check the contact's email "
                "in the config",
                permanent=_permanent(codes),
            )
        if isinstance(exc, smtplib.SMTPSenderRefused):
            return SendError(
                f"the SMTP server refused the sender ({exc.smtp_code}); set "
                "RELEASEWATCH_SMTP_SENDER to an address it accepts",
                permanent=_permanent([exc.smtp_code]),
            )
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return SendError(
                f"SMTP authentication failed ({exc.smtp_code}); check RELEASEWATCH_SMTP_USER "
                "and RELEASEWATCH_SMTP_PASSWORD",
                permanent=True,
            )
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            return SendError(
                f"the SMTP server {where} does not support login ({exc}); unset "
                "RELEASEWATCH_SMTP_USER for a relay that needs none, or use a server that does",
                permanent=True,
            )
        if isinstance(exc, smtplib.SMTPResponseException):
            code = exc.smtp_code
            return SendError(
                f"SMTP error {code} from {where}; see the server's log, or point "
                f"{_HOST_SETTING} at another server",
                permanent=_permanent([code]),
            )
        if isinstance(exc, ssl.SSLCertVerificationError):
            return SendError(
                f"the SMTP server {where} has a TLS certificate this machine does not trust; "
                "install its CA, or for a loopback relay with a self-signed certificate set "
                "RELEASEWATCH_SMTP_STARTTLS=0",
                permanent=True,
            )
        if isinstance(exc, ssl.SSLError):
            return SendError(
                f"TLS with the SMTP server {where} failed ({type(exc).__name__}); port 465 "
                "needs RELEASEWATCH_SMTP_SSL=1, port 587 or 25 needs it unset",
                permanent=False,
            )
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return SendError(
                f"the SMTP server {where} closed the connection before accepting the message; "
                f"check {_HOST_SETTING} names an SMTP server, and RELEASEWATCH_SMTP_SSL=1 for "
                "implicit TLS (port 465)",
                permanent=False,
            )
        if isinstance(exc, (smtplib.SMTPException, OSError)):
            return SendError(
                f"cannot reach the SMTP server {where} ({type(exc).__name__}); check "
                f"{_HOST_SETTING}",
                permanent=False,
            )
        # Anything else (a bug, an encoding error while sending) is left to the attempt bound.
        return SendError(f"SMTP send failed ({type(exc).__name__})", permanent=False)


def _quit(client: smtplib.SMTP) -> None:
    """Say goodbye; a failure here changes nothing (the message was accepted, or not, already)."""
    try:
        client.quit()
    except (smtplib.SMTPException, OSError) as exc:
        log.info("SMTP: QUIT failed (%s); closing the connection", type(exc).__name__)
        client.close()


def _permanent(codes: list[int]) -> bool:
    """5xx replies are permanent (RFC 5321); 4xx are worth retrying."""
    return bool(codes) and all(500 <= c < 600 for c in codes)
