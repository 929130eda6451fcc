"""A page is live only when its content says so: the default rule for a release that gives none.

GOV.UK serves its "Sorry, we're experiencing technical difficulties" page with status 200 at
times; a status-only rule took it for the publication and sent an early-breach notice. The
pages below follow alphagov/frontend's templates (static_error_pages/_error_page.html.erb with
503.html.erb, statistics_announcement/show.html.erb), trimmed to their visible structure.
"""

from __future__ import annotations

import argparse
from datetime import timedelta

import httpx
import pytest

from releasewatch.clock import FixedClock
from releasewatch.commands import validate
from releasewatch.config.load import parse_config
from releasewatch.errors import ConfigError
from releasewatch.model import Check, NotificationKind, Release, ReleaseState
from releasewatch.probe import HttpProber
from releasewatch.probe.rules import GOVUK_NOT_LIVE_WORDING
from releasewatch.service import Watchdog
from tests.fakes import InMemoryStore, RecordingNotifier
from tests.probe_support import DUE, FakeClock

TITLE = "Labour market overview, UK: July 2025"
URL = "https://www.gov.uk/government/statistics/labour-market-overview-uk-july-2025"

CONFIG = f"""\
contacts:
  team: {{name: Stats team, email: team@example.com}}
  hop: {{name: Head of profession, role: head_of_profession, email: hop@example.com}}
chains:
  default:
    - {{after: 5m, notify: [team]}}
    - {{after: 60m, notify: [hop], kind: breach}}
releases:
  - id: lms
    title: "{TITLE}"
    url: {URL}
    due: 2025-07-17 09:30
"""


def _layout(title: str, main: str) -> str:
    """GOV.UK's public layout (layout_for_public) around `main`, as a browser receives it."""
    return f"""<!DOCTYPE html>
<html lang="en" class="govuk-template"><head><meta charset="utf-8">
<title>{title} - GOV.UK</title>
<script>document.body.className += ' js-enabled';</script>
<link rel="stylesheet" href="/assets/static/application.css"></head>
<body class="govuk-template__body"><a href="#main-content" class="govuk-skip-link">Skip to main
content</a><header class="gem-c-layout-super-navigation-header"><a href="https://www.gov.uk/">
GOV.UK</a><nav>Menu Search</nav></header>{main}<footer class="govuk-footer">All content is
available under the Open Government Licence v3.0, except where otherwise stated &copy; Crown
copyright</footer></body></html>"""


ERROR_PAGE = _layout(
    "Sorry, we\u2019re experiencing technical difficulties",
    """<div id="wrapper" class="govuk-width-container"><main class="govuk-main-wrapper"
id="content"><div class="govuk-grid-row"><div class="govuk-grid-column-two-thirds">
<h1 class="govuk-heading-xl govuk-!-margin-bottom-8">
  Sorry, we\u2019re experiencing technical difficulties
</h1>
<p class="govuk-body">Please try again in a few moments.</p>
<pre class="govuk-!-margin-top-8">Status code: 503</pre></div></div></main></div>
<script type="text/javascript">window.httpStatusCode = '503'</script>""",
)

ANNOUNCEMENT_PAGE = _layout(
    f"{TITLE} - Official statistics announcement",
    f"""<main class="govuk-main-wrapper" id="main-content"><div class="gem-c-heading">
<span class="govuk-caption-xl gem-c-heading__context">Official statistics announcement</span>
<h1 class="gem-c-heading__text govuk-heading-xl">{TITLE}</h1></div>
<div class="important-metadata inverse-background"><dl class="gem-c-metadata__list">
<dt class="gem-c-metadata__term">Release date:</dt>
<dd class="gem-c-metadata__definition">17 July 2025 9:30am (confirmed)</dd></dl></div>
<div class="gem-c-notice"><h2 class="gem-c-notice__title">These statistics will be released
on 17 July 2025&nbsp;9:30am</h2></div></main>""",
)

PUBLICATION_PAGE = _layout(
    f"{TITLE} - GOV.UK",
    f"""<main class="govuk-main-wrapper" id="main-content"><div class="gem-c-heading">
<span class="govuk-caption-xl">Official Statistics</span>
<h1 class="govuk-heading-l">{TITLE}</h1></div>
<p class="gem-c-lead-paragraph">Estimates of employment, unemployment and economic
inactivity.</p><dl><dt>From:</dt><dd>Office for National Statistics</dd>
<dt>Published</dt><dd>17 July 2025</dd></dl><h2>Documents</h2><p>Main points</p></main>""",
)


def release_from_config(text: str = CONFIG) -> Release:
    return parse_config(text, "cfg.yaml").releases[0]


async def probe(release: Release, html: str) -> Check:
    def route(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=html, headers={"Content-Type": "text/html; charset=utf-8"})

    prober = HttpProber(FakeClock(), transport=httpx.MockTransport(route))
    try:
        return await prober.probe(release)
    finally:
        await prober.aclose()


