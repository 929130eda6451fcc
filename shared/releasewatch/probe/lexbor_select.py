"""Lexbor's CSS selector walk with the GIL released: `select(node, query)`.

selectolax runs Lexbor's selector walk (`node.css`) holding the GIL. At the busiest minute
that walk, ~0.4 ms for a 100 KB page and a dozen selectors, is the largest part of reading a
page that holds the GIL: the event loop, sending the other requests, waits behind it (the
fan-out bench's tick: ~0.2 s of 2.5 s). Here the same Lexbor function, `lxb_selectors_find`,
is called through ctypes, which releases the GIL for the call; it takes the GIL back only to
note each match (a page has tens). The matches become selectolax nodes by one walk for one
attribute (~0.03 ms): each match is given an attribute whose name is random to this process,
found with `node.css`, and the attribute removed again.

This calls into the Lexbor that selectolax's extension carries (its symbols are exported),
so it is used only with the selectolax release it was checked against (VERIFIED) and when
every function resolves; anything else, or a walk that fails, falls back to `node.css`.
tests/unit/test_lexbor_select.py holds it to `node.css` over fuzzed documents.
"""

from __future__ import annotations

import ctypes
import logging
import secrets
import threading
from typing import Any

import selectolax
import selectolax.lexbor
from selectolax.lexbor import LexborNode

log = logging.getLogger(__name__)

# The selectolax release whose Lexbor signatures this was written and tested against.
VERIFIED = "1.0.2"
_OK = 0  # LXB_STATUS_OK
# LXB_SELECTORS_OPT_MATCH_ROOT, the node itself a candidate (as css()), and _MATCH_FIRST, each
# element noted once, for its first matching selector, not once for each.
_OPTIONS = 1 << 1 | 1 << 0
# Unguessable, so no page can name it (and an element it named would only be re-checked:
# every caller checks each element for what it is).
MARKER = f"data-releasewatch-{secrets.token_hex(8)}"
_MARKER = MARKER.encode("ascii")

_Callback = ctypes.CFUNCTYPE(ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)


def _bind() -> tuple[Any, Any] | None:
    """(the library with the GIL released in calls, the same holding it), or None."""
    if getattr(selectolax, "__version__", None) != VERIFIED:
        return None
    path = selectolax.lexbor.__file__
    if path is None:
        return None
    try:
        free, held = ctypes.CDLL(path), ctypes.PyDLL(path)
        p, size, status, chars = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_char_p
        signatures: list[tuple[Any, str, Any, list[Any]]] = [
            (free, "lxb_css_parser_create", p, []),
            (free, "lxb_css_parser_init", status, [p, p]),
            (free, "lxb_css_parser_destroy", p, [p, ctypes.c_bool]),
            (free, "lxb_css_selectors_create", p, []),
            (free, "lxb_css_selectors_init", status, [p]),
            (free, "lxb_css_selectors_destroy", p, [p, ctypes.c_bool]),
            (free, "lxb_css_parser_selectors_set_noi", None, [p, p]),
            (free, "lxb_css_selectors_parse", p, [p, chars, size]),
            (free, "lxb_css_selector_list_destroy_memory", None, [p]),
            (free, "lxb_selectors_create", p, []),
            (free, "lxb_selectors_init", status, [p]),
            (free, "lxb_selectors_destroy", p, [p, ctypes.c_bool]),
            (free, "lxb_selectors_opt_set_noi", None, [p, ctypes.c_int]),
            (free, "lxb_selectors_find", status, [p, p, p, _Callback, p]),
            (held, "lxb_dom_element_set_attribute", p, [p, chars, size, chars, size]),
        ]  # fmt: skip
        for lib, name, restype, argtypes in signatures:
            function = getattr(lib, name)
            function.restype, function.argtypes = restype, argtypes
    except (OSError, AttributeError) as exc:  # not the build it was checked against
        log.info("Lexbor's selector walk stays under the GIL: %s", exc)
        return None
    return free, held


_LIBS = _bind()


