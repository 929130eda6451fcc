"""The YAML authoring format: defaults, resolution, and errors that name file, line and path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releasewatch.config.load import load_config, parse_config
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
        " (check the spelling; see docs/configuration.md)"
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


# -- what can never be probed is refused by validate, with the prober's own check -------------
@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://xn--a.com/x", "not a valid URL"),  # invalid IDNA
        ("https://\u2488.example.com/x", "not a valid URL"),
        ("https://user:pw@www.gov.uk/x", "credentials"),
        ("https://10.1.2.3/x", "a private address"),
        ("https://127.0.0.1/x", "loopback"),
        ("https://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[fe80::1]/x", "link-local"),
        ("https://[::ffff:192.168.0.1]/x", "private"),
        ("https://100.64.0.1/x", "carrier-grade NAT"),
        ("https://intranet/x", "single-label"),
        ("https://metadata.google.internal/x", "special-use"),
        ("https://printer.local/x", "special-use"),
        ("https://app.localhost/x", "loopback"),
        ("https://exa mple.com/x", "not a valid host name"),
        ("https://127.1/x", "short or unusual form"),
        ("https://0x7f.0.0.1/x", "short or unusual form"),
        ("http://www.gov.uk/x", "only https"),
    ],
)
def test_validate_refuses_urls_the_prober_would_refuse(url: str, expected: str):
    found = problems(GOOD.replace("https://www.gov.uk/government/statistics/lms", url))
    assert len(found) == 1, found
    assert found[0].startswith("cfg.yaml:11: releases[0].url: "), found
    assert expected in found[0]


def test_validate_and_the_prober_use_the_same_check():
    """Every URL validate accepts passes netguard.check_url, and every one it refuses fails it."""
    import httpx

    from releasewatch.errors import ProbeRefused
    from releasewatch.probe.netguard import check_url

    for url in ("https://user:pw@www.gov.uk/x", "https://10.0.0.1/", "https://www.gov.uk/x"):
        text = GOOD.replace("https://www.gov.uk/government/statistics/lms", url)
        try:
            check_url(httpx.URL(url), allow_loopback=False)
            prober_ok = True
        except ProbeRefused:
            prober_ok = False
        try:
            parse_config(text)
            config_ok = True
        except ConfigError:
            config_ok = False
        assert prober_ok == config_ok, url


def test_loopback_is_refused_outside_local_mode_with_the_setting_named():
    text = GOOD.replace("https://www.gov.uk/government/statistics/lms", "https://127.0.0.1:8443/x")
    (found,) = problems(text)
    assert "set local_mode: true" in found
    assert parse_config("local_mode: true\n" + text).releases[0].allow_loopback


def test_an_empty_cache_bust_is_refused():
    found = problems(GOOD + '    cache_bust: ""\n')
    assert len(found) == 1 and "releases[0].cache_bust: expected a query parameter name" in found[0]
    found = problems(GOOD.replace("contacts:", 'defaults: {cache_bust: "a b"}\ncontacts:', 1))
    assert any("defaults.cache_bust: expected a query parameter name" in p for p in found)


@pytest.mark.parametrize("email", ["a@example.com, b@example.com", "a@example.com b@example.com"])
def test_an_email_field_holding_two_addresses_is_refused(email: str):
    found = problems(GOOD.replace("team@example.com", f"'{email}'"))
    assert len(found) == 1
    assert "cfg.yaml:2: contacts.team.email: holds more than one address" in found[0]


@pytest.mark.parametrize("char", ["\\n", "\\t", "\\e", "\\x7f", "\\x9b", "\\u2028", "\\u202e"])
def test_control_characters_in_titles_names_and_roles_are_refused(char: str):
    title = GOOD.replace("title: Labour market", f'title: "Labour{char}market"')
    assert problems(title) == [
        f"cfg.yaml:10: releases[0].title: contains a control character "
        f"(U+{ord(_unescape(char)):04X}); use plain text on one line"
    ]
    name = GOOD.replace("{name: Stats team,", f'{{name: "Stats{char}team",')
    assert any("contacts.team.name: contains a control character" in p for p in problems(name))
    role = GOOD.replace("{name: Stats team,", f'{{name: Stats, role: "x{char}",')
    assert any("contacts.team.role: contains a control character" in p for p in problems(role))
    producer = GOOD + f'    producer: "ONS{char}"\n'
    assert any(
        "releases[0].producer: contains a control character" in p for p in problems(producer)
    )
    chain = GOOD.replace("  default:\n", f'  "de{char}fault":\n')
    assert any("chain names use letters" in p for p in problems(chain))


def _unescape(char: str) -> str:
    return {"\\e": "\x1b"}.get(char) or char.encode().decode("unicode_escape")


# -- durations have units --------------------------------------------------------------------
def _with_defaults(defaults: str) -> str:
    return GOOD.replace("contacts:", f"defaults: {defaults}\ncontacts:", 1)


@pytest.mark.parametrize(
    ("text", "where", "number"),
    [
        (_with_defaults("{pre_window: 15}"), "defaults.pre_window", 15),
        (GOOD.replace("after: 5m", "after: 5"), "chains.default[0].after", 5),
        (GOOD.replace("repeat: 30m", "repeat: 30"), "chains.default[0].repeat", 30),
        (GOOD + "    grace: 2\n", "releases[0].grace", 2),
        (_with_defaults("{cadence: {hot: 10}}"), "defaults.cadence.hot", 10),
        (_with_defaults("{ack_timeout: 1.5}"), "defaults.ack_timeout", 1.5),
    ],
)
def test_a_bare_number_is_not_a_duration(text: str, where: str, number: float):
    (found,) = problems(text)
    assert f"{where}: {number!r} has no unit; write a duration like '{number}m'" in found


# -- every problem in one pass ---------------------------------------------------------------
def test_every_kind_of_mistake_is_reported_in_one_pass():
    bad = """\
