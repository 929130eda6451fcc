"""Each function's configuration, validated from its environment at cold start.

A missing or malformed variable fails the cold start with a ConfigError naming every such
variable, instead of a KeyError halfway through the first tick.

Plain dataclasses read by `from_env`, not pydantic models: a poller tick with nothing due
loads no pydantic at all (its import and the settings' validator were ~0.1 s of the cold
start, issue 19). The messages are the ones pydantic gave for these variables
(tests/unit/test_env_settings.py).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, Self

from ..errors import ConfigError, ConfigProblem

_REQUIRED: Any = object()
# The strings a boolean variable may hold (any case), as pydantic read them.
_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})
_INTEGRAL = re.compile(r"\s*[+-]?\d[\d_]*\.0+\s*")  # "5.0" is the integer 5
# What an empty variable is told when it cannot be left unset (its default is not None).
_NOT_EMPTY = {str: "string", int: "integer", float: "number", bool: "boolean"}


@dataclass(frozen=True)
class EnvVar:
    """One environment variable: its name, what it holds and the bounds on it."""

    name: str
    kind: type = str  # str, int, float or bool
    default: Any = _REQUIRED
    min_length: int | None = None
    pattern: str | None = None
    choices: tuple[str, ...] = ()
    ge: float | None = None
    gt: float | None = None
    le: float | None = None

    def read(self, raw: str | None) -> Any:
        """The value, or ValueError with what is expected. `raw` None: not set."""
        if raw is None:
            if self.default is _REQUIRED:
                raise _Missing
            return self.default
        if raw == "":
            # CloudFormation cannot leave a variable out conditionally: "" means "not set",
            # which only a variable that may be None can be.
            if self.default is None:
                return None
            if self.choices:
                raise ValueError(f"Input should be {self._choices()}")
            raise ValueError(f"Input should be a valid {_NOT_EMPTY[self.kind]}")
        if self.kind is bool:
            if raw.lower() in _TRUE:
                return True
            if raw.lower() in _FALSE:
                return False
            raise ValueError("Input should be a valid boolean, unable to interpret input")
        if self.kind is int or self.kind is float:
            return self._bounded(self._number(raw))
        if self.choices and raw not in self.choices:
            raise ValueError(f"Input should be {self._choices()}")
        if self.min_length is not None and len(raw) < self.min_length:
            raise ValueError(f"String should have at least {self.min_length} characters")
        if self.pattern is not None and not re.search(self.pattern, raw):
            raise ValueError(f"String should match pattern '{self.pattern}'")
        return raw

    def _choices(self) -> str:
        return " or ".join(", ".join(repr(c) for c in self.choices).rsplit(", ", 1))

    def _number(self, raw: str) -> float:
        # (int() and float() read other scripts' digits, "٣"; pydantic did not)
        ascii_raw = raw if raw.isascii() else "\0"
        if self.kind is int:
            try:
                return int(ascii_raw)
            except ValueError:
                if _INTEGRAL.fullmatch(raw):
                    return int(raw.strip().split(".")[0])
                raise ValueError(
                    "Input should be a valid integer, unable to parse string as an integer"
                ) from None
        try:
            return float(ascii_raw)
        except ValueError:
            raise ValueError(
                "Input should be a valid number, unable to parse string as a number"
            ) from None

    def _bounded(self, value: float) -> float:
        # (in pydantic's order; NaN passes no bound, so it is told the first)
        if self.le is not None and not value <= self.le:
            raise ValueError(f"Input should be less than or equal to {_shown(self.le)}")
        if self.ge is not None and not value >= self.ge:
            raise ValueError(f"Input should be greater than or equal to {_shown(self.ge)}")
        if self.gt is not None and not value > self.gt:
            raise ValueError(f"Input should be greater than {_shown(self.gt)}")
        return value


class _Missing(Exception):
    pass


def _shown(bound: float) -> str:
    return str(int(bound)) if math.isfinite(bound) and float(bound).is_integer() else str(bound)


def env(name: str, kind: type = str, default: Any = _REQUIRED, **bounds: Any) -> Any:
    """A settings field read from the environment variable `name`."""
    var = EnvVar(name, kind, default, **bounds)
    if default is _REQUIRED:
        return field(metadata={"env": var})
    return field(default=default, metadata={"env": var})


@dataclass(frozen=True, kw_only=True)
class _EnvSettings:
    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Self:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        problems = []
        for f in fields(cls):
            var: EnvVar = f.metadata["env"]
            raw = env.get(var.name)
            try:
                values[f.name] = var.read(raw)
            except _Missing:
                problems.append(_problem(var.name, "is not set"))
            except ValueError as exc:
                problems.append(_problem(var.name, str(exc).lower()))
        if not problems:
            settings = cls(**values)
            whole = settings._check()
            if whole is None:
                return settings
            problems.append(_problem("?", f"value error, {whole}".lower()))
        raise ConfigError(problems)

    def _check(self) -> str | None:
        """What is wrong with the variables together (None: nothing)."""
        return None


def _problem(name: str, message: str) -> ConfigProblem:
    return ConfigProblem(path=name, message=message, file="environment")


_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


@dataclass(frozen=True, kw_only=True)
class PollerSettings(_EnvSettings):
    table_name: str = env("TABLE_NAME", min_length=3)
    sender_email: str = env("SENDER_EMAIL", pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    ses_configuration_set: str | None = env("SES_CONFIGURATION_SET", default=None)
    sms_sender_id: str | None = env("SMS_SENDER_ID", default=None)
    sms_topic_arn: str | None = env("SMS_TOPIC_ARN", default=None)
    ack_secret_parameter: str = env("ACK_SECRET_PARAMETER", pattern=r"^/")
    ack_base_url: str | None = env("ACK_BASE_URL", default=None)
    # Re-poll releases whose next check falls inside this invocation's minute, this often...
    hot_interval_seconds: float = env("HOT_INTERVAL_SECONDS", float, 10.0, ge=1, le=30)
    # ...while at least this much of the invocation is left for one more tick (a probe's
    # total timeout is 20 s) and the notifications it may send.
    reserve_seconds: float = env("RESERVE_SECONDS", float, 20.0, ge=5)
    # A tick waits this long for its probes: one slow origin (a body trickled until the 20 s
    # total timeout) must not hold up the other releases' checks and alerts (runner.PROBE_WAIT).
    probe_wait_seconds: float = env("PROBE_WAIT_SECONDS", float, 5.0, gt=0, le=20)
    # Re-polling stops this far into the invocation: the next scheduled one takes over.
    window_seconds: float = env("WINDOW_SECONDS", float, 50.0, ge=0, le=600)
    # At most this many releases due in one minute are judged by one invocation; the rest
    # are handed to concurrent invocations of the poller (aws/shards.py). 0: never shard.
    # 200: bench_fanout's tick costs about 7 ms of CPU a release on a laptop core, about
    # 20 ms on a 512 MB Lambda (a third of a vCPU): 200 releases fit a 10 s hot interval
    # with half of it to spare (docs/aws.md, "Sharding the hot window").
    shard_size: int = env("SHARD_SIZE", int, 200, ge=0, le=2000)
    # Set by Lambda itself: the function a shard is handed to is this one.
    function_name: str | None = env("AWS_LAMBDA_FUNCTION_NAME", default=None)
    # Sending attempts per message before it is failed and its fallback runs (config's
    # defaults.max_attempts locally).
    max_attempts: int = env("MAX_ATTEMPTS", int, 3, ge=1, le=10)
    # The account's SNS SMS spend limit (USD) and the share of it that is a problem (template
    # parameters SmsMonthlySpendLimitUSD and SmsSpendAlarmPercent); unset: not watched.
    sms_monthly_spend_limit_usd: float | None = env(
        "SMS_MONTHLY_SPEND_LIMIT_USD", float, None, gt=0
    )
    sms_spend_alarm_percent: float = env("SMS_SPEND_ALARM_PERCENT", float, 80.0, gt=0, le=100)
    # GOV.UK Notify (the config's notify: block): unset, the notify_* channels are absent.
    notify_api_key_parameter: str | None = env(
        "NOTIFY_API_KEY_PARAMETER", default=None, pattern=r"^/"
    )
    notify_email_template_id: str | None = env(
        "NOTIFY_EMAIL_TEMPLATE_ID", default=None, pattern=_UUID
    )
    notify_sms_template_id: str | None = env("NOTIFY_SMS_TEMPLATE_ID", default=None, pattern=_UUID)
    notify_sms_sender_id: str | None = env("NOTIFY_SMS_SENDER_ID", default=None, pattern=_UUID)
    notify_email_reply_to_id: str | None = env(
        "NOTIFY_EMAIL_REPLY_TO_ID", default=None, pattern=_UUID
    )
    # "notify": email and sms mean Notify (defaults.transport), not SES and SNS.
    notify_transport: Literal["default", "notify"] = env(
        "NOTIFY_TRANSPORT", default="default", choices=("default", "notify")
    )
    notify_replies: bool = env("NOTIFY_REPLIES", bool, True)
    # Set: Notify calls the API function back; unset: the poller reads receipts and replies.
    notify_callback_token_parameter: str | None = env(
        "NOTIFY_CALLBACK_TOKEN_PARAMETER", default=None, pattern=r"^/"
    )

    def _check(self) -> str | None:
        if self.notify_api_key_parameter and not (
            self.notify_email_template_id and self.notify_sms_template_id
        ):
            return (
                "NOTIFY_API_KEY_PARAMETER is set: NOTIFY_EMAIL_TEMPLATE_ID and "
                "NOTIFY_SMS_TEMPLATE_ID are needed too"
            )
        return None


@dataclass(frozen=True, kw_only=True)
class ApiSettings(_EnvSettings):
    table_name: str = env("TABLE_NAME", min_length=3)
    ack_secret_parameter: str | None = env("ACK_SECRET_PARAMETER", default=None)

    # GOV.UK Notify's callbacks' bearer token (SSM SecureString); unset: no /notify/ routes.
    notify_callback_token_parameter: str | None = env(
        "NOTIFY_CALLBACK_TOKEN_PARAMETER", default=None, pattern=r"^/"
    )
    notify_replies: bool = env("NOTIFY_REPLIES", bool, True)
    max_attempts: int = env("MAX_ATTEMPTS", int, 3, ge=1, le=10)


@dataclass(frozen=True, kw_only=True)
class SyncSettings(_EnvSettings):
    table_name: str = env("TABLE_NAME", min_length=3)
    # The operations topic: a failing calendar source is told there once per failure streak.
    ops_topic_arn: str | None = env("OPS_TOPIC_ARN", default=None)
