"""`teams:` and `slack:` on a contact: the webhook named by env var or SSM, never written out."""

from __future__ import annotations

from datetime import timedelta

import pytest

from releasewatch.config.load import parse_config
from releasewatch.errors import ConfigError
from releasewatch.model import Notification, NotificationKind, ReleaseRecord, ReleaseState
from releasewatch.policy import decide
from tests.factories import DUE

CHAT = """\
contacts:
  stats_channel:
    name: Statistics team channel
    teams: {webhook_env: RW_TEAMS_STATS}
  pub:
    name: Web publisher
    email: pub@example.com
    slack: {webhook_ssm: /releasewatch/webhooks/pub}
chains:
  default:
    - {after: 5m, notify: [stats_channel], channels: [teams]}
    - {after: 10m, notify: [pub], channels: [slack, email]}
releases:
  - id: lms
    title: Labour market
    url: https://www.gov.uk/government/statistics/lms
    due: 2025-07-17 09:30
"""


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cfg.yaml")
    return [str(p) for p in caught.value.problems]


def test_a_team_channel_is_a_contact_with_only_a_webhook_and_steps_post_to_it() -> None:
    release = parse_config(CHAT).releases[0]
    channel = release.contacts["stats_channel"]
    assert channel.address("teams") == "env:RW_TEAMS_STATS"
    assert channel.email is None and channel.phone is None
    assert release.contacts["pub"].address("slack") == "ssm:/releasewatch/webhooks/pub"
    # At +10 min: the channel's card (step 0) and the publisher's Slack post and email.
    record = ReleaseRecord(release=release, state=ReleaseState.LATE, first_failure_at=DUE)
    decision = decide(record, None, DUE + timedelta(minutes=10), [], [])
    assert sorted((n.contact_id, n.channel) for n in decision.due) == [
        ("pub", "email"),
        ("pub", "slack"),
        ("stats_channel", "teams"),
    ]
    assert Notification.make_key("lms", NotificationKind.ALERT, "pub", "slack", 1) in {
        n.key for n in decision.due
    }


def test_the_webhook_url_itself_is_refused_where_it_is_written() -> None:
    text = CHAT.replace(
        "teams: {webhook_env: RW_TEAMS_STATS}",
        "teams: {webhook: 'https://prod.westeurope.logic.azure.com/workflows/x?sig=abc'}",
    )
    (found,) = problems(text)
    assert found.startswith("cfg.yaml:4: contacts.stats_channel.teams:")
    assert "secret" in found and "webhook_env" in found and "webhook_ssm" in found
    assert "sig=abc" not in found


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ("{}", "give exactly one of webhook_env or webhook_ssm"),
        ("{webhook_env: A, webhook_ssm: /a/b}", "give exactly one of webhook_env or webhook_ssm"),
        ("{webhook_env: 'not a name'}", "expected an environment variable name"),
        ("{webhook_ssm: 'releasewatch/x'}", "expected an SSM parameter name"),
        ("{webhook_env: A, colour: red}", "unknown key"),
    ],
)
def test_a_bad_webhook_block_names_its_path_and_what_is_expected(block: str, message: str) -> None:
    text = CHAT.replace("teams: {webhook_env: RW_TEAMS_STATS}", f"teams: {block}")
    found = problems(text)
    assert any(p.startswith("cfg.yaml:4: contacts.stats_channel.teams") for p in found), found
    assert any(message in p for p in found), found


def test_a_contact_with_nothing_to_reach_it_by_is_refused() -> None:
    text = CHAT.replace("    teams: {webhook_env: RW_TEAMS_STATS}\n", "")
    assert any(
        "a contact needs an email, a phone, or a teams or slack webhook" in p
        for p in problems(text)
    )


def test_the_breach_report_timeline_names_a_teams_post_as_such() -> None:
    from releasewatch.model import Event, EventKind
    from releasewatch.report.drafts import build_report_text
    from releasewatch.store.memory import InMemoryStore

    release = parse_config(CHAT).releases[0]
    store = InMemoryStore()
    store.apply_releases([release], DUE - timedelta(days=1))
    key = Notification.make_key("lms", NotificationKind.ALERT, "stats_channel", "teams", 0)
    store.add_event(
        Event(
            release_id="lms",
            at=DUE + timedelta(minutes=5),
            kind=EventKind.NOTIFICATION_SENT,
            contact_id="stats_channel",
            detail={"key": key, "kind": "alert", "channel": "teams", "step": "0"},
        )
    )
    text = build_report_text(store, "lms")
    # Before: "Alert sent by email to ..." for a card posted to a Teams channel.
    assert "Alert sent by a Teams post to Statistics team channel" in text
    assert "by email" not in text


def test_run_warns_at_start_of_a_webhook_variable_that_is_not_set() -> None:
    from releasewatch.notify.chat import unset_webhook_envs

    contacts = parse_config(CHAT).contacts
    (warning,) = unset_webhook_envs(contacts, {})
    assert warning.startswith("contacts.stats_channel.teams.webhook_env: RW_TEAMS_STATS is not set")
    assert unset_webhook_envs(contacts, {"RW_TEAMS_STATS": "https://x.example.com/w"}) == []
