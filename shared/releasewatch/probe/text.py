"""A page's text as a person reads it: what `contains` / `not_contains` are matched against.

HTML is parsed by a real parser (lxml's libxml2 HTML parser, which copes with broken markup the
way browsers mostly do): entities are decoded, and comments, `<script>`, `<style>`,
`<template>`, `<noscript>`, the `<head>` and elements hidden by `hidden` or an inline
`display: none` are dropped, since none of them is shown. Block
elements are kept apart by a space, so `<td>A</td><td>B</td>` reads "A B" and not "AB".
Any other body (JSON, plain text) is read as it is.

Both sides of a match are normalised the same way (`normalise`): case folded, every run of
whitespace (non-breaking spaces included) made one space, curly quotes and dashes made
straight, zero-width characters dropped. So `Labour market &amp; overview` on the page matches
"labour market & overview" typed in the config, and a curly apostrophe matches a straight
one. Each step maps one character at a time, so a needle found in a text is still found after
normalising both.

Parsing costs CPU on every probe (about 1.5 ms for a 100 KB GOV.UK page, most of it in
libxml2 and libxslt without the GIL; page.py reads big bodies on threads of their own): a body
is parsed once per fetch, straight from its bytes.
"""

from __future__ import annotations

import re
import threading

from lxml import etree

_HIDDEN = ("script", "style", "template", "noscript", "head", "title")
# Elements a browser lays out as blocks (or line breaks): a boundary between words.
_BLOCKS = (
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "option", "p", "pre",
    "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "body",
    "button", "input", "label", "legend", "select", "textarea", "img",
)  # fmt: skip
_SNIFF = 1024
# Elements hidden from view by an attribute: `hidden` (but not `hidden="until-found"`, content
# a reader's find-in-page opens, as govuk-frontend's accordion uses) and an inline
# `display: none`. A page that carries the title only there (an index's results template, a
# collapsed form) does not show it; GOV.UK's own hidden wording (the feedback form's error
# text) is not shown either, so it cannot hide a publication.
_LOWER = "translate({0}, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')"
_HIDDEN_ATTRIBUTES = (  # cheap tests first: most elements have neither attribute
    f"*[@hidden][{_LOWER.format('@hidden')} != 'until-found']"
    f"|*[@style][contains(translate({_LOWER.format('@style')}, ' &#9;&#10;&#13;', ''), "
    "'display:none')]"
)

# Curly quotes and the dash family to their ASCII forms; zero-width characters and soft
# hyphens dropped (they render as nothing).
_REPLACE = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u02bc", "'"),
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033", '"'),
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
}
# The visible text in one pass of libxslt (C): hidden elements give nothing, block elements
# are wrapped in spaces, text is copied. The stylesheet is ours and fixed; it reads nothing else
# (access control denies every file and network access anyway). Iterating the ~2,000 elements
# of a GOV.UK page in Python instead costs more than parsing it.
_STYLESHEET = (
    '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'
    '<xsl:output method="text" encoding="utf-8"/>'
    f'<xsl:template match="{"|".join(_HIDDEN)}"/>'
    f'<xsl:template match="{_HIDDEN_ATTRIBUTES}" priority="2"/>'
    f'<xsl:template match="{"|".join(_BLOCKS)}"><xsl:text> </xsl:text><xsl:apply-templates/>'
    "<xsl:text> </xsl:text></xsl:template>"
    "</xsl:stylesheet>"
)
_local = threading.local()  # lxml's parsers and stylesheets are each for one thread


def _transform() -> etree.XSLT:
    xslt = getattr(_local, "xslt", None)
    if xslt is None:
        deny = etree.XSLTAccessControl.DENY_ALL
        xslt = _local.xslt = etree.XSLT(etree.XML(_STYLESHEET), access_control=deny)
    return xslt


class PageText(str):
    """A page's visible text, already normalised: judged as it is."""


def normalise(text: str) -> str:
    """Case folded, quotes and dashes straightened, whitespace collapsed to single spaces."""
    if not text.isascii():
        # An `in` test per character is nearly free (and free for a text with no character
        # past U+00FF, as most pages): far cheaper than str.translate or one regex pass.
        for char, replacement in _REPLACE.items():
            if char in text:
                text = text.replace(char, replacement)
    return " ".join(text.casefold().split())


def visible_text(
    body: bytes, content_type: str | None = None, charset: str | None = None
) -> PageText:
    """The normalised text a person sees in `body` (HTML parsed; anything else read as text)."""
    if is_html(body, content_type):
        return PageText(normalise(_html_text(body, charset)))
    return PageText(normalise(decode(body, charset)))


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


def _html_text(body: bytes, charset: str | None) -> str:
    root = parse_html(body, charset)
    if root is None:
        return ""
    return str(_transform()(root))


def parse_html(body: bytes, charset: str | None) -> etree._Element | None:
    """The page's element tree (None for an empty page), read as `visible_text` reads it."""
    # UTF-8 pages (GOV.UK's) go to libxml2 as bytes; anything else, or bytes that are not
    # valid UTF-8, is decoded by Python first: libxml2 stops at the first invalid byte, and a
    # page cut short could hide its title.
    if charset is None and not _valid_utf8(body):
        # No charset in the header and not UTF-8: as a browser does, the page's own <meta>
        # charset, else windows-1252 (the web's legacy default), not replacement characters.
        charset = _meta_charset(body) or "windows-1252"
    encoding = (charset or "utf-8").lower()
    data = body
    if encoding not in ("utf-8", "utf8") or not _valid_utf8(body):
        data = decode(body, charset).encode("utf-8")
    root: etree._Element | None = etree.fromstring(data, _parser())
    return root


_META_CHARSET = re.compile(rb"""<meta[^>]*?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)


def _meta_charset(body: bytes) -> str | None:
    match = _META_CHARSET.search(body[:_SNIFF])
    return match[1].decode("ascii") if match else None


def _parser() -> etree.HTMLParser:
    # huge_tree: libxml2 otherwise gives up at 256 levels of nesting and yields an empty page
    # (a title never found); the body is capped at 2 MB anyway.
    parser = getattr(_local, "parser", None)
    if parser is None:
        parser = _local.parser = etree.HTMLParser(
            encoding="utf-8", remove_comments=True, remove_pis=True, no_network=True, huge_tree=True
        )
    return parser


def _valid_utf8(body: bytes) -> bool:
    if body.isascii():
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
