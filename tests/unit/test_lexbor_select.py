"""lexbor_select.select: Lexbor's selector walk called without the GIL must find what
selectolax's `node.css` finds (each element once, in document order), leave the document as
it was, work from many threads at once, fall back to `node.css` off the selectolax release it
was checked against, and really let other Python threads run while it walks."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from selectolax.lexbor import LexborNode

from releasewatch.probe import lexbor_select
from releasewatch.probe.lexbor_select import MARKER, gil_free, select
from releasewatch.probe.pagefacts import _BODY_WALK, _FACT_ELEMENTS
from releasewatch.probe.text import NEVER_SHOWN, parse_html
from tests.bench.govuk_page import govuk_page

QUERIES = [_BODY_WALK, NEVER_SHOWN, _FACT_ELEMENTS, "*", "p, b, [hidden]", "td > b", "xyzzy"]

MARKUP = st.sampled_from(
    ["<div>", "</div>", "<p>", "</p>", "<b>", "</b>", "<td>", "<table>", "</table>", "<script>",
     "</script>", "<style>", "<template>", "</template>", "<noscript>", "<iframe>", "<title>",
     "<meta name=govuk:format content=x>", "<svg><title>", "</svg>", "<math>", "<xmp>",
     "<html", "</html>", "<body", "</body>", "<head>", "<frameset>", "<p hidden>",
     '<div style="display:none">', '<i class="gem-c-notice x">', '<p class="ons-panel__body">',
     '<span data-gtm-release-status="Cancelled">', "<!--", "-->", "text", " ", "&amp;", "\x00",
     "<p data-releasewatch-0123456789abcdef>"]
)  # fmt: skip


def css_once(node: LexborNode, query: str) -> list[int]:
    """What `node.css` finds, each element once (Lexbor lists one per selector it matches)."""
    return list(dict.fromkeys(element.mem_id for element in node.css(query)))


def test_the_locked_selectolax_walks_without_the_gil() -> None:
    # Fails when selectolax moves from the release lexbor_select was checked against: read the
    # new release's Lexbor signatures (lexbor.pxd), run these tests, then move VERIFIED.
    assert gil_free(), f"selectolax is not {lexbor_select.VERIFIED}: select() is node.css()"


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.lists(MARKUP, max_size=80))
def test_select_finds_what_css_finds_and_leaves_the_page_as_it_was(parts: list[str]) -> None:
    tree = parse_html("".join(parts).encode("utf-8"), "utf-8")
    before = tree.html
    for node in (tree.root, tree.body, tree.head):
        if node is None:
            continue
        for query in QUERIES:
            assert [e.mem_id for e in select(node, query)] == css_once(node, query), query
    assert tree.html == before  # no marker left behind


def test_the_benchmark_page_is_walked_alike() -> None:
    tree = parse_html(govuk_page("Labour market overview, UK: July 2025"), "utf-8")
    assert tree.body is not None
    found = select(tree.body, _BODY_WALK)
    assert [e.mem_id for e in found] == css_once(tree.body, _BODY_WALK)
    assert {e.tag for e in found} >= {"script", "div"}  # the cookie banner's hidden parts


def test_a_page_cannot_smuggle_an_element_in_by_the_marker() -> None:
    body = f'<p {MARKER}="x">mine</p><script>s</script>'.encode()
    tree = parse_html(body, "utf-8")
    assert tree.body is not None
    assert [e.tag for e in select(tree.body, "script")] == ["script"]
    assert tree.body.css_first("p").attributes == {MARKER: "x"}  # the page's own, untouched


@settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(st.lists(MARKUP, max_size=60).map("".join), min_size=8, max_size=8))
def test_threads_walk_their_own_pages_at_once(pages: list[str]) -> None:
    # Each thread has its own selector engine; the pages' trees are each thread's own.
    def tags(page: str, find: Callable[[LexborNode, str], list[LexborNode]]) -> list[object]:
        root = parse_html(page.encode("utf-8"), "utf-8").root
        assert root is not None
        return [[(e.tag, e.attributes) for e in find(root, q)] for q in QUERIES]

    expected = [tags(page, lexbor_select._deduplicated_css) for page in pages]
    got: dict[int, list[object]] = {}
    start = threading.Barrier(len(pages))

    def walk(i: int) -> None:
        start.wait()
        for _ in range(10):
            got[i] = tags(pages[i], select)

    threads = [threading.Thread(target=walk, args=(i,)) for i in range(len(pages))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [got.get(i) for i in range(len(pages))] == expected


def test_off_the_checked_release_it_is_css(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexbor_select, "_LIBS", None)
    tree = parse_html(b"<p hidden><script>x</script><p hidden>", "utf-8")
    assert tree.body is not None
    assert not gil_free()
    assert [e.mem_id for e in select(tree.body, NEVER_SHOWN)] == css_once(tree.body, NEVER_SHOWN)


def test_a_walk_lexbor_cannot_make_falls_back_to_css(monkeypatch: pytest.MonkeyPatch) -> None:
    tree = parse_html(b"<p hidden><script>x</script>", "utf-8")
    assert tree.body is not None
    select(tree.body, "p")  # this thread's walker made
    walker = lexbor_select._local.walker
    monkeypatch.setattr(walker, "matches", lambda node, query: None)
    assert [e.tag for e in select(tree.body, NEVER_SHOWN)] == ["p", "script"]


def test_other_threads_run_while_it_walks() -> None:
    # The point of the module: node.css holds the GIL for its whole walk; the walk select()
    # makes lets the event loop's thread run. Judged by whether a spinning thread made any
    # progress in the middle half of each walk: none can while a walk holds the GIL.
    # Many elements, no match: the time is the walk's.
    body = ("<div><p>a <b>b</b></p><span>c</span></div>" * 40_000).encode()
    tree = parse_html(body, "utf-8")
    assert tree.body is not None and lexbor_select._LIBS is not None
    page = tree.body

    def walks_with_progress(walk: Callable[[], object]) -> int:
        """Of five walks, in how many another thread ran in the middle half."""
        stamps: list[float] = []
        windows: list[tuple[float, float]] = []
        done = threading.Event()

        def walker() -> None:
            for _ in range(5):
                started = time.perf_counter()
                walk()
                windows.append((started, time.perf_counter()))
            done.set()

        thread = threading.Thread(target=walker)
        thread.start()
        spins = 0
        while not done.is_set():
            spins += 1
            if spins % 256 == 0:
                stamps.append(time.perf_counter())
        thread.join()
        return sum(
            any(a + (b - a) / 4 < stamp < b - (b - a) / 4 for stamp in stamps) for a, b in windows
        )

    walker = lexbor_select._Walker(*lexbor_select._LIBS)  # select()'s walk, on its own
    # A machine busy with other work can starve the spinning thread for a while (the full
    # suite runs on both cores): up to three tries. A walk holding the GIL never gives it
    # the middle of a walk, so no try passes that regression.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    seen = []
    try:
        for _ in range(3):
            held = walks_with_progress(lambda: page.css(_BODY_WALK))
            free = walks_with_progress(lambda: walker.matches(page, _BODY_WALK))
            seen.append((free, held))
            if free >= 3 and held <= 1:
                break
    finally:
        sys.setswitchinterval(interval)
    assert any(free >= 3 and held <= 1 for free, held in seen), seen
