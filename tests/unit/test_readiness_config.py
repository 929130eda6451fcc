"""The `readiness:` block: issue 8 defaults, per-release overrides, located errors."""

from __future__ import annotations

from datetime import time

import pytest

from releasewatch.config.load import parse_config
from releasewatch.errors import ConfigError

BASE = """\
contacts:
  team: {name: Stats team, email: team@example.com}
  pub: {name: Web publisher, phone: "+447700900123", email: pub@example.com}
  lead: {name: Lead official, role: lead_official, email: lead@example.com}
  hop: {name: Head of profession, role: head_of_profession, email: hop@example.com}
chains:
  default:
    - {after: 5m, notify: [team]}
    - {after: 10m, notify: [pub], channels: [sms, email]}
    - {after: 60m, notify: [hop], kind: breach}
"""
RELEASE = """\
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


def test_the_defaults_ask_the_first_two_steps_and_escalate_to_the_lead_official() -> None:
    release = parse_config(BASE + RELEASE).releases[0]
    ready = release.readiness
    assert ready is not None
    assert (ready.remind_at, ready.escalate_at, ready.last_call) == (
        time(14, 0),
        time(16, 0),
        time(8, 30),
    )
    assert ready.nation == "england"
    assert ready.notify == ("team", "pub")
    assert ready.escalate_to == ("lead",)
    assert "lead" in release.contacts  # not on the chain, but needed for the escalation


def test_defaults_and_a_release_override_field_by_field() -> None:
    text = (
        BASE
        + """\
defaults:
  readiness: {remind_at: "13:00", nation: scotland, notify: [pub]}
"""
        + RELEASE
        + """\
    readiness: {escalate_at: "17:30", escalate_to: [hop]}
  - id: quiet
    title: Another
    url: https://www.gov.uk/government/statistics/other
    due: 2025-07-18 09:30
    readiness: {enabled: false}
"""
    )
    lms, off = parse_config(text).releases
    ready = lms.readiness
    assert ready is not None
    assert (ready.remind_at, ready.escalate_at, ready.nation) == (
        time(13),
        time(17, 30),
        "scotland",
    )
    assert (ready.notify, ready.escalate_to) == (("pub",), ("hop",))
    assert off.readiness is None


def test_mistakes_are_named_with_their_line_and_path() -> None:
    text = (
        BASE
        + """\
defaults:
  readiness: {remind_at: 2pm, notify: [nobody]}
"""
        + RELEASE
        + """\
    readiness: {escalate_at: "13:00", escalate_to: [ghost], nation: cornwall}
"""
    )
    found = problems(text)
    joined = "\n".join(found)
    assert "defaults.readiness.remind_at" in joined and "like '14:00'" in joined
    assert "defaults.readiness.notify[0]" in joined and "unknown contact 'nobody'" in joined
    assert "releases[0].readiness.nation" in joined
    assert any(p.startswith("cfg.yaml:") for p in found)


def test_escalation_must_come_after_the_reminder() -> None:
    text = BASE + RELEASE + '    readiness: {escalate_at: "13:00", escalate_to: [ghost]}\n'
    joined = "\n".join(problems(text))
    assert "releases[0].readiness.escalate_at" in joined
    assert "must be later than remind_at (14:00)" in joined
    assert "releases[0].readiness.escalate_to[0]" in joined and "'ghost'" in joined
