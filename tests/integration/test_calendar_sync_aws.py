"""The calendar sync on AWS: `push` keeps the config (calendars, series, rotas) in the table,
and the sync Lambda imports the calendars through the same sync as `releasewatch sync`, under
moto, against a loopback GOV.UK search API. Dates are in 2098: push checks due times against
the real clock."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.sns.models import sns_backends

from releasewatch.aws.calendar_sync import build_sync
from releasewatch.aws.lazy import Lazy
from releasewatch.aws.settings import SyncSettings
from releasewatch.clock import FixedClock
from releasewatch.commands import push
from releasewatch.readiness.rota import on_call
from releasewatch.store.dynamodb import DynamoDBStore
from releasewatch.store.dynamodb_table import create_table, dynamodb_client
from tests.calendar_support import FakeSearch, result
from tests.integration.lambda_support import LambdaContext, import_handler, load_event
from tests.probe_support import Handler, LoopbackHTTPServer, loopback_server

REGION = "eu-west-2"
TABLE = "releasewatch-sync-test"
NOW = datetime(2098, 7, 1, 11, 0, tzinfo=UTC)
MONTHLY = "govuk-monthly-ipo-statistics-july-2098"
ROTA_ICS = """\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//example//rota//EN
BEGIN:VEVENT
UID:shift-1@example.com
SUMMARY:[L1] alice
DTSTART;TZID=Europe/London:20980713T080000
DTEND;TZID=Europe/London:20980720T080000
END:VEVENT
END:VCALENDAR
"""
CONFIG = """\
local_mode: true
defaults: {{chain: default}}
contacts:
  team: {{name: Stats team, email: team@example.com}}
  hop: {{name: Head of profession, role: head_of_profession, email: hop@example.com}}
  alice: {{name: Alice Publisher, phone: "+447700900101"}}
  bob: {{name: Bob Publisher, phone: "+447700900102"}}
  oncall:
    name: On-call web publisher
    rota: {{ics: "{base}/rota.ics"}}
  weekly:
    name: Weekday desk
    rota:
      weekly:
        - {{days: [mon, tue, wed, thu, fri], from: "08:00", to: "18:00", contact: bob}}
chains:
  default:
    - {{after: 5m, notify: [team]}}
    - {{after: 10m, channels: [sms], notify: [oncall]}}
  ipo-monthly:
    - {{after: 2m, notify: [team]}}
    - {{after: 10m, channels: [sms], notify: [oncall, weekly]}}
calendars:
  - govuk: {{organisations: [intellectual-property-office], base_url: "{base}", page_size: 2}}
  - csv: releases.csv
series:
  - match: "^Monthly IPO statistics"
    chain: ipo-monthly
releases:
  - id: handwritten
    title: Hand-written release
    url: https://www.gov.uk/government/statistics/handwritten
    due: 2098-07-20 09:30
