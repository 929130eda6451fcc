"""The YAML authoring format: defaults, resolution, and errors that name file, line and path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releasewatch.config import load_config, parse_config
from releasewatch.errors import ConfigError

EXAMPLE = Path(__file__).parents[2] / "infra" / "releasewatch.example.yaml"

GOOD = """\
contacts:
  team: {name: Stats team, email: team@example.com}
  pub: {name: Web publisher, phone: "+447700900123", email: pub@example.com}
chains:
  default:
    - {after: 5m, notify: [team], repeat: 30m}
    - {after: 1h30m, notify: [pub], channels: [sms], kind: breach}
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


def test_the_shipped_example_is_valid_and_uses_the_default_chain():
    config = load_config(EXAMPLE)
    assert [r.id for r in config.releases] == [
        "labour-market-2025-07",
        "gdp-first-estimate-2025-q2",
    ]
    lms = config.releases[0]
    assert lms.due == datetime(2025, 7, 17, 8, 30, tzinfo=UTC)
    assert [s.after for s in lms.chain.steps] == [timedelta(minutes=m) for m in (5, 10, 30, 60)]
    assert lms.chain.steps[-1].kind == "breach"
    assert config.releases[1].rule.govuk


def test_defaults_are_resolved_into_each_release():
    release = parse_config(GOOD).releases[0]
    assert release.chain.id == "default"  # the only chain is the default
    assert release.pre_window == timedelta(minutes=15)
    assert release.grace == timedelta(minutes=2)
    assert release.cache_bust_param == "rwcb"
    assert release.chain.steps[1].after == timedelta(hours=1, minutes=30)
    assert set(release.contacts) == {"team", "pub"}


def test_cache_busting_can_be_switched_off_per_release():
    text = GOOD + "    cache_bust: false\n"
    assert parse_config(text).releases[0].cache_bust_param is None


def test_several_mistakes_are_all_listed_with_line_and_path():
    bad = """\
contacts:
  team: {name: Stats team, emial: team@example.com}
  pub: {name: Web publisher, phone: "07700900123"}
chains:
  default:
    - {after: 5x, notify: [team]}
releases:
  - id: lms
    title: Labour market
    url: http://www.gov.uk/x
    due: 2025-10-26 01:30
  - id: lms2
    title: T
    url: https://www.gov.uk/x
    due: 2025-03-30 01:30
"""
    found = problems(bad)
    assert "cfg.yaml:2: contacts.team.emial: unknown key" in found[0]
    assert any(p.startswith("cfg.yaml:3: contacts.pub.phone: expected an E.164") for p in found)
    assert any(
        p.startswith("cfg.yaml:6: chains.default[0].after: '5x' is not a duration") for p in found
    )
    assert any("cfg.yaml:10: releases[0].url: only https" in p for p in found)
    assert any("cfg.yaml:11: releases[0].due:" in p and "ambiguous" in p for p in found)
    assert any("cfg.yaml:15: releases[1].due:" in p and "does not exist" in p for p in found)
    assert len(found) == 6


def test_unknown_keys_are_errors_not_ignored():
    found = problems(GOOD + "    colour: red\n")
    assert found == [
        "cfg.yaml:13: releases[0].colour: unknown key"
        " (check the spelling; see the config reference in README)"
    ]


def test_duplicate_keys_and_duplicate_ids_are_errors():
    text = GOOD.replace("contacts:\n", "contacts:\n  team: {name: Other, email: o@example.com}\n")
    assert any("contacts.team: duplicate key" in p for p in problems(text))
    dup = (
        GOOD + "  - {id: lms, title: Again, url: 'https://www.gov.uk/y', due: '2025-07-18 09:30'}\n"
    )
    assert any("releases[1].id: duplicate id 'lms'" in p for p in problems(dup))


def test_references_to_unknown_contacts_and_chains_are_named():
    text = GOOD.replace("notify: [team]", "notify: [team, nobody]") + "    chain: fast\n"
    found = problems(text)
    assert any("chains.default[0].notify[1]: unknown contact 'nobody'" in p for p in found)
    assert any("releases[0].chain: unknown chain 'fast'" in p for p in found)


def test_http_is_allowed_only_for_loopback_in_local_mode():
    local = GOOD.replace("https://www.gov.uk/government/statistics/lms", "http://127.0.0.1:8000/x")
    assert any("local mode" in p for p in problems(local))
    release = parse_config("local_mode: true\n" + local).releases[0]
    assert release.allow_loopback
    remote = "local_mode: true\n" + GOOD.replace("https://", "http://")
    assert any("only https" in p for p in problems(remote))


def test_an_explicit_offset_resolves_the_ambiguous_hour():
    text = GOOD.replace("2025-07-17 09:30", "2025-10-26T01:30+00:00")
    assert parse_config(text).releases[0].due == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)


def test_invalid_yaml_names_its_line():
    found = problems("contacts:\n  team: [unclosed\n")
    assert found[0].startswith("cfg.yaml:3: not valid YAML")


def test_an_unreadable_file_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_the_attempt_bound_defaults_to_three_and_can_be_set_within_reason():
    assert parse_config(GOOD).max_attempts == 3
    assert parse_config("defaults: {max_attempts: 5}\n" + GOOD).max_attempts == 5
    assert load_config(EXAMPLE).max_attempts == 3
    [problem] = problems("defaults: {max_attempts: 0}\n" + GOOD)
    assert problem.startswith("cfg.yaml:1: defaults.max_attempts:")
