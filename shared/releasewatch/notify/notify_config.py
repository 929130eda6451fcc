"""The config's `notify:` block and `defaults.transport`, checked where config/load.py reads them.

    notify:
      api_key_env: NOTIFY_API_KEY          # the variable holding the key (on AWS: the SSM
                                           # SecureString parameter's name, e.g. /rw/notify-key)
      email_template_id: <uuid>            # subject ((subject)), body ((body))
      sms_template_id: <uuid>              # body ((body))
      sms_sender_id: <uuid>                # optional: a text sender other than the default
      email_reply_to_id: <uuid>            # optional: a reply-to address other than the default
      callback_token_env: NOTIFY_CALLBACK_TOKEN   # optional: callbacks on the local web server
      replies: true                        # alert texts end "Reply ACK 4821" (a reply number)
      base_url: https://api.notifications.service.gov.uk   # loopback allowed in local mode

The key itself never sits in the YAML: a value shaped like a Notify key anywhere in the file is
an error at its line, which never quotes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .govuk_notify import KEY_SHAPE, NOTIFY_BASE_URL, UUID, NotifySettings

Transport = Literal["default", "notify"]
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}|/[A-Za-z0-9_./-]{1,1000}")


def _uuid(value: Any) -> Any:
    if isinstance(value, str) and not UUID.fullmatch(value):
        raise ValueError("expected a template or sender id from the Notify admin (a UUID)")
    return value


def _env_name(value: Any) -> Any:
    if isinstance(value, str) and not _ENV_NAME.fullmatch(value):
        raise ValueError(
            "expected the name of an environment variable (e.g. NOTIFY_API_KEY) or of an SSM "
            "parameter (e.g. /releasewatch/notify-api-key), not the key itself"
        )
    return value


class NotifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    api_key_env: str = Field(min_length=1)
    email_template_id: str
    sms_template_id: str
    sms_sender_id: str | None = None
    email_reply_to_id: str | None = None
    callback_token_env: str | None = None
    replies: bool = True
    base_url: str = NOTIFY_BASE_URL

    _u = field_validator(
        "email_template_id", "sms_template_id", "sms_sender_id", "email_reply_to_id", mode="before"
    )(_uuid)
    _e = field_validator("api_key_env", "callback_token_env", mode="before")(_env_name)

    def settings(self) -> NotifySettings:
        return NotifySettings(
            email_template_id=self.email_template_id,
            sms_template_id=self.sms_template_id,
            sms_sender_id=self.sms_sender_id,
            email_reply_to_id=self.email_reply_to_id,
            base_url=self.base_url,
            replies=self.replies,
        )


def key_shaped_values(data: Any, at: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Paths of every string in `data` that holds something shaped like a Notify API key."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from key_shaped_values(v, (*at, str(k)))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from key_shaped_values(v, (*at, i))
    elif isinstance(data, str) and KEY_SHAPE.search(data):
        yield at


def notify_channels_used(raw_chains: Any) -> list[tuple[str | int, ...]]:
    """Where the chains name a Notify channel (they need a `notify:` block)."""
    found: list[tuple[str | int, ...]] = []
    if not isinstance(raw_chains, dict):
        return found
    for name, steps in raw_chains.items():
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            channels = step.get("channels") if isinstance(step, dict) else None
            for j, channel in enumerate(channels if isinstance(channels, list) else []):
                if channel in ("notify_email", "notify_sms"):
                    found.append(("chains", name, i, "channels", j))
    return found


def check_notify(
    raw: dict[str, Any],
    transport: str,
    local_mode: bool,
    validate: Callable[[type[NotifyIn], Any, tuple[str | int, ...]], NotifyIn | None],
    problem: Callable[[tuple[str | int, ...], str], None],
    check_url: Callable[[str, bool], str | None],
) -> NotifyIn | None:
    """The `notify:` block (None when absent or wrong), every mistake reported where it is."""
    for path in key_shaped_values(raw):
        problem(
            path,
            "holds a GOV.UK Notify API key: keys never go in the config; put it in the "
            "environment (or SSM on AWS) and name that in notify.api_key_env",
        )
    block = raw.get("notify")
    notify = validate(NotifyIn, block, ("notify",)) if block is not None else None
    if notify is not None and notify.base_url != NOTIFY_BASE_URL:
        url_problem = check_url(notify.base_url, local_mode)
        if url_problem:
            problem(("notify", "base_url"), url_problem)
            notify = None
    if block is None:
        if transport == "notify":
            problem(
                ("defaults", "transport"),
                "transport: notify needs a notify: block (api_key_env and template ids)",
            )
        for path in notify_channels_used(raw.get("chains")):
            problem(path, "a Notify channel needs a notify: block (api_key_env and template ids)")
    return notify
