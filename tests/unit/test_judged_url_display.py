"""Every place a check is shown names the URL it judged (Check.judged_url)."""

from __future__ import annotations

import io

from releasewatch.commands.check import render
from releasewatch.local.printer import ConsolePrinter
from releasewatch.model import Check, ReleaseRecord
from releasewatch.notify.context import _check_lines
from releasewatch.web.status import release_status
from tests.factories import make_check, make_release

ANNOUNCEMENT = "https://www.gov.uk/government/statistics/announcements/lms-july-2025"
PUBLICATION = "https://www.gov.uk/government/statistics/lms-july-2025"


def found() -> Check:
    return make_check(
        live=True,
        url="https://www.gov.uk/api/content/government/statistics/announcements/lms?rwcb=1",
        final_url="https://www.gov.uk/api/content/government/statistics/lms-july-2025",
        judged_url=PUBLICATION,
    )


def test_the_console_line_names_the_judged_url() -> None:
    out = io.StringIO()
    ConsolePrinter(out)("check", found())
    assert f"(judged {PUBLICATION})" in out.getvalue()


def test_the_console_line_does_not_repeat_a_page_judged_at_its_own_final_url() -> None:
    out = io.StringIO()
    ConsolePrinter(out)("check", make_check(final_url=PUBLICATION, judged_url=PUBLICATION))
    assert "judged" not in out.getvalue()


def test_quiet_console_prints_again_when_the_judged_url_changes() -> None:
    out = io.StringIO()
    printer = ConsolePrinter(out, quiet_checks=True)
    printer("check", make_check(judged_url=ANNOUNCEMENT))
    printer("check", make_check(judged_url=ANNOUNCEMENT))
    printer("check", make_check(judged_url=PUBLICATION))
    assert len(out.getvalue().splitlines()) == 2


def test_the_check_command_shows_the_judged_url() -> None:
    assert f"judged        {PUBLICATION}" in render(found())


def test_messages_name_the_judged_url_when_it_is_not_the_final_url() -> None:
    assert f"  judged: {PUBLICATION}" in _check_lines(found())


def test_status_json_carries_the_judged_url() -> None:
    record = ReleaseRecord(release=make_release(), last_check=found())
    assert release_status(record)["last_check"]["judged_url"] == PUBLICATION


def test_the_breach_report_timeline_names_the_judged_url() -> None:
    from releasewatch.report.build import _seen  # the check text in the report's timeline

    assert f"judged {PUBLICATION}" in _seen(found())
