"""The `notify:` block and `defaults.transport`: errors named by file, line and path."""

from __future__ import annotations

import pytest

from releasewatch.config.load import parse_config
from releasewatch.errors import ConfigError
from tests.notify_fake import API_KEY, EMAIL_TEMPLATE, SECRET, SMS_SENDER, SMS_TEMPLATE

BASE = f"""\
contacts:
  team: {{name: Stats team, email: team@example.com}}
  pub: {{name: Web publisher, phone: "+447700900123", email: pub@example.com}}
chains:
  default:
    - {{after: 5m, notify: [team]}}
    - {{after: 10m, notify: [pub], channels: [sms, email]}}
releases:
  - id: lms
    title: Labour market
    url: https://www.gov.uk/government/statistics/lms
    due: 2025-07-17 09:30
notify:
  api_key_env: NOTIFY_API_KEY
  email_template_id: {EMAIL_TEMPLATE}
  sms_template_id: {SMS_TEMPLATE}
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cfg.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_notify_block_is_read_with_its_template_ids() -> None:
    config = parse_config(BASE + f"  sms_sender_id: {SMS_SENDER}\n", "cfg.yaml")
    assert config.notify is not None
    settings = config.notify.settings()
    assert (settings.email_template_id, settings.sms_template_id) == (EMAIL_TEMPLATE, SMS_TEMPLATE)
    assert settings.sms_sender_id == SMS_SENDER
    assert settings.replies is True
    # without transport: notify, email and sms stay as they were
    assert config.releases[0].chain.steps[1].channels == ("sms", "email")


def test_transport_notify_makes_every_step_go_through_notify() -> None:
    text = BASE + "defaults:\n  transport: notify\n"
    config = parse_config(text, "cfg.yaml")
    assert config.transport == "notify"
    steps = config.releases[0].chain.steps
    assert [s.channels for s in steps] == [("notify_email",), ("notify_sms", "notify_email")]


def test_a_contact_step_can_name_a_notify_channel_directly() -> None:
    text = BASE.replace("channels: [sms, email]", "channels: [notify_sms, email]")
    config = parse_config(text, "cfg.yaml")
    assert config.releases[0].chain.steps[1].channels == ("notify_sms", "email")


def test_the_api_key_in_the_yaml_is_an_error_at_its_line_that_never_quotes_it() -> None:
    text = BASE.replace("api_key_env: NOTIFY_API_KEY", f"api_key_env: {API_KEY}")
    found = problems(text)
    assert found[0].startswith("cfg.yaml:14: notify.api_key_env: holds a GOV.UK Notify API key")
    assert all(SECRET not in p for p in found)


def test_a_key_pasted_anywhere_else_is_found_too() -> None:
    text = BASE.replace("title: Labour market", f"title: 'Labour market {API_KEY}'")
    found = problems(text)
    assert any(p.startswith("cfg.yaml:10: releases[0].title: holds a GOV.UK Notify") for p in found)
    assert all(SECRET not in p for p in found)


def test_a_template_id_that_is_not_a_uuid_is_named() -> None:
    text = BASE.replace(f"sms_template_id: {SMS_TEMPLATE}", "sms_template_id: alert-sms")
    assert problems(text) == [
        "cfg.yaml:16: notify.sms_template_id: expected a template or sender id from the Notify "
        "admin (a UUID)"
    ]


def test_notify_channels_without_a_notify_block_are_errors() -> None:
    head = BASE.split("notify:\n")[0]
    text = head.replace("channels: [sms, email]", "channels: [notify_sms]")
    assert problems(text) == [
        "cfg.yaml:7: chains.default[1].channels[0]: a Notify channel needs a notify: block "
        "(api_key_env and template ids)"
    ]
    text = head + "defaults:\n  transport: notify\n"
    assert problems(text)[0].startswith("cfg.yaml:14: defaults.transport: transport: notify needs")


def test_an_unknown_transport_is_named() -> None:
    found = problems(BASE + "defaults:\n  transport: pigeon\n")
    assert found[0].startswith("cfg.yaml:18: defaults.transport: Input should be 'default' or")


@pytest.mark.parametrize(
    ("url", "local", "ok"),
    [
        ("http://127.0.0.1:9999", True, True),
        ("http://127.0.0.1:9999", False, False),
        ("http://notify.example.com", True, False),
        ("https://10.0.0.1", False, False),
    ],
)
def test_base_url_is_loopback_only_in_local_mode(url: str, local: bool, ok: bool) -> None:
    text = BASE + f"  base_url: {url}\n" + ("local_mode: true\n" if local else "")
    if ok:
        assert parse_config(text, "cfg.yaml").notify is not None
    else:
        assert problems(text)[0].startswith("cfg.yaml:17: notify.base_url:")
