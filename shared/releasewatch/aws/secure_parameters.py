"""SSM SecureStrings (the ack-link key, Notify's API key and callback token, webhook URLs): read
decrypted with GetParameter, each value kept 5 minutes, so a rotated value is used within
minutes while a warm container asks SSM at most once per 5 minutes per parameter.

A failed read raises SSM's own error (botocore's ClientError: ParameterNotFound, AccessDenied),
which callers name in their reasons; nothing failed is kept, so the next read asks again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from ..clock import Clock, SystemClock

MAX_AGE_SECONDS = 300


class SecureParameters:
    """GetParameter(WithDecryption) through one SSM client (made on the first read), each value
    cached for `max_age` of `clock`'s time."""

    def __init__(
        self,
        client: Callable[[], Any],
        clock: Clock | None = None,
        max_age: timedelta = timedelta(seconds=MAX_AGE_SECONDS),
    ) -> None:
        self._make_client = client
        self._client: Any = None
        self._clock = clock or SystemClock()
        self._max_age = max_age
        self._values: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()

    def read(self, name: str) -> str:
        now = self._clock.now()
        with self._lock:
            cached = self._values.get(name)
        if cached is not None and now - cached[1] < self._max_age:
            return cached[0]
        answer = self._ssm().get_parameter(Name=name, WithDecryption=True)
        value = str(answer["Parameter"]["Value"])
        with self._lock:
            self._values[name] = (value, now)
        return value

    def clear(self) -> None:
        """Forget every value and the client (tests: each on its own moto)."""
        with self._lock:
            self._values.clear()
            self._client = None

    def _ssm(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client


def _ssm_client() -> Any:
    from . import clients

    return clients.client("ssm")


# One per container, shared by every reader, as Lambda keeps it between invocations
PARAMETERS = SecureParameters(_ssm_client)


def read_secure(parameter_name: str) -> str:
    return PARAMETERS.read(parameter_name)


def read_ack_secret(parameter_name: str) -> bytes:
    """The ack-link signing key. The poller (signing) and the API (verifying) read it the
    same way, so their bytes always agree."""
    return read_secure(parameter_name).encode()
