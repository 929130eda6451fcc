"""`chain: none` and the whole system: every organisation observed, mapped ones alerted."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from releasewatch.calendar.announcement import Announcement, AnnState, Parsed
from releasewatch.calendar.imports import Imports
from releasewatch.calendar.sync import plan_sync
from releasewatch.config.load import parse_config
from releasewatch.errors import ConfigError

NOW = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
DUE = datetime(2026, 7, 16, 8, 30, tzinfo=UTC)

WHOLE_SYSTEM = """\
contacts:
  team: {name: DfE statistics team, email: team@example.com}
  hop: {name: Head of profession, email: hop@example.com, role: head_of_profession}
chains:
  dfe:
    - {after: 5m, notify: [team]}
calendars:
  - govuk: {organisations: all}
  - ons: {}
    chain: none
series:
  - organisation: department-for-education
    chain: dfe
"""


def announcement(slug: str, org: str, title: str = "") -> Announcement:
    return Announcement(
        id=f"govuk-{slug}",
        title=title or slug.replace("-", " ").capitalize(),
        url=f"https://www.gov.uk/government/statistics/announcements/{slug}",
        state=AnnState.CONFIRMED,
        due=DUE,
        producer=org,
        organisations=(org,),
        govuk=True,
    )


def ons(slug: str) -> Announcement:
    return Announcement(
        id=f"ons-{slug}", title=slug, url=f"https://www.ons.gov.uk/releases/{slug}",
        state=AnnState.CONFIRMED, due=DUE, producer="Office for National Statistics",
        organisations=("office-for-national-statistics",),
    )  # fmt: skip


def plan(text: str, results: dict[str, list[Announcement]]):  # type: ignore[no-untyped-def]
    config = parse_config(text, "rw.yaml", now=NOW)
    parsed = {label: Parsed(announcements=anns) for label, anns in results.items()}
    out = plan_sync(config, parsed, Imports({}, {}), {}, NOW)
    assert not out.failures, out.failures
    return config, {r.id: r for r in out.releases}


def test_every_organisation_is_observed_but_the_one_mapped_to_a_chain():
    _, releases = plan(
        WHOLE_SYSTEM,
        {
            "govuk:all": [
                announcement("schools-pupils-2026", "department-for-education"),
                announcement("poultry-2026", "department-for-environment-food-rural-affairs"),
            ],
            "ons": [ons("labourmarketjuly2026")],
        },
    )
    mapped = releases["govuk-schools-pupils-2026"]
    assert mapped.chain is not None and mapped.chain.id == "dfe"
    assert mapped.readiness is not None and set(mapped.contacts) == {"team", "hop"}
    for rid in ("govuk-poultry-2026", "ons-labourmarketjuly2026"):
        observed = releases[rid]
        assert observed.observed and observed.chain is None
        assert observed.contacts == {} and observed.readiness is None  # nobody to tell


def test_beside_every_organisation_a_calendar_falling_back_to_a_chain_is_warned_about():
    text = WHOLE_SYSTEM.replace("    chain: none\n", "")
    config, releases = plan(text, {"govuk:all": [], "ons": [ons("cpijuly2026")]})
    # The only chain is still the default for ONS: an alert is never dropped silently...
    chain = releases["ons-cpijuly2026"].chain
    assert chain is not None and chain.id == "dfe"
    # ...but the config says so, where the calendar is.
    [warning] = config.warnings
    assert warning.path == "calendars[1]" and warning.line == 9
    assert "alert chain 'dfe' (defaults.chain)" in warning.message
    assert "add chain: none to this calendar" in warning.message


def test_a_narrow_calendar_keeps_defaults_chain_as_before():
    text = WHOLE_SYSTEM.replace("organisations: all", "organisations: [department-of-health]")
    text = text.replace("    chain: none\n", "")
    config, releases = plan(
        text,
        {
            "govuk:department-of-health": [announcement("nhs-waits", "department-of-health")],
            "ons": [],
        },
    )
    chain = releases["govuk-nhs-waits"].chain
    assert chain is not None and chain.id == "dfe" and config.warnings == []


def test_a_series_can_match_an_organisation_and_a_title_together():
    text = WHOLE_SYSTEM.replace(
        "  - organisation: department-for-education\n",
        '  - organisation: department-for-education\n    match: "^Schools"\n',
    )
    _, releases = plan(
        text,
        {
            "govuk:all": [
                announcement("schools-pupils", "department-for-education", "Schools, pupils"),
                announcement("apprenticeships", "department-for-education", "Apprenticeships"),
                announcement("schools-wales", "welsh-government", "Schools in Wales"),
            ],
            "ons": [],
        },
    )
    assert releases["govuk-schools-pupils"].chain is not None
    assert releases["govuk-apprenticeships"].observed
    assert releases["govuk-schools-wales"].observed


def test_a_calendar_entry_may_name_the_chain_for_everything_it_imports():
    text = WHOLE_SYSTEM.replace("  - govuk: {organisations: all}\n",
                                "  - govuk: {organisations: all}\n    chain: dfe\n")  # fmt: skip
    _, releases = plan(text, {"govuk:all": [announcement("x", "any-org")], "ons": []})
    chain = releases["govuk-x"].chain
    assert chain is not None and chain.id == "dfe"


HAND = """\
contacts:
  team: {name: Team, email: team@example.com}
