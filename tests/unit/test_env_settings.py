"""The functions' settings, read from their environment without pydantic (issue 19: an idle
poller tick loads none): each bad variable is named with what it should hold, in the words
pydantic used, and all of them at once."""

from __future__ import annotations

import pytest

from releasewatch.aws.settings import ApiSettings, PollerSettings, SyncSettings
from releasewatch.errors import ConfigError

BASE = {
    "TABLE_NAME": "releasewatch",
    "SENDER_EMAIL": "releasewatch@example.com",
    "ACK_SECRET_PARAMETER": "/releasewatch/ack-secret",
}
UUID = "0f9e8d7c-6b5a-4938-2716-05f4e3d2c1b0"


def problems(env: dict[str, str]) -> list[tuple[str, str]]:
    with pytest.raises(ConfigError) as caught:
        PollerSettings.from_env(env)
    assert all(p.file == "environment" for p in caught.value.problems)
    return [(p.path, p.message) for p in caught.value.problems]


def test_the_defaults_and_the_values_read() -> None:
    s = PollerSettings.from_env(BASE)
    assert (s.table_name, s.hot_interval_seconds, s.shard_size, s.max_attempts) == (
        "releasewatch",
        10.0,
        200,
        3,
    )
    assert s.notify_transport == "default" and s.notify_replies is True
    assert s.sms_monthly_spend_limit_usd is None and s.function_name is None
    s = PollerSettings.from_env(
        {
            **BASE,
            "HOT_INTERVAL_SECONDS": " 5 ",
            "SHARD_SIZE": "5.0",
            "MAX_ATTEMPTS": "+7",
            "NOTIFY_REPLIES": "OFF",
            "NOTIFY_TRANSPORT": "notify",
            "SMS_MONTHLY_SPEND_LIMIT_USD": "2.5",
            "AWS_LAMBDA_FUNCTION_NAME": "releasewatch-poller",
            "UNRELATED": "ignored",
        }
    )
    assert (s.hot_interval_seconds, s.shard_size, s.max_attempts) == (5.0, 5, 7)
    assert s.notify_replies is False and s.notify_transport == "notify"
    assert s.sms_monthly_spend_limit_usd == 2.5 and s.function_name == "releasewatch-poller"
    # the bounds themselves are allowed
    edge = {"HOT_INTERVAL_SECONDS": "30", "RESERVE_SECONDS": "5", "SHARD_SIZE": "0"}
    s = PollerSettings.from_env({**BASE, **edge})
    assert (s.hot_interval_seconds, s.reserve_seconds, s.shard_size) == (30.0, 5.0, 0)


def test_every_missing_variable_is_named() -> None:
    assert problems({}) == [
        ("TABLE_NAME", "is not set"),
        ("SENDER_EMAIL", "is not set"),
        ("ACK_SECRET_PARAMETER", "is not set"),
    ]
    with pytest.raises(ConfigError) as caught:
        ApiSettings.from_env({})
    assert str(caught.value) == "environment: TABLE_NAME: is not set"


