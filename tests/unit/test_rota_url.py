"""An iCal rota given by URL (push, the AWS sync and validate read it): fetched through the
calendar fetcher's guard and limits; a refused or failing URL is a located config error."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from releasewatch.cli import main
from releasewatch.config.load import load_config
from releasewatch.errors import ConfigError
from releasewatch.readiness.rota import on_call
from releasewatch.readiness.rota_fetch import fetch_rota
from releasewatch.timefmt import LONDON
from tests.probe_support import Handler, LoopbackHTTPServer, loopback_server

ROTA = b"""\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//example//rota//EN
BEGIN:VEVENT
UID:1@example.com
SUMMARY:alice
DTSTART;TZID=Europe/London:20980713T080000
DTEND;TZID=Europe/London:20980720T080000
END:VEVENT
END:VCALENDAR
"""
CONFIG = """\
local_mode: {local}
contacts:
  team: {{name: Stats team, email: team@example.com}}
  alice: {{name: Alice, email: alice@example.com}}
  oncall: {{name: On call, rota: {{ics: "{url}"}}}}
chains:
  default: [{{after: 5m, notify: [team]}}, {{after: 10m, notify: [oncall]}}]
releases:
  - id: lms
    title: Labour market
    url: https://www.gov.uk/government/statistics/lms
    due: 2098-07-16 09:30
"""


@pytest.fixture
def server() -> Iterator[LoopbackHTTPServer]:
    def route(h: Handler) -> None:
        if h.route_path == "/rota.ics":
            h.reply(200, ROTA, {"Content-Type": "text/calendar"})
        else:
            h.reply(404, b"no such rota")

    with loopback_server(route) as s:
        yield s


def write(tmp_path: Path, url: str, local: bool = True) -> Path:
    path = tmp_path / "rw.yaml"
    path.write_text(CONFIG.format(url=url, local=str(local).lower()))
    return path


def test_validate_reads_a_rota_from_a_url(
    tmp_path: Path, server: LoopbackHTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, server.url("/rota.ics"))
    assert main(["validate", str(path)]) == 0, capsys.readouterr().err
    config = load_config(path, fetch=fetch_rota)
    rota = config.releases[0].contacts["oncall"].rota
    assert rota is not None

    assert on_call(rota, datetime(2098, 7, 16, 9, 40, tzinfo=LONDON)) == ("alice",)
    assert "OK, 1 release(s)" in capsys.readouterr().out


def test_a_rota_url_that_fails_is_a_located_error(
    tmp_path: Path, server: LoopbackHTTPServer
) -> None:
    path = write(tmp_path, server.url("/missing.ics"))
    with pytest.raises(ConfigError) as caught:
        load_config(path, fetch=fetch_rota)
    text = str(caught.value)
    assert "contacts.oncall.rota.ics" in text and "status 404" in text


def test_a_loopback_rota_url_is_refused_outside_local_mode(
    tmp_path: Path, server: LoopbackHTTPServer
) -> None:
    # the same SSRF guard as the prober and the calendars: no loopback, private or metadata
    # addresses unless local_mode
    path = write(tmp_path, server.url("/rota.ics").replace("http://", "https://"), local=False)
    with pytest.raises(ConfigError) as caught:
        load_config(path, fetch=fetch_rota)
    text = str(caught.value)
    assert "contacts.oncall.rota.ics: cannot fetch the rota" in text
    assert "refused 127.0.0.1: a loopback address (this machine)" in text
    assert "allow_loopback" not in text and "local_mode: true" in text


def test_without_a_fetcher_a_rota_url_is_still_refused_for_run(tmp_path: Path) -> None:
    path = write(tmp_path, "https://example.com/rota.ics")
    with pytest.raises(ConfigError, match="URLs are not supported by run and sync yet"):
        load_config(path)
