"""Rotas: a contact that is whoever is on call (weekly YAML or an iCal schedule), resolved when
a step fires; a gap in the rota told to the statistics team days ahead, once."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from releasewatch.config.load import load_config, parse_config
from releasewatch.errors import ConfigError, SendError
from releasewatch.model import Chain, Contact, Release, Step
from releasewatch.notify.base import Message
from releasewatch.readiness.rota import on_call, weekly
from releasewatch.timefmt import LONDON
from tests.factories import CONTACTS, make_release
from tests.unit.escalation_support import TimedNotifier
from tests.unit.test_readiness import World


def uk_at(y: int, m: int, d: int, hh: int, mm: int) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LONDON).astimezone(UTC)


PEOPLE = """\
contacts:
  team: {name: Stats team, email: team@example.com}
  alice: {name: Alice Publisher, email: alice@example.com, phone: "+447700900101"}
  bob: {name: Bob Publisher, email: bob@example.com}
  carol: {name: Carol Publisher, email: carol@example.com}
"""
CHAIN = """\
chains:
  default:
    - {after: 5m, notify: [team]}
    - {after: 10m, notify: [oncall]}
releases:
  - id: lms
    title: Labour market
    url: https://www.gov.uk/government/statistics/lms
    due: 2025-07-17 09:30
"""


# -- weekly ---------------------------------------------------------------------------------------
def test_a_weekly_rota_keeps_uk_clock_times_across_the_bst_change() -> None:
    text = (
        PEOPLE
        + """\
  oncall:
    name: On-call web publisher
    role: web publisher
    rota:
      weekly:
        - {days: [mon, tue, wed, thu, fri], from: "08:00", to: "18:00", contact: alice}
        - {days: [mon], from: "08:00", to: "12:00", contact: carol}
"""
        + CHAIN
    )
    config = parse_config(text, "cfg.yaml")
    rota = config.contacts["oncall"].rota
    assert rota is not None
    # Friday 28 March 2025 is GMT; the clocks go forward on Sunday 30 March.
    assert on_call(rota, uk_at(2025, 3, 28, 8, 30)) == ("alice",)
    assert on_call(rota, uk_at(2025, 3, 28, 7, 59)) == ()
    # Monday 31 March, BST: 08:30 UK time is 07:30 UTC, and the later Monday entry wins.
    assert on_call(rota, datetime(2025, 3, 31, 7, 30, tzinfo=UTC)) == ("carol",)
    assert on_call(rota, datetime(2025, 3, 31, 6, 59, tzinfo=UTC)) == ()
    assert on_call(rota, uk_at(2025, 3, 31, 12, 0)) == ("alice",)
    assert on_call(rota, uk_at(2025, 3, 31, 18, 0)) == ()
    assert on_call(rota, uk_at(2025, 3, 29, 10, 0)) == ()  # Saturday: nobody
    # The release embeds the rota and its members, so a step can reach them.
    release = config.releases[0]
    assert {"oncall", "alice", "carol"} <= release.contacts.keys()


# -- iCal -----------------------------------------------------------------------------------------
MAIN_ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//rota//EN
BEGIN:VEVENT
UID:weekday-primary
SUMMARY:[L1] alice
DTSTART;TZID=Europe/London:20250324T080000
DTEND;TZID=Europe/London:20250324T180000
RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR
END:VEVENT
BEGIN:VEVENT
UID:backup
SUMMARY:[L2] bob
DTSTART:20250401T000000Z
DTEND:20250405T000000Z
END:VEVENT
BEGIN:VEVENT
UID:by-attendee
SUMMARY:[L3]
ATTENDEE:mailto:carol@example.com
DTSTART:20250405T090000Z
DTEND:20250405T100000Z
END:VEVENT
END:VCALENDAR
"""
OVERRIDE_ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//override//EN
BEGIN:VEVENT
UID:swap
SUMMARY:carol
DTSTART;TZID=Europe/London:20250402T120000
DTEND;TZID=Europe/London:20250402T140000
END:VEVENT
END:VCALENDAR
"""


def test_an_ical_rota_takes_the_lowest_level_and_the_override_wins(tmp_path: Path) -> None:
    (tmp_path / "rota.ics").write_text(MAIN_ICS)
    (tmp_path / "swaps.ics").write_text(OVERRIDE_ICS)
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        PEOPLE
        + """\
  oncall:
    name: On-call web publisher
    rota: {ics: rota.ics, override: swaps.ics}
