"""`releasewatch run` with GOV.UK Notify, as a user runs it: the key in the environment, the
loopback fake of Notify standing in for api.notifications.service.gov.uk."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releasewatch.timefmt import LONDON
from tests.e2e.test_local_cli import page, releasewatch  # noqa: F401  (page is a fixture)
from tests.notify_fake import (
    API_KEY,
    EMAIL_TEMPLATE,
    SECRET,
    SMS_TEMPLATE,
    FakeNotify,
    serve_notify,
)


@pytest.fixture
def notify() -> Iterator[tuple[FakeNotify, str]]:
    fake = FakeNotify(now=lambda: datetime.now(UTC))
    with serve_notify(fake) as url:
        yield fake, url


def write_config(tmp_path: Path, page_url: str, notify_url: str, due: datetime) -> Path:
    local = due.astimezone(LONDON)
    text = f"""\
local_mode: true
defaults:
  transport: notify
notify:
  api_key_env: RW_TEST_NOTIFY_KEY
  email_template_id: {EMAIL_TEMPLATE}
  sms_template_id: {SMS_TEMPLATE}
  base_url: {notify_url}
contacts:
  team: {{name: Stats team, role: stats_team, email: team@example.com}}
  pub: {{name: Web publisher, role: web_publisher, email: pub@example.com, phone: "+447700900123"}}
chains:
  default:
    - {{after: 5m, notify: [team], channels: [email]}}
    - {{after: 10m, notify: [pub], channels: [sms, email], repeat: 15m}}
releases:
  - id: late-release
    title: A release that is late
    url: "{page_url}"
    due: "{local:%Y-%m-%dT%H:%M:%S%z}"
"""
    path = tmp_path / "releasewatch.yaml"
    path.write_text(text)
    return path


def test_run_sends_through_notify_with_the_key_from_the_environment(
    tmp_path: Path,
    page: str,  # noqa: F811
    notify: tuple[FakeNotify, str],
) -> None:
    fake, url = notify
    config = write_config(tmp_path, page, url, datetime.now(UTC) - timedelta(minutes=11))
    db = tmp_path / "state" / "rw.db"
    result = releasewatch(
        "run", "--config", str(config), "--db", str(db), "--once", "--web-port", "0",
        env={"RW_TEST_NOTIFY_KEY": API_KEY},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    kinds = sorted((m.type, m.to) for m in fake.sent)
    assert kinds == [
        ("email", "pub@example.com"),
        ("email", "team@example.com"),
        ("sms", "+447700900123"),
    ]
    assert {m.reference for m in fake.sent} == {
        "late-release|alert|0|0|team|notify_email",
        "late-release|alert|1|0|pub|notify_sms",
        "late-release|alert|1|0|pub|notify_email",
    }
    # shown on the console by name, never by number or address
    assert "SMS to Web publisher" in result.stdout
    assert "+447700900123" not in result.stdout + result.stderr
    assert SECRET not in result.stdout + result.stderr


def test_run_refuses_to_start_without_the_key(
    tmp_path: Path,
    page: str,  # noqa: F811
    notify: tuple[FakeNotify, str],
) -> None:
    fake, url = notify
    config = write_config(tmp_path, page, url, datetime.now(UTC) - timedelta(minutes=11))
    db = tmp_path / "state" / "rw.db"
    args = ("run", "--config", str(config), "--db", str(db), "--once", "--web-port", "0")
    missing = releasewatch(*args, env={"RW_TEST_NOTIFY_KEY": ""})
    assert missing.returncode == 2
    assert "the environment variable RW_TEST_NOTIFY_KEY is not set" in missing.stderr
    wrong = releasewatch(*args, env={"RW_TEST_NOTIFY_KEY": "not-a-key-" + SECRET[:10]})
    assert wrong.returncode == 2
    assert "the value of RW_TEST_NOTIFY_KEY is not a Notify API key" in wrong.stderr
    assert SECRET[:10] not in wrong.stderr
    assert fake.sent == []
