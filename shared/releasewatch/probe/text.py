"""A page's text as a person reads it: what `contains` / `not_contains` are matched against.

HTML is parsed as a browser parses it (selectolax's Lexbor, an HTML5 parser): entities are
decoded, and comments, `<script>`, `<style>`, `<template>`, `<noscript>`, `<iframe>`,
`<noembed>`, `<noframes>`, the `<head>` and elements hidden by `hidden` or an inline
`display: none` are dropped, since none of them is shown. Block elements are kept apart by a
space, so `<td>A</td><td>B</td>` reads "A B" and not "AB". Any other body (JSON, plain text)
is read as it is.

Both sides of a match are normalised the same way (`normalise`): case folded, every run of
whitespace (non-breaking spaces included) made one space, curly quotes and dashes made
straight, zero-width characters dropped. So `Labour market &amp; overview` on the page matches
"labour market & overview" typed in the config, and a curly apostrophe matches a straight
one. Each step maps one character at a time, so a needle found in a text is still found after
normalising both.

Parsing costs CPU on every probe, so the work stays in C: Lexbor parses (without the GIL)
and serialises the pruned body, and two regular expressions turn that canonical markup into
text (a Python walk over a GOV.UK page's ~4,000 nodes costs more than parsing it). A page
nested pathologically deep is refused rather than parsed (`PageTooDeep`): an HTML5 parser's
cost grows with depth times tags. tests/bench/bench_fanout.py measures the cost per page.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .lexbor_select import select

# Never shown: their text is dropped. A browser renders no fallback content of an iframe,
# embed or frameset either.
_HIDDEN = [
    "script", "style", "template", "noscript", "title", "iframe", "noembed", "noframes",
]  # fmt: skip
# Elements a browser lays out as blocks (or line breaks): a boundary between words.
_BLOCKS = (
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "option", "p", "pre",
    "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "body",
    "button", "input", "label", "legend", "select", "textarea", "img",
)  # fmt: skip
_SNIFF = 1024
_MARK, _RUN = "\x00", "\n"  # between two text runs: while normalising, then in PageText
_MARK_BYTE, _RUN_BYTE = _MARK.encode("latin-1"), _RUN.encode("latin-1")
# Lexbor's serialisation is canonical: HTML element names lower case, every `<` and `>` in text
# and attribute values escaped. So, read left to right, a `<` outside a tag starts a comment
# (whose data never holds "-->") or a tag, and the first `>` ends the tag; one pattern consumes
# each whole, since a tag's own name may hold a `<` (`<p<div>` is one element).
_MARKUP = re.compile(
    "<!--.*?-->|<(?:/?(?P<block>{})(?=[\\s/>]))?[^>]*>".format(
        "|".join(sorted(_BLOCKS, key=len, reverse=True))
    ),
    re.DOTALL,
)
# The only references Lexbor writes in text (the HTML serialisation algorithm), `&amp;` last.
_ESCAPES = (("&lt;", "<"), ("&gt;", ">"), ("&nbsp;", "\u00a0"), ("&amp;", "&"))
# Raw text elements a browser shows as text: serialised unescaped, so made plain text first.
_RAW_SHOWN = "xmp, plaintext"
_HIDDEN_TAGS = frozenset(_HIDDEN)
NEVER_SHOWN = ", ".join([*_HIDDEN, "[hidden]", "[style]"])  # shortlists: see _shown
# `hidden` and an inline `display: none`, as `style` reads once ASCII case and spaces go.
_ASCII_UPPER, _ASCII_LOWER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz"
_LOWER = str.maketrans(_ASCII_UPPER, _ASCII_LOWER)
_STYLE_FOLD = str.maketrans(_ASCII_UPPER, _ASCII_LOWER, " \t\n\r")
# An HTML5 parser checks the stack of open elements ("in scope") at many start tags, so its
# cost grows with tags x depth: 20,000 nested <div>s take seconds. A page this tag-dense has
# its nesting estimated first, and one deeper than any real page is refused.
_DENSE_FROM = 8 * 1024  # `<` in the body; GOV.UK's 100 KB pages have about 5,000
_NESTING_BUDGET = 20_000_000  # sum over tags of the depth at each (~0.2 s of Lexbor)
_TAG_OPEN = re.compile(rb"<(/?)([a-zA-Z][a-zA-Z0-9]*)")
# Void elements and those whose end tag may be left out (closed by a sibling): no depth.
_FLAT = frozenset(
    b"area base br col embed hr img input link meta param source track wbr keygen "
    b"p li dt dd tr td th option optgroup tbody thead tfoot colgroup rb rt rp".split()
)


class PageTooDeep(RecursionError):
    """A page nested too deeply to parse in bounded time (recorded as bad content)."""


# Curly quotes and the dash family to their ASCII forms; zero-width characters and soft
# hyphens dropped (they render as nothing).
_REPLACE = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u02bc", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
}


class PageText(str):
    """A page's visible text, normalised, read by `needle in text` (the needle normalised too).

    Its characters are the page's text runs (the text between two tags), each normalised, one
    a line: cheap to read off the parsed page. `in` answers as the block-aware reading would
    (`reading`): a needle inside one run is on the page; one whose letters appear nowhere in
    that order is not; only a needle that may span runs (a title with an `<abbr>` inside)
    needs the reading itself, made then, once. A text that is not HTML is read as it is.
    """

    _page: tuple[bytes, str | None] | None
    _squashed: str | None
    _reading: str | None

    def __new__(cls, text: str, page: tuple[bytes, str | None] | None = None) -> PageText:
        self = super().__new__(cls, text)
        self._page, self._squashed, self._reading = page, None, None
        return self

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            raise TypeError(f"'in <PageText>' requires a string, not {type(key).__name__}")
        if self._page is None:
            return str.__contains__(self, key)
        if self._squashed is None:
            self._squashed = _squashed(self)
        # Squashed first: most needles tested and absent (the not-live wording) cost one scan.
        if key.replace(" ", "").replace(_RUN, "") not in self._squashed:
            return False  # its letters are not on the page in that order, however spaced
        return str.__contains__(self, key) or key in self.reading()

    def reading(self) -> str:
        """The text as a person reads it: words inside a block run together across inline
        markup ("Lab<b>our</b>" reads "labour"), blocks kept apart by a space."""
        if self._page is None:
            return str(self)
        if self._reading is None:
            self._reading = normalise(_reading(*self._page))
        return self._reading


def _squashed(text: str) -> str:
    """`text` without its spaces and run breaks: for a Latin-1 text one C pass over bytes
    (str.replace copies at each of a page's thousands of spaces, four times slower)."""
    try:
        return text.encode("latin-1").translate(None, b" " + _RUN.encode()).decode("latin-1")
    except UnicodeEncodeError:
        return text.replace(" ", "").replace(_RUN, "")


def normalise(text: str) -> str:
    """Case folded, quotes and dashes straightened, whitespace collapsed to single spaces."""
    try:
        latin = text.encode("latin-1")
    except UnicodeEncodeError:
        return _normalise_unicode(text)
    # Most pages are Latin-1 (English with a £, a © or a non-breaking space): one C pass over
    # the bytes folds case, makes every whitespace character a space and drops soft hyphens
    # (the only character of _REPLACE in Latin-1), about four times faster than str methods.
    folded = latin.translate(_LATIN1_FOLD, b"\xad")
    while b"  " in folded:  # each pass halves a run of spaces: log2(longest run) passes
        folded = folded.replace(b"  ", b" ")
    out = folded.strip(b" ").decode("latin-1")
    if "\u00df" in out or "\u00b5" in out:  # the two Latin-1 letters casefold takes outside it
        out = out.replace("\u00df", "ss").replace("\u00b5", "\u03bc")
    return out


def _normalise_unicode(text: str) -> str:
    # An `in` test per character is nearly free: far cheaper than str.translate or one regex.
    for char, replacement in _REPLACE.items():
        if char in text:
            text = text.replace(char, replacement)
    return " ".join(text.casefold().split())


def _latin1_fold() -> bytes:
    """Each Latin-1 byte to its `normalise` form: whitespace (as str.split splits) a space, a
    letter its lower case (what casefold gives, but for ß and µ, whose folds leave Latin-1)."""
    table = bytearray(range(256))
    for code in range(256):
        char = chr(code)
        if char.isspace():
            table[code] = ord(" ")
        elif len(lowered := char.lower()) == 1 and ord(lowered) < 256:
            table[code] = ord(lowered)
    return bytes(table)


_LATIN1_FOLD = _latin1_fold()


def visible_text(
    body: bytes, content_type: str | None = None, charset: str | None = None
) -> PageText:
    """The normalised text a person sees in `body` (HTML parsed; anything else read as text)."""
    if not is_html(body, content_type):
        return PageText(normalise(decode(body, charset)))
    return shown_text(parse_html(body, charset), body, charset)


def shown_text(
    tree: LexborHTMLParser,
    body: bytes,
    charset: str | None,
    found: list[LexborNode] | None = None,
) -> PageText:
    """`visible_text` of an HTML page already parsed (`parse_html(body, charset)`): the tree
    loses its hidden elements on the way, so read anything else from it first. `found`: the
    body's elements matching NEVER_SHOWN (others too, in document order), when the caller has
    walked the body for them already (a walk costs about as much as its selectors)."""
    root = _shown(tree, found)
    if root is None:  # a frameset document: nothing of its own is shown
        return PageText("")
    # Runs apart by a character normalise keeps (not whitespace), then one a line.
    return PageText(runs(normalise(root.text(separator=_MARK, skip_empty=True))), (body, charset))


def runs(normalised: str) -> str:
    """A normalised text whose runs are apart by _MARK, one run a line: each mark and the
    space either side of it (normalise leaves no other whitespace) a line break. Split and
    stripped in C, not three str.replace over a page's thousands of runs (~1.5x slower)."""
    try:
        latin = normalised.encode("latin-1")
    except UnicodeEncodeError:
        return _RUN.join(map(str.strip, normalised.split(_MARK)))
    return _RUN_BYTE.join(map(bytes.strip, latin.split(_MARK_BYTE))).decode("latin-1")


def is_html(body: bytes, content_type: str | None) -> bool:
    if content_type:
        kind = content_type.split(";", 1)[0].strip().lower()
        if kind in ("text/html", "application/xhtml+xml"):
            return True
        if kind and kind not in ("application/octet-stream", "text/xml", "application/xml"):
            return False
    head = body[:_SNIFF].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<!--")) or (
        b"<html" in head or b"<body" in head or b"<h1" in head or b"<p>" in head
    )


def decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:  # a charset name Python does not know
        return body.decode("utf-8", errors="replace")


def _shown(tree: LexborHTMLParser, found: list[LexborNode] | None = None) -> LexborNode | None:
    """The document's body with every element a browser does not show taken out."""
    root = tree.body
    if root is None:
        return None
    # One walk of the body for both kinds (strip_tags walks the document once per tag).
    # Reverse document order: a hidden element inside another goes before its ancestor.
    gone: set[int] = set()
    for element in reversed(select(root, NEVER_SHOWN) if found is None else found):
        # Lexbor lists an element once per selector it matches (`<script hidden>` twice),
        # and a node destroyed twice is memory freed twice.
        if element.mem_id in gone:
            continue
        if element.tag in _HIDDEN_TAGS or _hidden_from_view(element):
            gone.add(element.mem_id)
            element.decompose()
    return root


def _reading(body: bytes, charset: str | None) -> str:
    """The block-aware text, off Lexbor's serialisation of the shown body (C, not a Python
    walk over every node)."""
    root = _shown(parse_html(body, charset))
    if root is None:
        return ""
    for element in root.css(_RAW_SHOWN):
        element.replace_with(element.text())
    text = _MARKUP.sub(_space_for_block, root.html or "")
    if "&" in text:
        for escaped, char in _ESCAPES:
            text = text.replace(escaped, char)
    return text