defaults: {chain: default, pre_window: 15}
contacts:
  team: {name: Stats team, email: team@example.com}
  team: {name: Again, email: again@example.com}
  pub: {name: Web publisher, phone: "07700900123"}
chains:
  default:
    - {after: 5x, notify: [team, nobody]}
    - {after: 10m, notify: [pub]}
releases:
  - id: lms
    url: http://www.gov.uk/x
    due: 2025-07-17 09:30
    chain: fast
  - id: ok
    title: Fine
    url: https://www.gov.uk/y
    due: 2025-07-18 25:00
    colour: red
"""
    found = problems(bad)
    expected = [
        "cfg.yaml:1: defaults.pre_window: 15 has no unit",
        "cfg.yaml:4: contacts.team: duplicate key",
        "cfg.yaml:5: contacts.pub.phone: expected an E.164",
        "cfg.yaml:8: chains.default[0].after: '5x' is not a duration",
        "cfg.yaml:8: chains.default[0].notify[1]: unknown contact 'nobody'",
        "cfg.yaml:11: releases[0].title: required field is missing",
        "cfg.yaml:12: releases[0].url: only https",
        "cfg.yaml:14: releases[0].chain: unknown chain 'fast'",
        "cfg.yaml:18: releases[1].due:",
        "cfg.yaml:19: releases[1].colour: unknown key",
    ]
    for start in expected:
        assert any(p.startswith(start) for p in found), (start, found)
    assert len(found) == len(expected), found


# -- due times against the present -----------------------------------------------------------
NOW = datetime(2025, 7, 17, 12, 0, tzinfo=UTC)  # GOOD's release was due 08:30 UTC that day


def test_a_due_time_in_the_past_is_a_warning():
    config = parse_config(GOOD, "cfg.yaml", now=NOW)
    assert [str(w) for w in config.warnings] == [
        "cfg.yaml:12: releases[0].due: Thu 17 Jul 2025 09:30 BST is 3 h 30 min ago: "
        "the release is already overdue and its alerts start at once"
    ]
    assert parse_config(GOOD, "cfg.yaml", now=NOW - timedelta(hours=4)).warnings == []


def test_a_due_time_more_than_a_week_past_is_warned_about_and_set_aside_unless_deliberate():
    # Time passing never invalidates a config: the release is set aside (config.stale, kept
    # only if the store already has it), the others go on.
    later = NOW + timedelta(days=8)
    config = parse_config(GOOD, "cfg.yaml", now=later)
    (found,) = [str(w) for w in config.warnings]
    assert found.startswith("cfg.yaml:12: releases[0].due: Thu 17 Jul 2025 09:30 BST is ")
    assert "more than 7 days in the past" in found and "past_due_ok: true" in found
    assert "'lms' is not started" in found  # named: the one left out can be found
    assert config.releases == [] and [r.id for r in config.stale] == ["lms"]
    deliberate = parse_config(GOOD + "    past_due_ok: true\n", "cfg.yaml", now=later)
    assert deliberate.warnings == [] and len(deliberate.releases) == 1
    cancelled = parse_config(GOOD + "    cancelled: true\n", "cfg.yaml", now=later)
    assert cancelled.warnings == []
    assert parse_config(GOOD, "cfg.yaml", now=NOW + timedelta(days=6)).warnings


def test_a_due_time_weeks_past_is_said_in_days_not_hundreds_of_hours():
    due = datetime(2025, 7, 17, 8, 30, tzinfo=UTC)
    config = parse_config(GOOD, "cfg.yaml", now=due + timedelta(hours=857, minutes=9))
    (found,) = [str(w) for w in config.warnings]
    assert "Thu 17 Jul 2025 09:30 BST is 35 days 17 h ago, more than 7 days" in found


@pytest.mark.parametrize("due", ["0001-01-01 00:00+01:00", "9999-12-31 23:59", "1970-01-01 00:00"])
def test_a_due_time_out_of_range_is_a_located_error(due: str):
    (found,) = problems(GOOD.replace("2025-07-17 09:30", due))
    assert found.startswith(f"cfg.yaml:12: releases[0].due: '{due}'")


def test_a_release_can_set_ack_timeout_to_zero():
    """0s is a value, not 'unset': it was silently replaced by the 30m default."""
    assert parse_config(GOOD + "    ack_timeout: 0s\n").releases[0].ack_timeout == timedelta(0)


def test_every_reason_a_url_is_refused_is_given_at_once():
    url = "http://user:pw@10.0.0.1/x"
    (found,) = problems(GOOD.replace("https://www.gov.uk/government/statistics/lms", url))
    assert "credentials" in found and "only https" in found and "a private address" in found


def test_an_unquoted_phone_number_says_to_quote_it_on_its_line():
    # YAML reads +447700900123 unquoted as the integer 447700900123
    text = GOOD.replace('phone: "+447700900123"', "phone: +447700900123")
    (found,) = problems(text)
    assert found == (
        "cfg.yaml:3: contacts.pub.phone: a phone number must be quoted, or YAML reads it as a "
        'number: write phone: "+447700900123" (with your number)'
    )
    assert "valid string" not in found


def test_a_number_where_text_is_expected_says_to_quote_it():
    (found,) = problems(GOOD.replace("email: team@example.com", "email: 2025"))
    assert found == (
        "cfg.yaml:2: contacts.team.email: expected text, but YAML read a number: "
        "put the value in quotes"
    )


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.0.0.1:8000/x", "127.0.0.1"),
        ("https://localhost/x", "localhost"),
        ("http://[::1]:8000/x", "::1"),
    ],
)
def test_a_page_on_this_machine_names_local_mode_not_an_internal_flag(url: str, host: str):
    text = GOOD.replace("https://www.gov.uk/government/statistics/lms", url)
    (found,) = problems(text)
    assert found == (
        f"cfg.yaml:11: releases[0].url: {host} is this machine (a loopback address); pages "
        "here are watched only in local mode, for testing: set local_mode: true at the top of "
        "the config"
    )
    assert parse_config("local_mode: true\n" + text).releases[0].url == url
