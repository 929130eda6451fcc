"""AWS failures as SendError, classified the way SES and SNS document their errors.

    transient (SendError permanent=False: the next tick retries the claim)
        throttling        Throttling, ThrottlingException, TooManyRequestsException,
                          ThrottledException, LimitExceededException (SES: sending rate)
        server side       any HTTP 5xx, ServiceUnavailable, InternalFailure, InternalError,
                          KMSThrottlingException
        network           botocore EndpointConnectionError, ConnectTimeoutError,
                          ReadTimeoutError, ConnectionClosedError, and other BotoCoreErrors
    permanent (SendError permanent=True: the service falls back to the contact's other channel)
        MessageRejected, MailFromDomainNotVerifiedException, AccountSuspendedException,
        SendingPausedException, NotFoundException, BadRequestException, InvalidParameter,
        InvalidParameterValue, OptedOut, OptedOutException, EndpointDisabled,
        AuthorizationError, AccessDenied(Exception), parameter validation; and any other 4xx.

Unknown 4xx codes count as permanent on purpose: a request the service refuses will be refused
again, and falling back to another channel reaches the person sooner than retrying forever.

Reasons never contain the address: AWS messages sometimes quote it (SES's "identities failed
the check: ..."), so they are scrubbed of the address and of anything shaped like an email
address or a phone number.
"""

from __future__ import annotations

import re
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ParamValidationError,
    ReadTimeoutError,
)

from ..errors import SendError

TRANSIENT_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "ThrottledException",
        "LimitExceededException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalFailure",
        "InternalError",
        "InternalErrorException",
        "KMSThrottlingException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
PERMANENT_CODES = frozenset(
    {
        "MessageRejected",
        "MailFromDomainNotVerifiedException",
        "AccountSuspendedException",
        "SendingPausedException",
        "NotFoundException",
        "BadRequestException",
        "InvalidParameter",
        "InvalidParameterValue",
        "InvalidParameterException",
        "OptedOut",
        "OptedOutException",
        "EndpointDisabled",
        "EndpointDisabledException",
        "AuthorizationError",
        "AccessDenied",
        "AccessDeniedException",
    }
)
_NETWORK = (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
_EMAIL = re.compile(r"[^@\s,;:<>\"']+@[^@\s,;:<>\"']+")
_PHONE = re.compile(r"\+?\d[\d ()-]{6,}\d")


def redact(text: str, address: str) -> str:
    if address:
        text = text.replace(address, "<address>")
    text = _EMAIL.sub("<email>", text)
    return _PHONE.sub("<number>", text)


def is_permanent(code: str, status: int | None) -> bool:
    if code in TRANSIENT_CODES:
        return False
    if code in PERMANENT_CODES:
        return True
    if status is not None and status >= 500:
        return False
    return status is not None and 400 <= status < 500


def send_error(service: str, exc: Exception, address: str) -> SendError:
    """The SendError for a failed boto3 call (`service` names the API in the reason)."""
    if isinstance(exc, ClientError):
        error: dict[str, Any] = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        detail = redact(str(error.get("Message", "")), address)[:200]
        reason = f"{service} {code}" + (f": {detail}" if detail else "")
        return SendError(reason, permanent=is_permanent(code, status))
    if isinstance(exc, ParamValidationError):
        return SendError(
            f"{service} request invalid: {redact(str(exc), address)[:200]}", permanent=True
        )
    if isinstance(exc, _NETWORK):
        return SendError(f"{service} unreachable: {type(exc).__name__}", permanent=False)
    if isinstance(exc, BotoCoreError):
        return SendError(f"{service} client error: {type(exc).__name__}", permanent=False)
    return SendError(f"{service} failed: {type(exc).__name__}", permanent=False)


def client_config(max_attempts: int = 3) -> Any:
    """Short timeouts and botocore's standard retries: a tick must not hang on a channel."""
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=3,
        read_timeout=10,
    )