def _space_for_block(tag: re.Match[str]) -> str:
    return " " if tag["block"] else ""


def _hidden_from_view(element: LexborNode) -> bool:
    """`hidden` (but not `hidden="until-found"`, content a reader's find-in-page opens, as
    govuk-frontend's accordion uses) or an inline `display: none`. A page that carries the
    title only there (an index's results template, a collapsed form) does not show it;
    GOV.UK's own hidden wording (the feedback form's error text) is not shown either, so it
    cannot hide a publication."""
    attributes = element.attributes
    if "hidden" in attributes:
        value = (attributes["hidden"] or "").translate(_LOWER)
        if value != "until-found":
            return True
    style = attributes.get("style")
    return style is not None and "display:none" in style.translate(_STYLE_FOLD)


def parse_html(body: bytes, charset: str | None) -> LexborHTMLParser:
    """The page's document, read as `visible_text` reads it; PageTooDeep when its nesting
    would make parsing it unbounded."""
    if body.count(b"<") >= _DENSE_FROM and _nesting_cost(body) > _NESTING_BUDGET:
        raise PageTooDeep(f"page nested too deeply to read ({len(body)} bytes)")
    # UTF-8 pages (GOV.UK's) go to Lexbor as bytes; anything else, or bytes that are not
    # valid UTF-8, is decoded by Python first, as a browser would read it.
    if (charset or "utf-8").lower() in ("utf-8", "utf8"):
        if _valid_utf8(body):  # checked once, and only where UTF-8 is possible
            return LexborHTMLParser(body)
        if charset is None:
            # No charset in the header and not UTF-8: as a browser does, the page's own <meta>
            # charset, else windows-1252 (the web's legacy default), not replacement characters.
            charset = _meta_charset(body) or "windows-1252"
    return LexborHTMLParser(decode(body, charset))


def _nesting_cost(body: bytes) -> int:
    """An upper estimate of the parser's in-scope checks: the depth summed over tags."""
    depth = cost = 0
    for close, name in _TAG_OPEN.findall(body):
        if name.lower() not in _FLAT:
            depth = max(0, depth - 1) if close else depth + 1
        cost += depth
    return cost


_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:_SNIFF])
    return match[1].decode("ascii") if match else None


def _valid_utf8(body: bytes) -> bool:
    if body.isascii():
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
