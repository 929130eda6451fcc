"""`releasewatch run` posting to a Teams channel: a real process, a loopback Workflows webhook
that checks the card, the webhook URL from the environment and never printed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from releasewatch.timefmt import LONDON
from tests.e2e.test_local_cli import page, releasewatch  # noqa: F401 - page is a fixture
from tests.webhook_support import loopback_webhook


def test_run_posts_a_valid_card_to_a_team_channel_and_never_prints_the_url(
    tmp_path: Path,
    page: str,  # noqa: F811
) -> None:
    due = (datetime.now(UTC) - timedelta(minutes=6)).astimezone(LONDON)
    config = tmp_path / "releasewatch.yaml"
    config.write_text(f"""\
local_mode: true
contacts:
  team: {{name: Stats team, role: stats_team, email: team@example.com}}
  channel: {{name: Stats team channel, teams: {{webhook_env: RW_TEAMS_STATS}}}}
chains:
  default:
    - {{after: 5m, notify: [team, channel], channels: [email, teams]}}
releases:
  - id: late-release
    title: A release that is late
    url: "{page}"
    due: "{due:%Y-%m-%dT%H:%M:%S%z}"
""")
    # In local mode the ack and status links point at the local web server on 127.0.0.1.
    with loopback_webhook("teams", ack_base="http://127.0.0.1:") as server:
        result = releasewatch(
            "run", "--config", str(config), "--db", str(tmp_path / "rw.db"), "--once",
            "--web-port", "0",
            env={"RW_TEAMS_STATS": server.url()},
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert len(server.posts) == 1 and server.problems() == []
    card = server.posts[0].card
    assert card["body"][0]["items"][0]["inlines"][0]["text"].startswith(
        "NOT LIVE: A release that is late"
    )
    assert card["actions"][0]["title"] == "Acknowledge"
    out = result.stdout + result.stderr
    assert "TEAMS to Stats team channel: NOT LIVE" in out
    assert "SECRETSIGNATURE" not in out and "/workflows/" not in out


def test_run_warns_when_the_webhook_variable_is_not_set(tmp_path: Path, page: str) -> None:  # noqa: F811
    config = tmp_path / "releasewatch.yaml"
    due = (datetime.now(UTC) + timedelta(days=1)).astimezone(LONDON)
    config.write_text(f"""\
local_mode: true
contacts:
  channel: {{name: Stats team channel, teams: {{webhook_env: RW_TEAMS_UNSET_X}}}}
chains:
  default:
    - {{after: 5m, notify: [channel], channels: [teams]}}
releases:
  - id: r
    title: A release
    url: "{page}"
    due: "{due:%Y-%m-%dT%H:%M:%S%z}"
""")
    result = releasewatch(
        "run", "--config", str(config), "--db", str(tmp_path / "rw.db"), "--once",
        "--web-port", "0",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "contacts.channel.teams.webhook_env: RW_TEAMS_UNSET_X is not set" in result.stderr
