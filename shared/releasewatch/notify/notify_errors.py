"""GOV.UK Notify's error answer, apart from its client (notify/govuk_notify.py): the reply and
receipt readers catch it on every poller tick's import path, which must not load httpx and
PyJWT when Notify is not configured (issue 19, cold start)."""

from __future__ import annotations

from .awserrors import redact


class NotifyApiError(Exception):
    """Notify answered with an error (or could not be reached: status None)."""

    def __init__(self, status: int | None, error: str, message: str) -> None:
        self.status = status
        self.error = error
        self.message = message
        super().__init__(f"{status} {error}: {message}")

    @property
    def transient(self) -> bool:
        return self.status is None or self.status == 429 or self.status >= 500

    def reason(self, address: str = "") -> str:
        """For a stored error and the logs: Notify's own words, without any address."""
        where = "unreachable" if self.status is None else str(self.status)
        detail = redact(self.message, address)[:200]
        return f"notify {where} {self.error}" + (f": {detail}" if detail else "")
