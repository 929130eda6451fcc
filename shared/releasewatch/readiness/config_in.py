"""`readiness:` as written in the config (defaults, a release, or a calendar series).

Its own module so that calendar/spec.py (a series' readiness) and config/load.py can both use it
without importing each other. Resolved into model.Readiness by config.load.resolve_readiness.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from ..model import Nation


def _clock_time(value: Any) -> Any:
    # "14:00" (YAML reads an unquoted 14:00 as text here); never a bare number of minutes.
    if isinstance(value, str) and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
        raise ValueError("expected a time of day in Europe/London like '14:00'")
    if not isinstance(value, str):
        raise ValueError("expected a time of day in Europe/London like '14:00'")
    return value


class ReadinessIn(BaseModel):
    """`readiness:` under defaults, a release or a series; the more specific block overrides
    field by field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool | None = None
    remind_at: time | None = None
    escalate_at: time | None = None
    last_call: time | None = None
    nation: Nation | None = None
    notify: tuple[str, ...] | None = None
    escalate_to: tuple[str, ...] | None = None

    _c = field_validator("remind_at", "escalate_at", "last_call", mode="before")(_clock_time)
