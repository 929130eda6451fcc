"""Every place a check's evidence is shown also shows what the public path served."""

from __future__ import annotations

from datetime import timedelta

from releasewatch.commands.check import render
from releasewatch.model import Check, PublicCopy, ReleaseRecord
from releasewatch.notify.context import _check_lines
from releasewatch.report.build import _seen
from releasewatch.web.views.release import build_release_page
from tests.factories import make_check, make_release

LINE = "status 200 (age 12, x-cache HIT), this release's publication: status 200, all checks passed"


def decided_by_the_public_path() -> Check:
    public = PublicCopy(
        url="https://www.gov.uk/government/statistics/lms-july-2025",
        live=True,
        reason="status 200, all checks passed",
        status=200,
        age="12",
        x_cache="HIT",
    )
    return make_check(
        live=True,
        status=503,
        reason="the public path serves it: status 200, all checks passed; the origin: status 503",
        public=public,
    )


def test_messages_show_the_public_path_beside_the_origin() -> None:
    lines = _check_lines(decided_by_the_public_path())
    assert "  status: 503" in lines
    assert f"  public path (not cache-busted): {LINE}" in lines


def test_the_breach_report_evidence_shows_the_public_path() -> None:
    seen = _seen(decided_by_the_public_path())
    assert seen.startswith("HTTP 503")
    assert f"public path (not cache-busted): {LINE}" in seen


def test_the_check_command_shows_the_public_path() -> None:
    assert f"public path   {LINE}" in render(decided_by_the_public_path())


def test_the_release_page_shows_the_public_path_of_the_last_check() -> None:
    check = decided_by_the_public_path()
    record = ReleaseRecord(release=make_release(), last_check=check)
    page = build_release_page(record, [], [], [check], check.at + timedelta(seconds=1))
    assert page.public_path == LINE
    plain = make_check()
    record = ReleaseRecord(release=make_release(), last_check=plain)
    assert build_release_page(record, [], [], [plain], plain.at).public_path is None


def test_a_check_without_a_public_copy_is_stored_as_before() -> None:
    # Left out while None: a version from before the field still reads stored checks.
    assert "public" not in make_check().model_dump(mode="json")


def test_the_release_page_html_says_what_the_public_path_served() -> None:
    from releasewatch.web.render import render as render_html

    check = decided_by_the_public_path()
    record = ReleaseRecord(release=make_release(), last_check=check)
    page = build_release_page(record, [], [], [check], check.at + timedelta(seconds=1))
    html = render_html("release.html", title=page.title, page=page, root="", home="./")
    assert "What the public path served" in html
    assert "At the last check, without cache-busting: status 200 (age 12, x-cache HIT)" in html