chains:
  default:
    - {after: 5m, notify: [team]}
releases:
  - id: r1
    title: Observed by hand
    url: https://www.gov.uk/government/statistics/r1
    due: 2026-07-16 09:30
    chain: none
  - id: r2
    title: Alerted as before
    url: https://www.gov.uk/government/statistics/r2
    due: 2026-07-16 09:30
"""


def test_a_hand_written_release_is_observed_when_it_says_chain_none():
    config = parse_config(HAND, "rw.yaml", now=NOW)
    r1, r2 = config.releases
    assert r1.observed and r1.contacts == {} and r1.readiness is None
    assert r2.chain is not None and r2.chain.id == "default" and r2.readiness is not None


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        (HAND.replace("  default:", "  none:").replace("\n    chain: none", ""),
         "chains.none", "'none' is reserved: chain: none means nobody is alerted"),
        (HAND.replace("    chain: none", "    chain: none\n    readiness: {enabled: true}"),
         "releases[0].readiness", "chain: none alerts nobody, so nobody can be asked"),
        (HAND + "calendars:\n  - govuk: {organisations: all}\n    chain: dfe\n",
         "calendars[0].chain", "unknown chain 'dfe'"),
        (HAND + "series:\n  - {match: x, chain: none, readiness: {enabled: true}}\n",
         "series[0].readiness", "chain: none alerts nobody, so nobody can be asked"),
        (HAND + "series:\n  - chain: default\n",
         "series[0]", "give match (a title pattern), organisation (a slug), or both"),
        (HAND + "series:\n  - organisation: Department for Education\n",
         "series[0].organisation", "is not an organisation slug"),
        (HAND + "calendars:\n  - govuk: {organisations: everything}\n",
         "calendars[0].govuk.organisations", "a list of organisation slugs, or all"),
    ],
)  # fmt: skip
def test_observing_mistakes_are_named_where_they_are(text: str, where: str, message: str):
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "rw.yaml", now=NOW)
    found = [(p.path, p.message) for p in caught.value.problems]
    assert any(path == where and message in text_ for path, text_ in found), found


def test_the_sync_table_says_which_releases_are_observed_and_when_that_changes():
    from releasewatch.model import ReleaseRecord

    config = parse_config(WHOLE_SYSTEM, "rw.yaml", now=NOW)
    dfe = announcement("schools-pupils-2026", "department-for-education")
    results = {"govuk:all": Parsed(announcements=[dfe, announcement("poultry", "defra")]),
               "ons": Parsed()}  # fmt: skip
    first = plan_sync(config, results, Imports({}, {}), {}, NOW)
    assert [line.change for line in first.lines] == ["add", "add (observed)"]
    # The mapping is taken away: the sync says the chain stops, never silently.
    unmapped = parse_config(WHOLE_SYSTEM.split("series:")[0], "rw.yaml", now=NOW)
    stored = {r.id: ReleaseRecord(release=r) for r in first.releases}
    second = plan_sync(unmapped, results, Imports({}, {}), stored, NOW)
    assert [line.change for line in second.lines] == [
        "update (observed now: chain dfe no longer alerted)",
        "unchanged (observed)",
    ]
    assert second.counts == {"update": 1, "unchanged": 1}


def test_a_series_organisation_that_matches_nothing_is_warned_about():
    text = WHOLE_SYSTEM.replace("department-for-education", "department-for-educaton")
    config = parse_config(text, "rw.yaml", now=NOW)
    dfe = announcement("schools", "department-for-education")
    results = {"govuk:all": Parsed(announcements=[dfe]), "ons": Parsed()}
    out = plan_sync(config, results, Imports({}, {}), {}, NOW)
    assert out.releases[0].observed  # the typo maps nothing, and the sync says so:
    assert out.warnings == [
        "series[0]: organisation 'department-for-educaton' matched no announcement from the "
        "calendars (check the slug: https://www.gov.uk/government/organisations/<slug>)"
    ]
    right = parse_config(WHOLE_SYSTEM, "rw.yaml", now=NOW)
    assert plan_sync(right, results, Imports({}, {}), {}, NOW).warnings == []


def test_a_deployment_that_only_observes_needs_no_contacts_or_chains():
    text = """\
defaults: {chain: none}
calendars:
  - govuk: {organisations: all}
  - ons: {}
"""
    config, releases = plan(text, {"govuk:all": [announcement("x", "any")], "ons": [ons("cpi")]})
    assert config.warnings == [] and all(r.observed for r in releases.values())
    with pytest.raises(ConfigError, match="expected a non-empty mapping of chains"):
        parse_config(text.replace("{chain: none}", "{}"), "rw.yaml", now=NOW)