"""
        + CHAIN
    )
    rota = load_config(cfg).contacts["oncall"].rota
    assert rota is not None
    # Monday 31 March (BST, a recurrence after the clock change): 08:00-18:00 UK time.
    assert on_call(rota, uk_at(2025, 3, 31, 8, 0)) == ("alice",)
    assert on_call(rota, uk_at(2025, 3, 31, 7, 59)) == ()
    # Tuesday 1 April: [L1] alice and [L2] bob overlap by day; the lower level wins.
    assert on_call(rota, uk_at(2025, 4, 1, 10, 0)) == ("alice",)
    assert on_call(rota, uk_at(2025, 4, 1, 19, 0)) == ("bob",)
    # Wednesday 2 April 12:00-14:00: the override calendar beats both.
    assert on_call(rota, uk_at(2025, 4, 2, 13, 0)) == ("carol",)
    assert on_call(rota, uk_at(2025, 4, 2, 14, 0)) == ("alice",)
    # Saturday 5 April: an event naming its person by ATTENDEE (their email), not title.
    assert on_call(rota, datetime(2025, 4, 5, 9, 30, tzinfo=UTC)) == ("carol",)


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cfg.yaml")
    return [str(p) for p in caught.value.problems]


def test_rota_mistakes_are_located_config_errors() -> None:
    text = (
        PEOPLE
        + """\
  oncall:
    name: On-call web publisher
    rota:
      weekly:
        - {days: [mon], from: "08:00", to: "18:00", contact: nobody-here}
  nested:
    name: Rota of rotas
    rota:
      weekly:
        - {days: [tue], from: "25:00", contact: alice}
        - {days: [mon], contact: oncall}
  withmail:
    name: A rota with an address
    email: rota@example.com
    rota: {weekly: [{days: [mon], contact: alice}]}
  fromurl:
    name: A rota from a URL
    rota: {ics: "https://example.com/rota.ics"}
  byaddress:
    name: A rota naming a stranger by address
    rota: {weekly: [{days: [mon], contact: stranger@example.com}]}
"""
        + CHAIN
    )
    found = "\n".join(_problems(text))
    assert "an attendee's address matches no contact" in found
    assert "stranger@example.com" not in found
    assert "unknown contact 'nobody-here' on the rota" in found
    assert "25:00" in found or "weekly[0].from" in found
    assert "a rota has no email or phone of its own" in found
    assert "URLs are not supported" in found
    assert "cfg.yaml:" in found  # located: file and line


def test_a_rota_cannot_contain_a_rota() -> None:
    text = (
        PEOPLE
        + """\
  oncall:
    name: On-call web publisher
    rota: {weekly: [{days: [mon], contact: alice}]}
  outer:
    name: Outer
    rota: {weekly: [{days: [mon], contact: oncall}]}