def test_an_empty_variable_is_unset_where_it_may_be() -> None:
    # CloudFormation cannot leave a variable out: "" is "not set" where None is allowed...
    s = PollerSettings.from_env({**BASE, "ACK_BASE_URL": "", "SMS_MONTHLY_SPEND_LIMIT_USD": ""})
    assert s.ack_base_url is None and s.sms_monthly_spend_limit_usd is None
    # ...and an error where it is not
    assert problems({**BASE, "TABLE_NAME": "", "MAX_ATTEMPTS": "", "NOTIFY_REPLIES": ""}) == [
        ("TABLE_NAME", "input should be a valid string"),
        ("MAX_ATTEMPTS", "input should be a valid integer"),
        ("NOTIFY_REPLIES", "input should be a valid boolean"),
    ]
    assert problems({**BASE, "HOT_INTERVAL_SECONDS": "", "NOTIFY_TRANSPORT": ""}) == [
        ("HOT_INTERVAL_SECONDS", "input should be a valid number"),
        ("NOTIFY_TRANSPORT", "input should be 'default' or 'notify'"),
    ]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TABLE_NAME", "ab", "string should have at least 3 characters"),
        ("SENDER_EMAIL", "nobody", "string should match pattern '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$'"),
        ("ACK_SECRET_PARAMETER", "ack-secret", "string should match pattern '^/'"),
        (
            "HOT_INTERVAL_SECONDS",
            "ten",
            "input should be a valid number, unable to parse string as a number",
        ),
        ("HOT_INTERVAL_SECONDS", "0.5", "input should be greater than or equal to 1"),
        ("HOT_INTERVAL_SECONDS", "31", "input should be less than or equal to 30"),
        ("HOT_INTERVAL_SECONDS", "nan", "input should be less than or equal to 30"),
        ("PROBE_WAIT_SECONDS", "0", "input should be greater than 0"),
        (
            "SMS_SPEND_ALARM_PERCENT",
            "\u0663",
            "input should be a valid number, unable to parse string as a number",
        ),
        (
            "SHARD_SIZE",
            "5.5",
            "input should be a valid integer, unable to parse string as an integer",
        ),
        (
            "SHARD_SIZE",
            "5.",
            "input should be a valid integer, unable to parse string as an integer",
        ),
        ("SHARD_SIZE", "2001", "input should be less than or equal to 2000"),
        ("MAX_ATTEMPTS", "0", "input should be greater than or equal to 1"),
        ("NOTIFY_TRANSPORT", "Notify", "input should be 'default' or 'notify'"),
        ("NOTIFY_REPLIES", "maybe", "input should be a valid boolean, unable to interpret input"),
        (
            "NOTIFY_EMAIL_TEMPLATE_ID",
            "template",
            "string should match pattern '^[0-9a-fa-f]{8}-[0-9a-fa-f]{4}-[0-9a-fa-f]{4}-"
            "[0-9a-fa-f]{4}-[0-9a-fa-f]{12}$'",
        ),
    ],
)
def test_a_bad_value_is_named_with_what_is_expected(name: str, value: str, message: str) -> None:
    assert problems({**BASE, name: value}) == [(name, message)]


def test_all_bad_variables_are_named_at_once() -> None:
    env = {**BASE, "RESERVE_SECONDS": "4", "WINDOW_SECONDS": "-1", "MAX_ATTEMPTS": "11"}
    assert [name for name, _ in problems(env)] == [
        "RESERVE_SECONDS",
        "WINDOW_SECONDS",
        "MAX_ATTEMPTS",
    ]


def test_notify_needs_both_templates() -> None:
    env = {**BASE, "NOTIFY_API_KEY_PARAMETER": "/releasewatch/notify-api-key"}
    assert problems(env) == [
        (
            "?",
            "value error, notify_api_key_parameter is set: notify_email_template_id and "
            "notify_sms_template_id are needed too",
        )
    ]
    # checked once every variable is valid on its own
    assert [p for p, _ in problems({**env, "MAX_ATTEMPTS": "0"})] == ["MAX_ATTEMPTS"]
    both = {**env, "NOTIFY_EMAIL_TEMPLATE_ID": UUID, "NOTIFY_SMS_TEMPLATE_ID": UUID}
    assert PollerSettings.from_env(both).notify_sms_template_id == UUID


def test_the_api_and_the_sync_read_their_own() -> None:
    api = ApiSettings.from_env({"TABLE_NAME": "releasewatch", "MAX_ATTEMPTS": "5"})
    assert (api.max_attempts, api.ack_secret_parameter, api.notify_replies) == (5, None, True)
    with pytest.raises(ConfigError) as caught:
        ApiSettings.from_env({"TABLE_NAME": "releasewatch", "NOTIFY_CALLBACK_TOKEN_PARAMETER": "x"})
    assert [p.path for p in caught.value.problems] == ["NOTIFY_CALLBACK_TOKEN_PARAMETER"]
    sync = SyncSettings.from_env({"TABLE_NAME": "releasewatch", "OPS_TOPIC_ARN": ""})
    assert sync.ops_topic_arn is None
