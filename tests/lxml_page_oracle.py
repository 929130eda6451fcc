"""The page reading releasewatch had before selectolax (lxml's libxml2 parser and one XSLT
pass), kept only as the oracle of tests/unit/test_parser_differential.py: the new parser
must decide as this one did. lxml stays installed as python-docx's dependency.
"""

from __future__ import annotations

import re
import threading

from lxml import etree

from releasewatch.probe.pagefacts import PageFacts
from releasewatch.probe.text import decode, is_html, normalise


def visible_text(body: bytes, content_type: str | None = None, charset: str | None = None) -> str:
    if is_html(body, content_type):
        return normalise(_html_text(body, charset))
    return normalise(decode(body, charset))


def read_facts(body: bytes | None, charset: str | None) -> PageFacts:
    if not body:
        return PageFacts()
    root = parse_html(body, charset)
    if root is None:
        return PageFacts()
    meta: dict[str, str] = {}
    for tag in root.iterfind(".//meta[@name]"):
        name = (tag.get("name") or "").strip().lower()
        if name.startswith("govuk:") and name not in meta:
            meta[name] = (tag.get("content") or "").strip()
    notices = tuple(
        (_words(_first(n, "gem-c-notice__title")), _words(_first(n, "gem-c-notice__description")))
        for n in _with_class(root, "gem-c-notice")
    )
    statuses = root.xpath("//*[@data-gtm-release-status]/@data-gtm-release-status")
    ons_status = str(statuses[0]).strip().lower() if statuses else None
    panels = tuple(_words(p) for p in _with_class(root, "ons-panel__body"))
    title = _words(root.find(".//title")).removesuffix(" - GOV.UK")
    return PageFacts(meta, notices, ons_status, panels, title)


_HIDDEN = ("script", "style", "template", "noscript", "head", "title")
# Elements a browser lays out as blocks (or line breaks): a boundary between words.
_BLOCKS = (
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "details", "dialog",
    "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3",
    "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "option", "p", "pre",
    "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul", "body",
    "button", "input", "label", "legend", "select", "textarea", "img",
)  # fmt: skip
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
    match = _META_CHARSET.search(body[:1024])
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


def _with_class(root: etree._Element, name: str) -> list[etree._Element]:
    found = root.xpath(f"//*[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]")
    return [e for e in found if isinstance(e, etree._Element)]


def _first(element: etree._Element, name: str) -> etree._Element | None:
    found = element.xpath(f".//*[contains(concat(' ', normalize-space(@class), ' '), ' {name} ')]")
    return found[0] if found and isinstance(found[0], etree._Element) else None


def _words(element: etree._Element | None) -> str:
    if element is None:
        return ""
    return " ".join("".join(element.itertext()).split())