class _Walker:
    """One thread's Lexbor selector engine (Lexbor's objects are not to be shared between
    threads), with each query parsed once, by a CSS parser of its own: a parsed list lives in
    its parser's memory, which is freed with the list, so two lists never share one."""

    def __init__(self, free: Any, held: Any) -> None:
        self._free, self._held = free, held
        self._queries: dict[str, tuple[int, int, int]] = {}  # query: (parser, css, list)
        self._found: list[int] = []
        found = self._found

        def note(node: int, spec: int, ctx: int) -> int:
            found.append(node)
            return _OK

        self._note = _Callback(note)  # kept alive as long as the walker
        self._selectors = free.lxb_selectors_create()
        if not self._selectors or free.lxb_selectors_init(self._selectors) != _OK:
            raise MemoryError("Lexbor's selector engine could not be set up")
        free.lxb_selectors_opt_set_noi(self._selectors, _OPTIONS)

    def _parsed(self, query: str) -> int | None:
        known = self._queries.get(query)
        if known is not None:
            return known[2]
        free = self._free
        parser, css = free.lxb_css_parser_create(), free.lxb_css_selectors_create()
        selector_list = None
        if (
            parser
            and css
            and free.lxb_css_parser_init(parser, None) == _OK
            and free.lxb_css_selectors_init(css) == _OK
        ):
            free.lxb_css_parser_selectors_set_noi(parser, css)
            encoded = query.encode("utf-8")
            selector_list = free.lxb_css_selectors_parse(parser, encoded, len(encoded))
        if not selector_list:
            self._destroy(parser, css, None)
            return None
        self._queries[query] = (parser, css, selector_list)
        return int(selector_list)

    def matches(self, node: LexborNode, query: str) -> list[int] | None:
        """The addresses of the elements matching `query`, each once, or None if the walk
        could not be made."""
        selector_list = self._parsed(query)
        if selector_list is None:
            return None
        self._found.clear()
        status = self._free.lxb_selectors_find(
            self._selectors, node.mem_id, selector_list, self._note, None
        )
        if status != _OK:
            return None
        return list(dict.fromkeys(self._found))  # once each, should the option not hold

    def mark(self, element: int) -> bool:
        return bool(
            self._held.lxb_dom_element_set_attribute(element, _MARKER, len(_MARKER), b"", 0)
        )

    def _destroy(self, parser: int | None, css: int | None, selector_list: int | None) -> None:
        free = self._free
        if selector_list:
            free.lxb_css_selector_list_destroy_memory(selector_list)
        if parser:
            free.lxb_css_parser_destroy(parser, True)
        if css:
            free.lxb_css_selectors_destroy(css, True)

    def __del__(self) -> None:  # its thread ended: free what Lexbor allocated for it
        if getattr(self, "_free", None) is None:
            return
        for parser, css, selector_list in self._queries.values():
            self._destroy(parser, css, selector_list)
        self._queries.clear()
        if self._selectors:
            self._free.lxb_selectors_destroy(self._selectors, True)
            self._selectors = None


_local = threading.local()


def gil_free() -> bool:
    """Whether `select` walks without the GIL here (False: it is `node.css`)."""
    return _LIBS is not None


def select(node: LexborNode, query: str) -> list[LexborNode]:
    """The elements in `node`'s subtree (`node` too) that match `query`, each once, in
    document order: `node.css(query)` without its repeats, walked with the GIL released."""
    if _LIBS is None:
        return _deduplicated_css(node, query)
    walker: _Walker | None = getattr(_local, "walker", None)
    if walker is None:
        walker = _local.walker = _Walker(*_LIBS)
    found = walker.matches(node, query)
    if found is None:
        return _deduplicated_css(node, query)
    if not found:
        return []
    marked = [element for element in found if walker.mark(element)]
    listed = node.css(f"[{MARKER}]")
    chosen = set(marked)
    for element in listed:  # only those marked here: never a page's own attribute
        if element.mem_id in chosen:
            del element.attrs[MARKER]
    if len(marked) != len(found):
        log.warning("could not mark every element Lexbor found; walking again with the GIL")
        return _deduplicated_css(node, query)
    return [element for element in listed if element.mem_id in chosen]


def _deduplicated_css(node: LexborNode, query: str) -> list[LexborNode]:
    return _deduplicated(node.css(query))


def _deduplicated(elements: list[LexborNode]) -> list[LexborNode]:
    seen: set[int] = set()
    out = []
    for element in elements:
        if element.mem_id not in seen:
            seen.add(element.mem_id)
            out.append(element)
    return out
