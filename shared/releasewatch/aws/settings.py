"""Each function's configuration, validated from its environment at cold start.

A missing or malformed variable fails the cold start with a ConfigError naming every such
variable, instead of a KeyError halfway through the first tick.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import ConfigError, ConfigProblem


class _EnvSettings(BaseModel):
    # defer_build: each function validates only its own settings, built on first use
    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore", defer_build=True)

    @field_validator("*", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        # CloudFormation cannot leave a variable out conditionally; "" means "not set".
        return None if value == "" else value

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        env = os.environ if env is None else env
        try:
            return cls.model_validate(dict(env))
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                name = str(error["loc"][0]) if error["loc"] else "?"
                message = "is not set" if error["type"] == "missing" else str(error["msg"]).lower()
                problems.append(ConfigProblem(path=name, message=message, file="environment"))
            raise ConfigError(problems) from None


_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class PollerSettings(_EnvSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    sender_email: str = Field(alias="SENDER_EMAIL", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    ses_configuration_set: str | None = Field(None, alias="SES_CONFIGURATION_SET")
    sms_sender_id: str | None = Field(None, alias="SMS_SENDER_ID")
    sms_topic_arn: str | None = Field(None, alias="SMS_TOPIC_ARN")
    ack_secret_parameter: str = Field(alias="ACK_SECRET_PARAMETER", pattern=r"^/")
    ack_base_url: str | None = Field(None, alias="ACK_BASE_URL")
    # Re-poll releases whose next check falls inside this invocation's minute, this often...
    hot_interval_seconds: float = Field(10.0, alias="HOT_INTERVAL_SECONDS", ge=1, le=30)
    # ...while at least this much of the invocation is left for one more tick (a probe's
    # total timeout is 20 s) and the notifications it may send.
    reserve_seconds: float = Field(20.0, alias="RESERVE_SECONDS", ge=5)
    # A tick waits this long for its probes: one slow origin (a body trickled until the 20 s
    # total timeout) must not hold up the other releases' checks and alerts (runner.PROBE_WAIT).
    probe_wait_seconds: float = Field(5.0, alias="PROBE_WAIT_SECONDS", gt=0, le=20)
    # Re-polling stops this far into the invocation: the next scheduled one takes over.
    window_seconds: float = Field(50.0, alias="WINDOW_SECONDS", ge=0, le=600)
    # Sending attempts per message before it is failed and its fallback runs (config's
    # defaults.max_attempts locally).
    max_attempts: int = Field(3, alias="MAX_ATTEMPTS", ge=1, le=10)
    # The account's SNS SMS spend limit (USD) and the share of it that is a problem (template
    # parameters SmsMonthlySpendLimitUSD and SmsSpendAlarmPercent); unset: not watched.
    sms_monthly_spend_limit_usd: float | None = Field(
        None, alias="SMS_MONTHLY_SPEND_LIMIT_USD", gt=0
    )
    sms_spend_alarm_percent: float = Field(80.0, alias="SMS_SPEND_ALARM_PERCENT", gt=0, le=100)
    # GOV.UK Notify (the config's notify: block): unset, the notify_* channels are absent.
    notify_api_key_parameter: str | None = Field(
        None, alias="NOTIFY_API_KEY_PARAMETER", pattern=r"^/"
    )
    notify_email_template_id: str | None = Field(
        None, alias="NOTIFY_EMAIL_TEMPLATE_ID", pattern=_UUID
    )
    notify_sms_template_id: str | None = Field(None, alias="NOTIFY_SMS_TEMPLATE_ID", pattern=_UUID)
    notify_sms_sender_id: str | None = Field(None, alias="NOTIFY_SMS_SENDER_ID", pattern=_UUID)
    notify_email_reply_to_id: str | None = Field(
        None, alias="NOTIFY_EMAIL_REPLY_TO_ID", pattern=_UUID
    )
    # "notify": email and sms mean Notify (defaults.transport), not SES and SNS.
    notify_transport: Literal["default", "notify"] = Field("default", alias="NOTIFY_TRANSPORT")
    notify_replies: bool = Field(True, alias="NOTIFY_REPLIES")
    # Set: Notify calls the API function back; unset: the poller reads receipts and replies.
    notify_callback_token_parameter: str | None = Field(
        None, alias="NOTIFY_CALLBACK_TOKEN_PARAMETER", pattern=r"^/"
    )

    @model_validator(mode="after")
    def _notify_templates(self) -> PollerSettings:
        if self.notify_api_key_parameter and not (
            self.notify_email_template_id and self.notify_sms_template_id
        ):
            raise ValueError(
                "NOTIFY_API_KEY_PARAMETER is set: NOTIFY_EMAIL_TEMPLATE_ID and "
                "NOTIFY_SMS_TEMPLATE_ID are needed too"
            )
        return self


class ApiSettings(_EnvSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    ack_secret_parameter: str | None = Field(None, alias="ACK_SECRET_PARAMETER")

    # GOV.UK Notify's callbacks' bearer token (SSM SecureString); unset: no /notify/ routes.
    notify_callback_token_parameter: str | None = Field(
        None, alias="NOTIFY_CALLBACK_TOKEN_PARAMETER", pattern=r"^/"
    )
    notify_replies: bool = Field(True, alias="NOTIFY_REPLIES")
    max_attempts: int = Field(3, alias="MAX_ATTEMPTS", ge=1, le=10)


class SyncSettings(_EnvSettings):
    table_name: str = Field(alias="TABLE_NAME", min_length=3)
    # The operations topic: a failing calendar source is told there once per failure streak.
    ops_topic_arn: str | None = Field(None, alias="OPS_TOPIC_ARN")
