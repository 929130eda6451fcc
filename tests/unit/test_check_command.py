"""`releasewatch check URL`: one probe, everything the poller would see, and an exit code."""

from __future__ import annotations

import argparse
import socket
import time

import pytest

from releasewatch.commands import check
from tests.probe_support import TITLE, Handler, loopback_server

LIVE_PAGE = f"<html><h1>{TITLE}</h1></html>".encode()


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="releasewatch")
    check.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["check", *argv])
    code: int = args.func(args)
    return code


def stale_cdn(h: Handler) -> None:
    if h.route_path == "/announcement":
        h.reply(301, headers={"Location": "/publication"})
    elif "rwcb" in h.query:
        h.reply(200, LIVE_PAGE, {"Age": "0", "X-Cache": "MISS", "Cache-Control": "max-age=300"})
    else:
        h.reply(404, b"gone", {"Age": "240", "X-Cache": "HIT"})


def test_live_page_prints_everything_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    with loopback_server(stale_cdn) as server:
        code = run([server.url("/announcement"), "--contains", TITLE, "--allow-loopback"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"requested     {server.url('/announcement')}?rwcb=" in out
    assert "status        200" in out
    assert f"final URL     {server.url('/publication')}" in out
    assert f"  1. {server.url('/publication')}" in out
    assert "age           0" in out
    assert "cache-control max-age=300" in out
    assert "x-cache       MISS" in out
    assert " ms" in out
    assert "verdict       LIVE" in out


def test_no_cache_bust_shows_the_stale_page_and_exits_1(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with loopback_server(stale_cdn) as server:
        code = run([server.url("/publication"), "--allow-loopback", "--no-cache-bust"])
    out = capsys.readouterr().out
    assert code == 1
    assert "rwcb" not in out
    assert "age           240" in out
    assert "x-cache       HIT" in out
    assert "verdict       NOT LIVE" in out
    assert "why           status 404, expected 200" in out


def test_not_contains_names_the_text_still_there(capsys: pytest.CaptureFixture[str]) -> None:
    with loopback_server(stale_cdn) as server:
        code = run(
            [server.url("/publication"), "--allow-loopback", "--not-contains", "Labour market"]
        )
    assert code == 1
    assert "text 'Labour market' still present" in capsys.readouterr().out


def test_expected_status_option(capsys: pytest.CaptureFixture[str]) -> None:
    with loopback_server(lambda h: h.reply(410, b"gone")) as server:
        assert run([server.url("/"), "--allow-loopback", "--status", "410"]) == 0
        assert run([server.url("/"), "--allow-loopback"]) == 1


def test_a_server_error_is_could_not_check_exit_3_not_not_live(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with loopback_server(lambda h: h.reply(503, b"down")) as server:
        code = run([server.url("/"), "--allow-loopback"])
    assert code == check.COULD_NOT_CHECK == 3
    assert "verdict       COULD NOT CHECK (error: http_5xx)" in capsys.readouterr().out


def test_a_refused_connection_is_could_not_check_exit_3(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as sock:  # a port nothing listens on: bound, never listening
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/"
        assert run([url, "--allow-loopback"]) == 3
    assert "COULD NOT CHECK (error: connect)" in capsys.readouterr().out


def test_a_time_out_is_could_not_check_exit_3(capsys: pytest.CaptureFixture[str]) -> None:
    def slow(h: Handler) -> None:
        time.sleep(1.5)
        h.reply(200, LIVE_PAGE)

    with loopback_server(slow) as server:
        assert run([server.url("/"), "--allow-loopback", "--timeout", "0.5"]) == 3
    assert "COULD NOT CHECK (error: timeout)" in capsys.readouterr().out


def test_help_documents_every_exit_status(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "0 live:" in out and "1 not live:" in out and "2 bad input:" in out
    assert "3 could not check: no answer to judge" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["http://www.gov.uk/government/statistics/x"],  # http without --allow-loopback
        ["https://169.254.169.254/latest/meta-data/"],
        ["ftp://www.gov.uk/"],
        ["https://www.gov.uk/x", "--status", "99"],
        ["https://www.gov.uk/x", "--final-url", "(unclosed"],
        ["https://www.gov.uk/x", "--timeout", "0"],
        ["http://10.0.0.1/", "--allow-loopback"],
    ],
)
def test_bad_input_exits_2_without_probing(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("releasewatch check: ")


def test_option_that_is_not_a_number_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        run(["https://www.gov.uk/x", "--status", "abc"])
    assert exc.value.code == 2


def test_build_release_carries_the_rule_and_a_placeholder_contact() -> None:
    parser = argparse.ArgumentParser()
    check.add_parser(parser.add_subparsers())
    args = parser.parse_args(
        ["check", "https://www.gov.uk/x", "--contains", "a", "--contains", "b", "--govuk"]
    )
    release = check.build_release(args)
    assert release.rule.contains == ("a", "b")
    assert release.rule.govuk
    assert release.cache_bust_param == "rwcb"
    assert not release.allow_loopback
    assert list(release.contacts) == ["cli"]


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/x", "https://127.0.0.1/x", "http://localhost/x"]
)
def test_a_loopback_refusal_names_the_flag_that_allows_it(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run([url]) == 2
    assert "--allow-loopback" in capsys.readouterr().err


def test_a_refusal_no_flag_lifts_does_not_suggest_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["https://10.0.0.1/x"]) == 2
    assert "--allow-loopback" not in capsys.readouterr().err


def test_elapsed_is_the_requests_time_not_client_setup(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from releasewatch.probe.http import HttpProber

    make_transport = HttpProber._new_transport

    def slow_setup(self, policy):  # type: ignore[no-untyped-def]
        time.sleep(0.2)  # a TLS context takes tens of ms; exaggerated here
        return make_transport(self, policy)

    monkeypatch.setattr(HttpProber, "_new_transport", slow_setup)
    with loopback_server(lambda h: h.reply(200, LIVE_PAGE)) as server:
        assert run([server.url("/"), "--allow-loopback"]) == 0
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("elapsed")]
    assert int(line.split()[1]) < 150, line


def test_control_characters_from_the_server_never_reach_the_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    hostile = {"Age": "0\x9b2J", "X-Cache": "HIT\x9b31m", "Cache-Control": "max-age=1\x9b0c"}
    with loopback_server(lambda h: h.reply(404, b"x", hostile)) as server:
        assert run([server.url("/"), "--allow-loopback"]) == 1
    out = capsys.readouterr().out
    assert "\x9b" not in out
    assert "age           0\\x9b2J" in out and "x-cache       HIT\\x9b31m" in out
    assert "cache-control max-age=1\\x9b0c" in out


def test_render_escapes_every_field_a_server_controls() -> None:
    from datetime import UTC, datetime

    from releasewatch.model import Check

    evil = "\x1b]0;pwned\x07\x1b[2J\x9b\u202e\n"
    rendered = check.render(
        Check(
            release_id="cli-check",
            at=datetime(2025, 7, 17, 8, 30, tzinfo=UTC),
            url="https://www.gov.uk/x",
            live=False,
            reason=f"text {evil!s} still present",
            status=200,
            final_url=f"https://www.gov.uk/{evil}",
            redirects=(f"https://www.gov.uk/{evil}",),
            age=evil,
            cache_control=evil,
            x_cache=evil,
            error=evil,
            judged_url=f"https://www.gov.uk/{evil}",
        )
    )
    assert not any(ch in rendered for ch in "\x1b\x07\x9b\u202e")
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x9b\\u202e\\n" in rendered
    assert len(rendered.splitlines()) == 12  # no line broken by a server's newline


ERROR_PAGE = (
    b"<html><head><title>Sorry, we're experiencing technical difficulties - GOV.UK</title>"
    b"</head><body><h1>Sorry, we're experiencing technical difficulties</h1>"
    b"<p>Please try again in a few moments.</p></body></html>"
)


def test_title_applies_the_watchdogs_default_rule(capsys: pytest.CaptureFixture[str]) -> None:
    with loopback_server(lambda h: h.reply(200, ERROR_PAGE)) as server:
        assert run([server.url("/p"), "--allow-loopback", "--title", TITLE]) == 1
        out = capsys.readouterr().out
        assert "verdict       NOT LIVE" in out and "missing text" in out
    with loopback_server(lambda h: h.reply(200, LIVE_PAGE)) as server:
        assert run([server.url("/p"), "--allow-loopback", "--title", TITLE]) == 0


def test_a_status_only_check_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    with loopback_server(lambda h: h.reply(200, ERROR_PAGE)) as server:
        assert run([server.url("/p"), "--allow-loopback"]) == 0
    assert "only the status is checked" in capsys.readouterr().err
    with loopback_server(lambda h: h.reply(200, LIVE_PAGE)) as server:
        assert run([server.url("/p"), "--allow-loopback", "--contains", TITLE]) == 0
    assert "only the status" not in capsys.readouterr().err
