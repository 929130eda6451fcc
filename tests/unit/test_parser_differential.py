"""The page parser changed (lxml's libxml2 and XSLT to selectolax's Lexbor): it must decide as
the old one did. The old reading is kept as the oracle (tests/lxml_page_oracle.py) and both
read the real GOV.UK and ONS page fixtures and hypothesis-generated pages: hidden content
(script, style, noscript, template, `hidden`, `display: none`), comments, entities, nested
tables, unclosed tags, huge attributes, legacy and broken encodings. Compared: the title, the
`govuk:` meta tags and the page facts, the whole block-aware reading, and every `in` decision
a rule makes on the text. Pages no parser agrees on (random markup) must at least answer
`in` as their own reading does, within a time and memory bound, as must the biggest and
deepest pages the size cap lets through. Derandomized and database-free: every run is the same.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releasewatch.model import LiveRule
from releasewatch.probe import HttpProber
from releasewatch.probe.ons import ONS_NOT_LIVE_WORDING
from releasewatch.probe.pagefacts import (
    ONS_CANCELLED_WORDING,
    PageFacts,
    read_facts,
    read_text_and_facts,
)
from releasewatch.probe.rules import GOVUK_NOT_LIVE_WORDING
from releasewatch.probe.text import PageText, PageTooDeep, is_html, normalise, visible_text
from tests import lxml_page_oracle as oracle
from tests.bench.govuk_page import govuk_page
from tests.memory_bound import peak_growth_kb
from tests.probe_support import FakeClock, make_release

FIXTURES = Path(__file__).parent.parent / "fixtures"
PAGES = sorted([*FIXTURES.glob("govuk/pages/*.html"), *FIXTURES.glob("ons/*.html")])
RULE_WORDING = (*GOVUK_NOT_LIVE_WORDING, *ONS_NOT_LIVE_WORDING, *ONS_CANCELLED_WORDING)
CPU_SECONDS = 2.0  # per page, in CPU time: the real figures are milliseconds
GROWTH_KB = 256 * 1024  # peak memory growth while reading one page (tests/memory_bound.py)

DIFFERENTIAL = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@contextmanager
def bounded() -> Iterator[None]:
    started = time.process_time()
    with peak_growth_kb() as growth:
        yield  # process time: a probe reads a big page on a worker thread
    took = time.process_time() - started
    grown = growth[0]
    assert took < CPU_SECONDS, f"{took:.2f}s of CPU for one page"
    assert grown < GROWTH_KB, f"peak memory grew {grown // 1024} MB"


def windows(text: str, most: int = 4) -> set[str]:
    """Every run of 1..`most` words of `text`, and each with its first space dropped (a word
    run together across markup): needles that are on the page and needles that nearly are."""
    words = text.split()
    found: set[str] = set()
    for size in range(1, most + 1):
        for i in range(len(words) - size + 1):
            needle = " ".join(words[i : i + size])
            found.add(needle)
            found.add(needle.replace(" ", "", 1))
    return found


def assert_same_decisions(new: PageText, old: str, extra: tuple[str, ...] = ()) -> None:
    runs = str(new).replace("\n", " ")  # words either side of a run's end, as if one run
    needles = windows(old) | windows(new.reading()) | windows(runs) | {normalise(n) for n in extra}
    differ = sorted(n for n in needles if n and (n in new) != (n in old))
    assert not differ, f"decided otherwise on {differ[:5]}"


def assert_same_page(body: bytes, content_type: str | None = "text/html") -> None:
    charset = None
    if content_type and "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1]
    with bounded():
        new = visible_text(body, content_type, charset)
        facts = read_facts(body, charset)
    old = oracle.visible_text(body, content_type, charset)
    assert new.reading() == old
    if is_html(body, content_type):  # a big page's text and facts come from one parse
        text, facts_too = read_text_and_facts(body, charset)
        assert (str(text), text.reading(), facts_too) == (str(new), new.reading(), facts)
    assert_same_decisions(new, old, RULE_WORDING)
    # One deliberate difference: a <template>'s content is an inert fragment in HTML5 (never
    # shown), where libxml2 made it children, so the old facts quoted it in a notice's words.
    assert facts == oracle.read_facts(_TEMPLATE.sub(b"", body), charset)


_TEMPLATE = re.compile(rb"<template>.*?</template>", re.DOTALL)


# -- the real pages --------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_fixture_pages_read_as_before(path: Path) -> None:
    assert_same_page(path.read_bytes())


def test_the_benchmark_page_reads_as_before() -> None:
    assert_same_page(govuk_page("Labour market overview, UK: July 2025"))


def test_a_page_whose_title_spans_inline_markup_is_read_exactly() -> None:
    # The title is in no single text run: `in` falls back to the block-aware reading.
    body = b"<p>Labour <abbr>market</abbr> over<b>view</b></p><table><td>UK<td>data</table>"
    text = visible_text(body, "text/html")
    assert "labour market overview" in text
    assert "overview uk data" in text and "ukdata" not in text
    assert_same_decisions(text, oracle.visible_text(body, "text/html"))


# -- generated pages both parsers read alike --------------------------------------------------

WORDS = st.sampled_from(
    ["labour", "market", "overview", "lab", "our", "cancelled", "release", "date", "uk", "2025",
     "caf\u00e9", "don\u2019t", "\u2013", "a", "b"]
)  # fmt: skip
ENTITIES = st.sampled_from(["&amp;", "&nbsp;", "&lt;", "&gt;", "&#39;", "&eacute;", "&#x2019;"])
SPACE = st.sampled_from(["", " ", "\n  ", "\t"])


@st.composite
def words(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.one_of(WORDS, ENTITIES), min_size=1, max_size=4))
    return "".join(draw(SPACE) + p for p in parts) + draw(SPACE)


@st.composite
def attrs(draw: st.DrawFn) -> str:
    chosen = draw(
        st.lists(
            st.sampled_from(
                [' class="govuk-body"', " hidden", ' hidden="until-found"', ' HIDDEN="hidden"',
                 ' style="display: none"', ' style="COLOR:red;Display :\tNone"',
                 ' style="display:block"', ' data-gtm-release-status="published"',
                 ' class="gem-c-notice"', ' class="x ons-panel__body"', " title='a > b'"]
            ),
            max_size=2,
        )
    )  # fmt: skip
    if draw(st.integers(0, 19)) == 0:  # now and then a huge attribute
        chosen.append(f' data-x="{"y" * draw(st.sampled_from([20_000, 200_000]))}"')
    return "".join(chosen)


def inline(depth: int) -> st.SearchStrategy[str]:
    leaf = st.one_of(words(), st.builds(lambda w: f"<!--{w}-->", words()))
    if depth == 0:
        return leaf
    inner = st.lists(inline(depth - 1), min_size=1, max_size=3).map("".join)
    element = st.builds(
        lambda tag, a, body: f"<{tag}{a}>{body}</{tag}>",
        st.sampled_from(["span", "b", "strong", "em", "abbr", "a"]),
        attrs(),
        inner,
    )
    return st.one_of(leaf, element)


HIDDEN_CONTENT = st.builds(
    lambda tag, w: f"<{tag}>{w}</{tag}>",
    st.sampled_from(["script", "style", "template", "noscript"]),
    words(),
)


def block(depth: int) -> st.SearchStrategy[str]:
    if depth == 0:
        return st.builds(
            lambda t, b: f"<{t}>{b}</{t}>", st.sampled_from(["p", "h1", "div"]), inline(1)
        )
    children = st.lists(
        st.one_of(inline(2), block(depth - 1), HIDDEN_CONTENT), min_size=1, max_size=4
    ).map("".join)
    close = st.sampled_from([True, True, False])  # an end tag the page may leave out

    def cell(body: str, closed: bool) -> str:
        return f"<td>{body}{'</td>' if closed else ''}"

    table = st.builds(
        lambda cells: f"<table><tr>{''.join(cells)}</tr></table>",
        st.lists(st.builds(cell, children, close), min_size=1, max_size=3),
    )
    item = st.builds(lambda b, c: f"<li>{b}{'</li>' if c else ''}", children, close)
    items = st.builds(
        lambda lis: f"<ul>{''.join(lis)}</ul>", st.lists(item, min_size=1, max_size=3)
    )
    para = st.builds(lambda b, c: f"<p>{b}{'</p>' if c else ''}", inline(2), close)
    container = st.builds(
        lambda t, a, b: f"<{t}{a}>{b}</{t}>",
        st.sampled_from(["div", "section", "main", "header"]),
        attrs(),
        children,
    )
    return st.one_of(container, table, items, para)


@st.composite
def pages(draw: st.DrawFn) -> str:
    metas = draw(
        st.lists(
            st.builds(
                lambda n, c: f'<meta name="{n}" content="{c}">',
                st.sampled_from(
                    ["govuk:format", "GOVUK:Schema-Name", "govuk:withdrawn", "description"]
                ),
                words(),
            ),
            max_size=3,
        )
    )  # fmt: skip
    title = draw(words())
    notice = draw(
        st.sampled_from(
            ["", '<div class="gem-c-notice"><h2 class="gem-c-notice__title">Statistics release '
             'cancelled</h2><p class="gem-c-notice__description">{}</p></div>']
        )
    ).format(draw(words()))  # fmt: skip
    body = draw(st.lists(block(2), min_size=1, max_size=3))
    end = draw(st.sampled_from(["</body></html>", ""]))  # a page cut short at the end
    return (
        f"<!DOCTYPE html><html><head><title>{title} - GOV.UK</title>{''.join(metas)}</head>"
        f"<body>{notice}{''.join(body)}{end}"
    )


@DIFFERENTIAL
@given(page=pages())
@pytest.mark.slow
def test_generated_pages_read_and_decide_as_before(page: str) -> None:
    assert_same_page(page.encode("utf-8"))


@DIFFERENTIAL
@given(
    page=pages(),
    how=st.sampled_from(
        [("cp1252", "text/html; charset=windows-1252"), ("cp1252", "text/html"),
         ("latin-1", None), ("utf-16", "text/html; charset=utf-16"), ("broken", "text/html")]
    ),
)  # fmt: skip
@pytest.mark.slow
def test_legacy_and_broken_encodings_read_as_before(page: str, how: tuple[str, str | None]) -> None:
    encoding, content_type = how
    if encoding == "broken":  # UTF-8 with stray bytes: read as windows-1252, as a browser does
        body = page.encode("utf-8").replace(b"<p>", b"<p>\xff\xfe", 1) + b"\x80"
    else:
        body = page.encode(encoding, errors="replace")
    assert_same_page(body, content_type)


# -- pages no two parsers agree on: bounded, and `in` answers as the page's own reading ---------

FRAGMENTS = st.sampled_from(
    ["<div>", "</div>", "<p", ">", "<p>", "</p>", "<!--", "-->", "<script>", "</script>",
     "<style>", "<template>", "</template>", "<noscript>", "<table>", "<td>", "<tr>", "</table>",
     "<b>", "</b>", "<i>", "</a>", "<a href=x>", " hidden", ' style="display:none"', "<xmp>",
     "</xmp>", "<iframe>", "<plaintext>", "<svg><title>", "</svg>", "<math>", "<select>",
     "<option>", "<![CDATA[", "]]>", "<?php", "&", "&amp", "&#0;", "&#xD800;", "\x00", "\r",
     "labour", "market", "overview", " ", "\u00a0", "\u2019", "\ufeff", "<br>", "<textarea>",
     # Where a page's facts come from, anywhere in the document: the one-parse reading walks
     # the body and the rest apart, and must find them as one walk of the document does.
     "<html", "</html>", "<body", "</body>", "<head>", "</head>", "<frameset>", "<title>",
     "<meta name=govuk:format content=official_statistics>", "<meta name=GOVUK:withdrawn",
     ' data-gtm-release-status="Cancelled"', ' class="gem-c-notice"', ' class="ons-panel__body"',
     ' class="gem-c-notice__title"', "<script hidden>"]
)  # fmt: skip


@settings(DIFFERENTIAL, max_examples=300)
@given(parts=st.lists(FRAGMENTS, max_size=60), junk=st.binary(max_size=40))
def test_any_markup_is_read_in_bounds_and_decided_as_its_reading(
    parts: list[str], junk: bytes
) -> None:
    body = "".join(parts).encode("utf-8") + junk
    with bounded():
        text = visible_text(body, "text/html")
        facts = read_facts(body, None)
        reading = text.reading()
        text_too, facts_too = read_text_and_facts(body, None)
    assert (str(text_too), text_too.reading(), facts_too) == (str(text), reading, facts)
    needles = windows(reading) | windows(str(text).replace("\n", " ")) | set(RULE_WORDING)
    for needle in {normalise(n) for n in needles}:
        assert (needle in text) == (needle in reading), needle


@pytest.mark.parametrize(
    "body",
    [
        b'<html data-gtm-release-status="cancelled" class="ons-panel__body"><p>Cancelled</p>',
        b"<title>First</title><body><title>Second</title><meta name=govuk:format content=a>",
        b"<head><meta name=govuk:format content=in-head></head><body>"
        b"<meta name=govuk:format content=in-body><script hidden>x</script><p>seen</p>",
        b"<body><p>before</p></body></html><div class=gem-c-notice><h2 class=gem-c-notice__title>"
        b"Statistics release cancelled</h2></div><title>after the end</title>",
        b"<head><title>framed</title></head><frameset><frame></frameset>",
        b'<body hidden data-gtm-release-status="published"><p>a hidden body</p>',
    ],
    ids=["html-element", "titles", "meta-head-and-body", "after-the-end", "frameset", "body"],
)
def test_facts_anywhere_in_the_document_read_alike_in_one_parse(body: bytes) -> None:
    # read_text_and_facts walks the body and the rest of the document apart. (Not against
    # libxml2: it places a <title> after the end or in a frameset elsewhere than HTML5 does.)
    text, facts = visible_text(body, "text/html"), read_facts(body, None)
    text_too, facts_too = read_text_and_facts(body, None)
    assert (str(text_too), text_too.reading(), facts_too) == (str(text), text.reading(), facts)
    assert facts != PageFacts()  # each page has a fact to find


# -- the biggest and deepest pages ------------------------------------------------------------

URL = "https://www.gov.uk/government/statistics/labour-market-overview-uk-july-2025"
CAP = 2 * 1024 * 1024  # ProbeSettings.max_body_bytes: no body past it is parsed


def filled(unit: bytes, size: int = CAP - 1024) -> bytes:
    return b"<!DOCTYPE html><html><body>" + unit * (size // len(unit))


@pytest.mark.parametrize(
    "body",
    [
        filled(b"<p>labour market <b>overview"),  # unclosed tags, 2 MB of them
        filled(b"<!-- a comment -->"),
        filled(b"<table><tr><td>"),  # nested tables, never closed
        b"<p title='" + b"x" * (CAP - 100) + b"'>labour market overview</p>",
        filled(b"<script>var a = '<p>';</script>"),
        filled(b"&amp;&nbsp;&#x2019;&eacute;"),
        filled(b"<span>" * 100 + b"<p>x</p>" * 2000),  # spans kept open, p's checking scope
    ],
    ids=["unclosed", "comments", "tables", "huge-attribute", "scripts", "entities", "spans"],
)
def test_the_biggest_pages_the_cap_allows_are_read_in_bounds(body: bytes) -> None:
    assert len(body) <= CAP
    with bounded():
        try:
            text = visible_text(body, "text/html")
            read_facts(body, None)
        except PageTooDeep:
            return  # refused, in bounds: recorded as content too deeply nested
        assert ("labour market overview" in text) == ("labour market overview" in text.reading())


def test_a_page_nested_too_deeply_to_parse_in_bounds_is_refused() -> None:
    # An HTML5 parser's work grows with depth x tags: 200,000 nested <div>s would take minutes.
    body = b"<html><body>" + b"<div>" * 200_000 + b"<h1>Labour market</h1>"
    with bounded(), pytest.raises(PageTooDeep):
        visible_text(body, "text/html")
    with bounded(), pytest.raises(PageTooDeep):
        read_facts(body, None)


async def test_a_probe_of_a_page_nested_too_deeply_says_so() -> None:
    body = b"<html><body>" + b"<section>" * 200_000 + b"<h1>Labour market</h1>"
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=body, headers={"Content-Type": "text/html"})
    )
    prober = HttpProber(FakeClock(), transport=transport)
    try:
        with bounded():
            check = await prober.probe(
                make_release(URL, rule=LiveRule(contains=("Labour market",)))
            )
    finally:
        await prober.aclose()
    assert not check.live
    assert (check.error, check.reason) == ("bad_content", "answer nested too deeply to read")


async def test_a_16_mb_page_is_refused_unread() -> None:
    body = filled(b"<p>labour market overview</p>", 16 * 1024 * 1024)
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, content=body, headers={"Content-Type": "text/html"})
    )
    prober = HttpProber(FakeClock(), transport=transport)
    try:
        with bounded():
            check = await prober.probe(
                make_release(URL, rule=LiveRule(contains=("Labour market",)))
            )
    finally:
        await prober.aclose()
    assert not check.live and check.error == "body_too_large"
