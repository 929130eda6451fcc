"""Text rules read the page as a person sees it: parsed HTML, not the markup's bytes.

Each probe goes through HttpProber (MockTransport), so what is judged is what was fetched.
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from releasewatch.model import Check, LiveRule
from releasewatch.probe import HttpProber
from releasewatch.probe.http import bust_url
from releasewatch.probe.text import _REPLACE, _squashed, normalise, runs, visible_text
from tests.probe_support import FakeClock, make_release

URL = "https://www.gov.uk/government/statistics/labour-market-overview-uk-july-2025"
HTML = {"Content-Type": "text/html; charset=utf-8"}


async def probe(body: str | bytes, rule: LiveRule, headers: dict[str, str] = HTML) -> Check:
    data = body.encode() if isinstance(body, str) else body
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=data, headers=headers)
    )
    prober = HttpProber(FakeClock(), transport=transport)
    try:
        return await prober.probe(make_release(URL, rule=rule))
    finally:
        await prober.aclose()


def page(inside: str) -> str:
    return f"<!DOCTYPE html><html><head><title>GOV.UK</title></head><body>{inside}</body></html>"


# -- hidden text does not count -------------------------------------------------------------


async def test_text_inside_a_comment_is_not_on_the_page() -> None:
    body = page("<h1>Statistics release announcement</h1><!-- Main points -->")
    check = await probe(body, LiveRule(contains=("Main points",)))
    assert not check.live
    assert check.reason == "missing text 'Main points'"


async def test_text_inside_a_script_is_not_on_the_page() -> None:
    body = page('<h1>Coming soon</h1><script>var title = "Labour market overview";</script>')
    assert not (await probe(body, LiveRule(contains=("Labour market overview",)))).live


@pytest.mark.parametrize("tag", ["style", "template", "noscript"])
async def test_text_in_styles_templates_and_noscript_is_not_on_the_page(tag: str) -> None:
    body = page(f"<h1>Coming soon</h1><{tag}>Labour market overview</{tag}>")
    assert not (await probe(body, LiveRule(contains=("Labour market overview",)))).live


async def test_forbidden_text_only_in_a_comment_does_not_hide_the_publication() -> None:
    body = page("<h1>Labour market overview</h1><!-- was: This is a statistics announcement -->")
    rule = LiveRule(contains=("Labour market overview",), not_contains=("statistics announcement",))
    assert (await probe(body, rule)).live


@pytest.mark.parametrize(
    "hidden",
    [
        "<div hidden><p>Labour market overview</p></div>",
        '<p hidden="hidden">Labour market overview</p>',
        '<p style="display: none">Labour market overview</p>',
        '<p style="color:red;DISPLAY:NONE;">Labour market overview</p>',
    ],
)
async def test_text_in_an_element_hidden_from_view_is_not_on_the_page(hidden: str) -> None:
    # An index or error page that carries the title only in a hidden element (a results
    # template, a collapsed form) is not the publication. Fails on 390e87f: live.
    body = page(f"<h1>Research and statistics</h1>{hidden}<p>0 results</p>")
    assert not (await probe(body, LiveRule(contains=("Labour market overview",)))).live


async def test_gov_uk_hidden_feedback_wording_does_not_hide_the_publication() -> None:
    # GOV.UK's feedback component ships its forms and error wording with `hidden`.
    body = page(
        "<h1>Labour market overview</h1>"
        '<div class="gem-c-feedback__form" hidden><p>Please try again in a few moments</p></div>'
    )
    rule = LiveRule(contains=("Labour market overview",), not_contains=("try again in a few",))
    assert (await probe(body, rule)).live


async def test_collapsed_but_findable_content_still_counts() -> None:
    # hidden="until-found" (govuk-frontend's accordion) is found by a reader's page search.
    body = page('<h1>Tables</h1><div hidden="until-found">Labour market overview</div>')
    assert (await probe(body, LiveRule(contains=("Labour market overview",)))).live


# -- the text as typed in the config matches the text as shown -------------------------------


async def test_an_escaped_ampersand_in_the_title_matches() -> None:
    body = page("<h1>Family food &amp; drink purchases: 2024</h1>")
    assert (await probe(body, LiveRule(contains=("Family food & drink purchases",)))).live


async def test_a_non_breaking_space_matches_a_space() -> None:
    body = page("<h1>Labour market overview, UK:&nbsp;July&#160;2025</h1>")
    assert (await probe(body, LiveRule(contains=("Labour market overview, UK: July 2025",)))).live


async def test_case_and_line_breaks_do_not_matter() -> None:
    body = page("<h1>LABOUR MARKET\n      overview</h1>")
    assert (await probe(body, LiveRule(contains=("Labour market overview",)))).live


async def test_curly_quotes_and_dashes_match_straight_ones() -> None:
    body = page("<h1>Children\u2019s social care \u2013 England</h1>")
    assert (await probe(body, LiveRule(contains=("Children's social care - England",)))).live


async def test_words_in_separate_blocks_are_not_run_together() -> None:
    body = page("<table><tr><td>Release</td><td>date</td></tr></table>")
    assert (await probe(body, LiveRule(not_contains=("Release date",)))).live is False
    assert (await probe(body, LiveRule(not_contains=("Releasedate",)))).live


async def test_the_page_charset_is_honoured() -> None:
    body = page("<h1>Caf\u00e9 prices</h1>").encode("latin-1")
    headers = {"Content-Type": "text/html; charset=iso-8859-1"}
    assert (await probe(body, LiveRule(contains=("Caf\u00e9 prices",)), headers)).live


async def test_a_meta_charset_is_honoured_when_the_header_gives_none() -> None:
    # A browser reads a legacy page by its <meta charset> (then windows-1252): the title with
    # a curly apostrophe and an en dash is on screen. Fails on 390e87f: read as UTF-8 with
    # replacement characters, so the title was missing.
    title = "Children\u2019s social care \u2013 England"
    body = f'<html><head><meta charset="windows-1252"></head><body><h1>{title}</h1>'
    for headers in ({"Content-Type": "text/html"}, {}):
        raw = body.encode("cp1252")
        assert (await probe(raw, LiveRule(contains=(title,)), headers)).live
        bare = f"<html><body><h1>{title}</h1></body></html>".encode("cp1252")
        assert (await probe(bare, LiveRule(contains=(title,)), headers)).live
    # One the windows-1252 fallback would misread: ISO-8859-15's euro sign is its byte 0xA4,
    # which windows-1252 reads as the currency sign.
    euro = "Public spending in \u20ac millions"
    latin9 = f'<html><head><meta charset="iso-8859-15"></head><body><h1>{euro}</h1>'
    assert (await probe(latin9.encode("iso-8859-15"), LiveRule(contains=(euro,)), {})).live


async def test_a_non_html_body_is_read_as_normalised_text() -> None:
    headers = {"Content-Type": "text/plain"}
    body = "LABOUR   market <b>overview</b>"
    assert (await probe(body, LiveRule(contains=("labour market <b>overview",)), headers)).live


# -- pure helpers --------------------------------------------------------------------------


def test_visible_text_of_a_gov_uk_like_page() -> None:
    body = page(
        '<header><a href="/">GOV.UK</a></header><main><h1 class="govuk-heading-xl">'
        "Labour market&nbsp;overview</h1><p>Main <strong>points</strong></p></main>"
        "<script>window.x = 1</script>"
    ).encode()
    text = visible_text(body, "text/html")
    assert text.reading() == "gov.uk labour market overview main points"
    assert "main points" in text and "labour market overview main" in text
    assert "window.x" not in text and "overviewmain" not in text


def test_html_without_a_content_type_is_recognised() -> None:
    text = visible_text(b"<html><body><p>a &amp; b</p><!-- c --></body></html>")
    assert text.reading() == "a & b" and "a & b" in text and "c" not in text


def test_normalise_is_idempotent_on_its_output() -> None:
    text = "  We\u2019re\u00a0SORRY \u2014 try\tagain "
    assert normalise(text) == "we're sorry - try again"
    assert normalise(normalise(text)) == normalise(text)


def test_a_deeply_nested_page_is_still_read() -> None:
    # libxml2 stops at 256 levels unless told otherwise: the title would vanish.
    body = "<html><body>" + "<div>" * 1000 + "<h1>Labour market</h1>" + "</div>" * 1000
    assert visible_text(body.encode(), "text/html").reading() == "labour market"


# Latin-1 (where `normalise` takes a faster path, over bytes), the letters that fold apart
# from their lower case (sharp s, micro sign, long s, final sigma, ligatures, dotted I), every
# kind of whitespace str.split knows, the characters straightened or dropped, and any text.
_FOLDING = st.text(
    st.one_of(
        st.characters(max_codepoint=0xFF),
        st.sampled_from("\u00df\u00b5\u017f\u03a3\u03c2\ufb01\u0130\u1e9e\u212a\u0178"),
        st.sampled_from(" \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000\u00ad"),
        st.sampled_from("\u2018\u2019\u201c\u201d\u2013\u2014\u200b\ufeff"),
        st.characters(),
    )
)


def _normalise_as_specified(text: str) -> str:
    """normalise, written as its docstring says: straightened, case folded, spaces collapsed."""
    for char, replacement in _REPLACE.items():
        text = text.replace(char, replacement)
    return " ".join(text.casefold().split())


@settings(max_examples=400, derandomize=True, database=None)
@given(_FOLDING)
@example("Straße, 5 \u00b5g: \u00a9 Crown copyright")
@example("\u00b5")
@example("  a \xa0\x85 b" + " " * 1025 + "c\u00ad d  ")
def test_normalise_is_casefold_with_whitespace_collapsed(text: str) -> None:
    assert normalise(text) == _normalise_as_specified(text)


@settings(max_examples=300, derandomize=True, database=None)
@given(st.lists(st.one_of(_FOLDING, st.sampled_from(["", " ", "\x00"])), max_size=12))
@example(["a ", " b", "", " ", "c"])
def test_runs_are_the_normalised_text_one_a_line(parts: list[str]) -> None:
    # As PageText's runs were made: normalised with a mark between runs, then each mark and a
    # space either side of it made a line break.
    normalised = normalise("\x00".join(parts))
    specified = normalised.replace(" \x00", "\x00").replace("\x00 ", "\x00").replace("\x00", "\n")
    assert runs(normalised) == specified


_SPACED = st.text(
    st.one_of(st.sampled_from(" \n"), st.characters(max_codepoint=0xFF), st.characters())
)


@settings(max_examples=200, derandomize=True, database=None)
@given(_SPACED)
def test_a_squashed_text_has_no_spaces_or_run_breaks_whatever_its_characters(text: str) -> None:
    # The letters-in-order test of PageText's `in` reads this (Latin-1 texts over bytes).
    assert _squashed(text) == text.replace(" ", "").replace("\n", "")


@given(
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.from_regex(r"[0-9a-f-]{1,20}", fullmatch=True),
)
def test_a_busted_url_carries_the_parameter_once_escaped_as_httpx_escapes_it(
    param: str, token: str
) -> None:
    url = httpx.URL("https://www.gov.uk/government/statistics/x?a=1&b=2")
    busted = bust_url(url, param, token)
    expected = httpx.QueryParams({param: token})
    assert str(busted).startswith("https://www.gov.uk/government/statistics/x?")
    assert busted.query.decode("ascii").endswith(str(expected))
    assert busted.params.get_list(param)[-1:] == [token]