"""


class Site:
    """The loopback server: the GOV.UK search API, and an iCal rota at /rota.ics."""

    def __init__(self, search: FakeSearch) -> None:
        self.search = search
        self.rota = ROTA_ICS

    def __call__(self, h: Handler) -> None:
        if h.route_path == "/rota.ics":
            h.reply(200, self.rota.encode(), {"Content-Type": "text/calendar"})
            return
        self.search(h)


@pytest.fixture
def search() -> FakeSearch:
    return FakeSearch(
        [
            result(
                "monthly-ipo-statistics-july-2098",
                "Monthly IPO statistics: July 2098",
                "2098-07-16T09:30:00.000+01:00",
            ),
            result("patents-2098", "Patents annual", "2098-07-22T09:30:00.000+01:00"),
        ]
    )


@pytest.fixture
def site(search: FakeSearch) -> Site:
    return Site(search)


@pytest.fixture
def server(site: Site) -> Iterator[LoopbackHTTPServer]:
    with loopback_server(site) as s:
        yield s


@pytest.fixture
def topic(aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    create_table(dynamodb_client(REGION), TABLE)
    arn: str = boto3.client("sns", region_name=REGION).create_topic(Name="ops")["TopicArn"]
    monkeypatch.setenv("TABLE_NAME", TABLE)
    monkeypatch.setenv("OPS_TOPIC_ARN", arn)
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "releasewatch")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "Releasewatch")  # as the template's Globals
    return arn


@pytest.fixture
def config(tmp_path: Path, server: LoopbackHTTPServer) -> Path:
    (tmp_path / "releases.csv").write_text(
        "id,title,url,due\nown-list,Our own list,https://example.org/stats/own,2098-07-21 09:30\n"
    )
    path = tmp_path / "rw.yaml"
    path.write_text(CONFIG.format(base=server.url("").rstrip("/")))
    return path


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def handler(topic: str, clock: FixedClock) -> ModuleType:
    module = import_handler("sync")
    module.sync = Lazy(lambda: build_sync(SyncSettings.from_env(), clock=clock))
    return module


def cli_push(config: Path) -> int:
    parser = argparse.ArgumentParser(prog="releasewatch")
    push.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["push", "--config", str(config), "--table", TABLE])
    code: int = args.func(args)
    return code


def invoke(handler: ModuleType, clock: FixedClock) -> dict[str, object]:
    context = LambdaContext(clock, clock.now() + timedelta(minutes=5))
    summary: dict[str, object] = handler.lambda_handler(load_event("scheduler_invoke"), context)
    return summary


def active() -> dict[str, object]:
    return {r.id: r for r in DynamoDBStore(TABLE).active_releases()}


def told(topic: str) -> list[str]:
    backend = sns_backends[DEFAULT_ACCOUNT_ID][REGION]
    return [n[1] for n in backend.topics[topic].sent_notifications]


def test_a_push_with_calendars_and_rotas_is_accepted_and_the_sync_imports_them(
    handler: ModuleType, config: Path, clock: FixedClock, topic: str
) -> None:
    assert cli_push(config) == 0
    assert sorted(active()) == ["handwritten"]  # nothing imported yet

    summary = invoke(handler, clock)
    assert summary["synced"] is True and summary["failed_sources"] == []
    records = active()
    assert sorted(records) == sorted(["govuk-patents-2098", "handwritten", MONTHLY, "own-list"])
    monthly = records[MONTHLY].release  # type: ignore[attr-defined]
    assert monthly.chain.id == "ipo-monthly"  # the pushed config's series
    assert monthly.due == datetime(2098, 7, 16, 8, 30, tzinfo=UTC)
    # The rota from the URL reached the release: alice is on call when its SMS step fires.
    rota = monthly.contacts["oncall"].rota
    assert on_call(rota, monthly.due + timedelta(minutes=10)) == ("alice",)
    assert "hop" in monthly.contacts  # the head of profession hears of date changes
    assert told(topic) == []

    # Idempotent: a second sync changes nothing; a push after a sync keeps the imports.
    versions = {rid: r.version for rid, r in records.items()}  # type: ignore[attr-defined]
    assert invoke(handler, clock)["synced"] is True
    assert {rid: r.version for rid, r in active().items()} == versions  # type: ignore[attr-defined]
    assert cli_push(config) == 0
    assert sorted(active()) == sorted(versions)


def test_a_failing_source_keeps_its_import_and_is_told_to_operators_once_per_streak(
    handler: ModuleType, config: Path, clock: FixedClock, topic: str, search: FakeSearch
) -> None:
    assert cli_push(config) == 0
    invoke(handler, clock)
    search.fail_with = 503
    for hours in (6, 12, 18):
        clock.set(NOW + timedelta(hours=hours))
        summary = invoke(handler, clock)
        assert summary["failed_sources"] == ["govuk:intellectual-property-office"]
    assert MONTHLY in active()  # the last good import is kept
    messages = told(topic)
    assert len(messages) == 1, messages
    assert "calendar source govuk:intellectual-property-office failed" in messages[0]
    assert "503" in messages[0] and "last good import is kept" in messages[0]

    search.fail_with = None
    clock.set(NOW + timedelta(hours=24))
    invoke(handler, clock)
    assert told(topic)[1:] == [
        "releasewatch: calendar source govuk:intellectual-property-office works again"
    ]


def test_a_moved_date_is_applied_by_the_sync_and_told_by_the_poller_as_locally(
    handler: ModuleType, config: Path, clock: FixedClock, search: FakeSearch
) -> None:
    assert cli_push(config) == 0
    invoke(handler, clock)
    search.results[0]["release_timestamp"] = "2098-07-17T09:30:00.000+01:00"
    clock.set(NOW + timedelta(hours=6))
    summary = invoke(handler, clock)
    assert summary["changes_to_tell"] == 1
    record = DynamoDBStore(TABLE).get_release(MONTHLY)
    assert record is not None and record.release.due == datetime(2098, 7, 17, 8, 30, tzinfo=UTC)
    kinds = [e.kind.value for e in DynamoDBStore(TABLE).events(MONTHLY)]
    assert "calendar_changed" in kinds


def test_an_unreadable_rota_url_fails_the_sync_once_and_changes_nothing(
    handler: ModuleType, config: Path, clock: FixedClock, topic: str, site: Site
) -> None:
    assert cli_push(config) == 0
    invoke(handler, clock)
    before = {rid: r.version for rid, r in active().items()}  # type: ignore[attr-defined]
    site.rota = "not a calendar"
    for hours in (6, 12):
        clock.set(NOW + timedelta(hours=hours))
        assert invoke(handler, clock)["synced"] is False
    assert {rid: r.version for rid, r in active().items()} == before  # type: ignore[attr-defined]
    messages = told(topic)
    assert len(messages) == 1 and "the pushed config cannot be read" in messages[0]
    assert "contacts.oncall.rota" in messages[0]


def test_the_sync_does_nothing_before_a_push(handler: ModuleType, clock: FixedClock) -> None:
    assert invoke(handler, clock) == {
        "synced": False,
        "reason": "no config pushed yet",
    }


def test_push_refuses_a_file_outside_the_config_folder(
    topic: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    (tmp_path / "elsewhere.csv").write_text("id,title,url,due\n")
    cfg = folder / "rw.yaml"
    cfg.write_text(
        "defaults: {chain: default}\n"
        "contacts: {team: {name: T, email: team@example.com}}\n"
        "chains: {default: [{after: 5m, notify: [team]}]}\n"
        "calendars: [{csv: ../elsewhere.csv}]\n"
        "releases: []\n"
    )
    assert cli_push(cfg) == 2
    err = capsys.readouterr().err
    assert "calendars[0].csv" in err and "inside the config's folder" in err
    assert "nothing pushed" in err


def test_a_sync_weeks_after_a_hand_written_release_was_due_still_runs(
    handler: ModuleType, config: Path, clock: FixedClock, topic: str
) -> None:
    # push checked the due times; the sync must not refuse the same config a week later
    # (the hand-written release was due on 20 July)
    assert cli_push(config) == 0
    clock.set(datetime(2098, 8, 1, 11, 0, tzinfo=UTC))
    summary = invoke(handler, clock)
    assert summary["synced"] is True, summary
    assert told(topic) == []


def test_a_rota_changed_at_its_url_reaches_the_releases_at_the_next_sync(
    handler: ModuleType, config: Path, clock: FixedClock, site: Site
) -> None:
    assert cli_push(config) == 0
    invoke(handler, clock)
    site.rota = ROTA_ICS.replace("[L1] alice", "[L1] bob")  # alice swapped her week with bob
    clock.set(NOW + timedelta(hours=6))
    invoke(handler, clock)
    for rid in (MONTHLY, "handwritten"):
        record = DynamoDBStore(TABLE).get_release(rid)
        assert record is not None
        step_at = datetime(2098, 7, 16, 8, 40, tzinfo=UTC)
        assert on_call(record.release.contacts["oncall"].rota, step_at) == ("bob",), rid


def test_without_calendars_the_sync_still_rereads_a_rota_url(
    handler: ModuleType, config: Path, clock: FixedClock, site: Site
) -> None:
    text = config.read_text()
    config.write_text(text[: text.index("calendars:")] + text[text.index("releases:") :])
    assert cli_push(config) == 0
    site.rota = ROTA_ICS.replace("[L1] alice", "[L1] bob")
    assert invoke(handler, clock)["synced"] is True
    record = DynamoDBStore(TABLE).get_release("handwritten")
    assert record is not None
    at = datetime(2098, 7, 16, 8, 40, tzinfo=UTC)
    assert on_call(record.release.contacts["oncall"].rota, at) == ("bob",)


def test_an_ical_rota_file_beside_the_config_is_pushed_with_it(
    handler: ModuleType, config: Path, clock: FixedClock
) -> None:
    (config.parent / "rota.ics").write_text(ROTA_ICS.replace("[L1] alice", "[L1] bob"))
    text = config.read_text()
    config.write_text(re.sub(r'rota: \{ics: "[^"]+"\}', 'rota: {ics: "rota.ics"}', text))
    assert cli_push(config) == 0
    (config.parent / "rota.ics").unlink()  # the sync reads the pushed copy, not this file
    assert invoke(handler, clock)["synced"] is True
    record = DynamoDBStore(TABLE).get_release(MONTHLY)
    assert record is not None
    at = datetime(2098, 7, 16, 8, 40, tzinfo=UTC)
    assert on_call(record.release.contacts["oncall"].rota, at) == ("bob",)


def test_a_sync_that_raises_counts_a_problem_for_the_alarm(
    handler: ModuleType,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the sync cannot run at all (the table unreachable, a bug)
    def broken() -> None:
        raise RuntimeError("ResourceNotFoundException: table not found")

    monkeypatch.setattr(handler, "sync", broken)
    capsys.readouterr()
    # WHEN its schedule invokes it, THEN it fails (Lambda retries it) and counts one Problem,
    # the metric ProblemsAlarm reads: operators hear of it without an alarm of its own
    with pytest.raises(RuntimeError):
        invoke(handler, clock)
    blobs = [json.loads(x) for x in capsys.readouterr().out.splitlines() if '"_aws"' in x]
    assert [b["Problems"] for b in blobs] in ([1.0], [[1.0]])
    assert blobs[0]["service"] == "releasewatch"


def test_status_on_the_table_lists_provisional_announcements_as_not_watched(
    handler: ModuleType,
    config: Path,
    clock: FixedClock,
    search: FakeSearch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from releasewatch.cli import main

    search.results.append(
        result(
            "designs-2098",
            "Designs: August to September 2098",
            "2098-08-01T00:00:00.000+01:00",
            "provisional",
            "August to September 2098",
        )
    )
    assert cli_push(config) == 0
    assert invoke(handler, clock)["synced"] is True
    assert "govuk-designs-2098" not in active()  # no exact time: not watched
    capsys.readouterr()

    assert main(["status", "--table", TABLE, "--region", REGION]) == 0
    out = capsys.readouterr().out
    watched, _, provisional = out.partition("Not watched until they have an exact time")
    assert MONTHLY in watched and "Designs" not in watched
    (line,) = [x for x in provisional.splitlines() if x.startswith("Designs")]
    assert re.split(r"\s{2,}", line)[1:] == [
        "August to September 2098",
        "provisional",
        "govuk:intellectual-property-office",
    ]
