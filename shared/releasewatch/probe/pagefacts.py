"""What a page says about itself beyond its words: page mode's view of the document.

- GOV.UK's `govuk:` meta tags (govuk_publishing_components, presenters/meta_tags.rb, rendered
  as `<meta name="govuk:format" content="official_statistics">`): the document type
  (`govuk:format`), schema, `govuk:first-published-at`, `govuk:public-updated-at`, and
  `govuk:withdrawn` ("withdrawn") on a withdrawn document.
- GOV.UK's notice banners (the `notice` component, `gem-c-notice`): a cancelled statistics
  announcement shows one titled "Statistics release cancelled" with GOV.UK's reason
  (alphagov/frontend app/views/statistics_announcement/show.html.erb).
- A withdrawn document's banner heading, "This publication was withdrawn on 7 March 2014."
  (the document type varies).
- An ONS release page's state: `data-gtm-release-status` on dp-frontend-release-calendar
  pages; "Release date: Cancelled" and the panel's notice on the new CMS's (calendar/ons.py).

Read when it can matter (page.judge): a page whose words mention a cancellation, or one that
passed its rule. A big HTML page (one read on a worker thread) has them read with its text from
one parse (`read_text_and_facts`): ~0.3 ms more for a page not yet live, a second parse
(~1 ms) saved for each page that is, and at the busiest minute most pages are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from selectolax.lexbor import LexborHTMLParser, LexborNode

from .lexbor_select import select
from .rules import parse_timestamp
from .text import NEVER_SHOWN, PageText, normalise, parse_html, shown_text

CANCELLED_NOTICE = "statistics release cancelled"  # formats.statistics_announcement.cancelled
ONS_CANCELLED_WORDING = ("release date: cancelled", "this release has been cancelled")
_FACT_ELEMENTS = "meta[name], .gem-c-notice, [data-gtm-release-status], .ons-panel__body, title"
# Each selector once (`title` is in both): a walk costs about as much as its selectors.
_BODY_WALK = ", ".join(dict.fromkeys([*_FACT_ELEMENTS.split(", "), *NEVER_SHOWN.split(", ")]))
_WITHDRAWN = re.compile(r"\bthis [a-z ]{1,40} was withdrawn on (\d{1,2} [a-z]+ \d{4})")


@dataclass(frozen=True)
class PageFacts:
    meta: Mapping[str, str] = field(default_factory=dict)  # govuk:* name → content
    notices: tuple[tuple[str, str], ...] = ()  # GOV.UK notice banners: (title, description)
    ons_status: str | None = None  # data-gtm-release-status
    ons_panels: tuple[str, ...] = ()  # ONS information panels' text
    title: str = ""  # the page's <title>, without GOV.UK's " - GOV.UK"

    @property
    def first_published_at(self) -> datetime | None:
        return _stamp(self.meta.get("govuk:first-published-at"))

    @property
    def public_updated_at(self) -> datetime | None:
        return _stamp(self.meta.get("govuk:public-updated-at"))

    @property
    def format(self) -> str:
        return self.meta.get("govuk:format", "")


def read_facts(body: bytes | None, charset: str | None) -> PageFacts:
    if not body:
        return PageFacts()
    return facts_of(parse_html(body, charset))


def read_text_and_facts(body: bytes, charset: str | None) -> tuple[PageText, PageFacts]:
    """`visible_text` and `read_facts` of one HTML body, parsed once (the facts first: reading
    the text takes the hidden elements, the <title> among them, out of the tree)."""
    tree = parse_html(body, charset)
    page, root = tree.body, tree.root
    if page is None or root is None:  # a frameset document: no text of its own
        facts = facts_of(tree)
        return shown_text(tree, body, charset), facts
    # The body walked once for its facts and its hidden elements (a walk costs about as much
    # as its selectors; one of both costs ~0.13 ms less a page), the rest of the document (the
    # head) for its facts; in document order, as facts_of's one walk of the document.
    found = select(page, _BODY_WALK)  # without the GIL: lexbor_select
    elements = [root]  # css() includes the node it starts from, so the <html> element too
    for child in root.iter():
        elements += found if child.mem_id == page.mem_id else child.css(_FACT_ELEMENTS)
    facts = _facts(elements)
    return shown_text(tree, body, charset, found), facts


def facts_of(tree: LexborHTMLParser) -> PageFacts:
    return _facts(tree.css(_FACT_ELEMENTS))


def _facts(elements: list[LexborNode]) -> PageFacts:
    """The facts of the elements listed, in document order. Each is checked for what it is, so
    other elements listed with them (read_text_and_facts's hidden ones) change nothing."""
    # One walk of the document for every element a fact comes from (five walks cost ~5x).
    meta: dict[str, str] = {}
    notices: list[LexborNode] = []
    panels: list[LexborNode] = []
    status: LexborNode | None = None
    title: LexborNode | None = None
    seen: set[int] = set()
    for element in elements:
        if element.mem_id in seen:  # an element matching two selectors
            continue
        seen.add(element.mem_id)
        attributes = element.attributes
        tag = element.tag
        if tag == "meta" and "name" in attributes:
            name = (attributes.get("name") or "").strip().lower()
            if name.startswith("govuk:") and name not in meta:
                meta[name] = (attributes.get("content") or "").strip()
        if tag == "title" and title is None:
            title = element
        if status is None and "data-gtm-release-status" in attributes:
            status = element
        if "class" in attributes:
            # CSS's `.name` is case-blind on a page without a doctype (quirks mode), so it
            # only shortlists: a class is a case-sensitive, space-separated token.
            classes = _classes(element)
            if "gem-c-notice" in classes:
                notices.append(element)
            if "ons-panel__body" in classes:
                panels.append(element)
    ons_status = None
    if status is not None:
        ons_status = (status.attributes.get("data-gtm-release-status") or "").strip().lower()
    return PageFacts(
        meta,
        tuple(
            (
                _words(_first(n, "gem-c-notice__title")),
                _words(_first(n, "gem-c-notice__description")),
            )
            for n in notices
        ),
        ons_status,
        tuple(_words(p) for p in panels),
        _words(title).removesuffix(" - GOV.UK"),
    )


def cancellation(facts: PageFacts, text: PageText | str) -> str | None:
    """The reason a cancelled announcement gives ("" when none); None if it is not one."""
    for title, description in facts.notices:
        if normalise(title) == CANCELLED_NOTICE:
            return description
    if facts.ons_status == "cancelled":
        return _ons_reason(facts)
    seen = text if isinstance(text, PageText) else normalise(text)
    # The wording alone only on an ONS page (its state attribute or its panels): another
    # site's page may quote it.
    ons_page = facts.ons_status is not None or bool(facts.ons_panels)
    if ons_page and any(w in seen for w in ONS_CANCELLED_WORDING):
        return _ons_reason(facts)
    return None


def _ons_reason(facts: PageFacts) -> str:
    """The ONS page's own notice (the new CMS's free text), without the fixed banner."""
    told = [p for p in facts.ons_panels if normalise(p) not in ONS_CANCELLED_WORDING]
    return " ".join(told)


def mentions_cancellation(text: PageText | str | None) -> bool:
    """Cheap: whether the words could be a cancelled announcement's (then read_facts)."""
    return text is not None and "cancelled" in text


def withdrawn(facts: PageFacts) -> str | None:
    """How the page says its document was withdrawn ("withdrawn on 7 March 2014"), or None:
    the notice banner's heading (frontend's withdrawal notice is a `notice` component), else
    the `govuk:withdrawn` meta tag. Not the body's words: a live page may quote the phrase."""
    for title, _ in facts.notices:
        found = _WITHDRAWN.search(normalise(title))
        if found is not None:
            return f"withdrawn on {found[1]}"
    if facts.meta.get("govuk:withdrawn"):
        return "withdrawn (govuk:withdrawn)"
    return None


def _stamp(value: str | None) -> datetime | None:
    return parse_timestamp(value) if value else None


def _first(element: LexborNode, name: str) -> LexborNode | None:
    """The first descendant with the class `name` (a node's `css` includes the node)."""
    found = (e for e in element.css(f".{name}") if e.mem_id != element.mem_id)
    return next((e for e in found if name in _classes(e)), None)


def _classes(element: LexborNode) -> list[str]:
    value = element.attributes.get("class") or ""
    return value.translate(_CLASS_SPACES).split(" ")


_CLASS_SPACES = str.maketrans("\t\n\r", "   ")


def _words(element: LexborNode | None) -> str:
    if element is None:
        return ""
    return " ".join(element.text(deep=True).split())