# -- what the config resolves to -------------------------------------------------------------


def test_a_release_without_a_content_rule_gets_the_default() -> None:
    rule = release_from_config().rule
    assert rule.contains == (TITLE,)
    assert rule.not_contains == GOVUK_NOT_LIVE_WORDING
    assert not rule.status_only


@pytest.mark.parametrize(
    "live",
    [
        "{contains: [Labour market]}",
        "{not_contains: [announcement]}",
        "{final_url: /government/statistics/labour}",
        "{govuk: true}",
    ],
)
def test_a_release_with_its_own_rule_keeps_it(live: str) -> None:
    rule = release_from_config(CONFIG + f"    live: {live}\n").rule
    assert rule.contains != (TITLE,)
    assert GOVUK_NOT_LIVE_WORDING[0] not in rule.not_contains


def test_status_only_opts_out() -> None:
    rule = release_from_config(CONFIG + "    live: {status_only: true}\n").rule
    assert rule.status_only and rule.contains == () and rule.not_contains == ()


def test_status_only_with_a_text_check_is_an_error_naming_the_release() -> None:
    with pytest.raises(ConfigError) as caught:
        release_from_config(CONFIG + "    live: {status_only: true, contains: [x]}\n")
    assert any(
        "releases[0].live" in str(p) and "status_only" in str(p) for p in caught.value.problems
    )


def test_a_blank_text_to_look_for_is_an_error() -> None:
    with pytest.raises(ConfigError) as caught:
        release_from_config(CONFIG + "    live: {contains: ['  ']}\n")
    assert any("visible characters" in str(p) for p in caught.value.problems)


# -- what the default decides ----------------------------------------------------------------


async def test_the_gov_uk_error_page_served_with_200_is_not_the_publication() -> None:
    check = await probe(release_from_config(), ERROR_PAGE)
    assert check.status == 200
    assert not check.live
    assert f"missing text '{TITLE}'" in check.reason
    assert "still present" in check.reason


async def test_the_error_page_is_not_live_even_if_it_mentions_the_title() -> None:
    page = ERROR_PAGE.replace("Please try again", f"{TITLE}. Please try again")
    assert not (await probe(release_from_config(), page)).live


async def test_the_statistics_announcement_page_is_not_the_publication() -> None:
    check = await probe(release_from_config(), ANNOUNCEMENT_PAGE)
    assert not check.live
    assert "official statistics announcement" in check.reason


async def test_the_publication_page_is_live_under_the_default() -> None:
    check = await probe(release_from_config(), PUBLICATION_PAGE)
    assert check.live, check.reason


async def test_an_error_page_before_due_sends_no_early_breach_notice() -> None:
    clock = FixedClock(DUE - timedelta(minutes=10))
    store = InMemoryStore()
    store.apply_releases([release_from_config()], clock.now())
    email = RecordingNotifier()

    def route(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text=ERROR_PAGE, headers={"Content-Type": "text/html"})

    prober = HttpProber(clock, transport=httpx.MockTransport(route))
    try:
        await Watchdog(store, prober, {"email": email}, clock).tick()
    finally:
        await prober.aclose()
    record = store.get_release("lms")
    assert record is not None and record.state == ReleaseState.WATCHING
    assert [m for m in email.sent if f"|{NotificationKind.EARLY.value}|" in m.key] == []


# -- validate warns about a rule that checks the status alone ---------------------------------


def run_validate(tmp_path, text: str, capsys) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    path = tmp_path / "cfg.yaml"
    path.write_text(text)
    code = validate.run(argparse.Namespace(file=str(path)))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_validate_warns_about_a_status_only_rule(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    text = CONFIG + "    past_due_ok: true\n    live: {status_only: true}\n"
    code, out, err = run_validate(tmp_path, text, capsys)
    assert code == 0, err  # a warning, not an error
    assert "OK, 1 release" in out
    assert "warning: " in out and "releases[0].live: the live rule checks the status alone" in out


def test_validate_does_not_warn_about_the_default(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    code, out, err = run_validate(tmp_path, CONFIG + "    past_due_ok: true\n", capsys)
    assert code == 0 and "warning" not in out + err


async def test_a_publication_saying_when_its_statistics_are_released_is_still_live() -> None:
    page = PUBLICATION_PAGE.replace(
        "<h2>Documents</h2>",
        "<p>These statistics will be released quarterly.</p><h2>Documents</h2>",
    )
    check = await probe(release_from_config(), page)
    assert check.live, check.reason


async def test_an_older_national_statistics_announcement_is_not_live() -> None:
    page = ANNOUNCEMENT_PAGE.replace(
        "Official statistics announcement", "National statistics announcement"
    ).replace("These statistics will be released", "Release due")
    check = await probe(release_from_config(), page)
    assert not check.live and "national statistics announcement" in check.reason