"""
        + CHAIN
    )
    assert any("'oncall' is a rota; rotas cannot nest" in p for p in _problems(text))


# -- policy: who is told, and when ----------------------------------------------------------------
ONCALL = Contact(
    id="oncall",
    name="On-call web publisher",
    role="web publisher",
    rota=weekly(
        [
            {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00", "to": "10:00",
             "contact": "web_publisher"},
            {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "10:00", "to": "18:00",
             "contact": "carol"},
        ]
    ),
)  # fmt: skip
CAROL = Contact(id="carol", name="Carol Publisher", email="carol@example.com")
ROTA_CHAIN = Chain(
    id="rota",
    steps=(
        Step(after=timedelta(minutes=5), notify=("stats_team",)),
        Step(after=timedelta(minutes=10), notify=("oncall",)),
        Step(after=timedelta(minutes=40), notify=("oncall",)),
    ),
)


def rota_release(due: datetime, oncall: Contact = ONCALL) -> Release:
    contacts = {**CONTACTS, "oncall": oncall, "carol": CAROL}
    return make_release(due=due, chain=ROTA_CHAIN, contacts=contacts)


# Thursday 17 July 2025, 09:30 BST.
DUE = uk_at(2025, 7, 17, 9, 30)


def test_a_rota_change_between_two_steps_reaches_two_people() -> None:
    world = World(rota_release(DUE), uk_at(2025, 7, 14, 9, 0))
    assert world.tick_at(uk_at(2025, 7, 14, 9, 0)) == []  # fully covered: no gap notice
    assert world.tick_at(DUE + timedelta(minutes=10)) == [
        ("stats_team", "email", "alert"),
        ("web_publisher", "email", "alert"),
    ]
    assert world.tick_at(DUE + timedelta(minutes=40)) == [("carol", "email", "alert")]
    alice = world.text_to("web_publisher", "alert")
    assert "You are told as on call for On-call web publisher." in alice


def test_a_retried_step_stays_with_who_was_on_call_when_it_fired() -> None:
    world = World(rota_release(uk_at(2025, 7, 17, 9, 45)), uk_at(2025, 7, 17, 9, 0))
    failing = {"first": True}

    def fail(message: Message) -> SendError | None:
        if message.contact_id == "web_publisher" and failing.pop("first", False):
            return SendError("connection reset")
        return None

    world.dog.notifiers["email"] = TimedNotifier(world.clock, world.log, fail)
    # Step 1 fires at 09:55 to Alice (on call until 10:00); the send fails and is retried.
    world.tick_at(uk_at(2025, 7, 17, 9, 55))
    sent = world.tick_at(uk_at(2025, 7, 17, 10, 5))
    assert ("web_publisher", "email", "alert") in sent
    assert ("carol", "email", "alert") not in sent


def test_a_gap_days_ahead_tells_the_stats_team_once_and_the_step_falls_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    early = uk_at(2025, 7, 17, 7, 0)  # nobody on the rota before 08:00
    world = World(rota_release(early), uk_at(2025, 7, 14, 9, 0))
    assert world.tick_at(uk_at(2025, 7, 14, 9, 0)) == [("stats_team", "email", "rota_gap")]
    notice = world.text_to("stats_team", "rota_gap")
    assert "Nobody on call" in notice
    assert "07:10 on Thursday 17 July (On-call web publisher)" in notice
    assert world.tick_at(uk_at(2025, 7, 15, 9, 0)) == []  # once, not every tick
    assert world.tick_at(uk_at(2025, 7, 16, 9, 0)) == []
    # At the step, still nobody: the stats team is told instead, and the message says why.
    assert world.tick_at(early + timedelta(minutes=10)) == [
        ("stats_team", "email", "alert"),
    ]
    step = [s for s in world.log if s.message.key.split("|")[2] == "1"]
    assert len(step) == 1
    assert "Nobody was on call for On-call web publisher at 07:10" in step[0].message.text
    for address in ("@example.com", "+44770090"):
        assert address not in caplog.text


def test_no_gap_notice_for_a_cancelled_release() -> None:
    release = rota_release(uk_at(2025, 7, 17, 7, 0)).model_copy(update={"cancelled": True})
    world = World(release, uk_at(2025, 7, 14, 9, 0))
    assert world.tick_at(uk_at(2025, 7, 14, 9, 0)) == []


def test_a_gap_at_the_readiness_reminder_is_told_days_ahead_and_the_team_asked_instead() -> None:
    from releasewatch.model import Readiness

    # Due 09:30 Thursday, fully covered; the 14:00 reminder on Wednesday finds nobody on the
    # rota (08:00-10:00 web_publisher, 10:00-18:00 carol, but carol is off that day).
    oncall = ONCALL.model_copy(
        update={
            "rota": weekly(
                [
                    {"days": ["mon", "tue", "wed", "thu", "fri"], "from": "08:00",
                     "to": "10:00", "contact": "web_publisher"},
                    {"days": ["thu", "fri"], "from": "10:00", "to": "18:00", "contact": "carol"},
                ]
            )
        }
    )  # fmt: skip
    ready = Readiness(notify=("oncall",), escalate_to=("lead_official",))
    release = rota_release(DUE, oncall).model_copy(update={"readiness": ready})
    world = World(release, uk_at(2025, 7, 13, 9, 0))
    assert world.tick_at(uk_at(2025, 7, 13, 9, 0)) == [("stats_team", "email", "rota_gap")]
    assert "14:00 on Wednesday 16 July" in world.text_to("stats_team", "rota_gap")
    assert world.tick_at(uk_at(2025, 7, 16, 14, 0)) == [("stats_team", "email", "ready_remind")]
    asked = world.text_to("stats_team", "ready_remind")
    assert "Nobody was on call for On-call web publisher at 14:00" in asked
