"""The `politeness:` block: requests per second per host, and when to ask the public path."""

from __future__ import annotations

import pytest

from releasewatch.config.load import parse_config
from releasewatch.errors import ConfigError
from tests.unit.test_config import GOOD


def test_without_a_block_govuk_and_ons_get_the_default_budget() -> None:
    config = parse_config(GOOD, "cfg.yaml")
    assert config.politeness.host_rates() == {"gov.uk": 50.0, "ons.gov.uk": 10.0}
    assert config.politeness.public_path == "fallback"


def test_hosts_named_are_merged_over_the_defaults() -> None:
    text = GOOD + (
        "politeness:\n"
        "  requests_per_second:\n"
        "    WWW.GOV.UK: 20\n"
        "    statistics.example.gov.uk: 2.5\n"
        "  public_path: always\n"
    )
    config = parse_config(text, "cfg.yaml")
    assert config.politeness.host_rates() == {
        "gov.uk": 20.0,
        "ons.gov.uk": 10.0,
        "statistics.example.gov.uk": 2.5,
    }
    assert config.politeness.public_path == "always"


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        ("  requests_per_second:\n    www.gov.uk: 0\n", "www.gov.uk: expected requests per"),
        ("  requests_per_second:\n    https://www.gov.uk/: 5\n", "expected a host name"),
        ("  public_path: sometimes\n", "fallback"),
        ("  rate: 5\n", "rate"),
    ],
)
def test_a_bad_block_is_refused_naming_where(block: str, expected: str) -> None:
    text = GOOD + "politeness:\n" + block
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cfg.yaml")
    found = [str(p) for p in caught.value.problems]
    assert any("politeness" in p and expected in p and "cfg.yaml" in p for p in found), found
    line = GOOD.count("\n") + 2  # the block's first key
    assert any(f":{line}" in p for p in found), found
