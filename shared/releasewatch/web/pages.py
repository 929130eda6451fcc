"""Small HTML pieces for the message pages (acknowledge, confirm, errors).

Every page passes through `scrub.scrub` on its way out (render.py). The pieces escape their
text; `page` lays them out in the board's template (web/templates/message.html).
"""

from __future__ import annotations

from contextvars import ContextVar
from html import escape

from .render import render

_CLASSES = {"alert": "govuk-inset-text govuk-!-font-weight-bold", "muted": "govuk-body-s"}

# The request's path to the site root ('../' from /a/<token>): set by WebApp.handle, so a
# message page finds the stylesheet whatever path it answers.
ROOT: ContextVar[str] = ContextVar("releasewatch_web_root", default="")


def page(title: str, body: str) -> str:
    """A message page: `body` is HTML built from the pieces below (already escaped)."""
    from markupsafe import Markup

    return render("message.html", title=title, body=Markup(body), root=ROOT.get())  # noqa: S704


def para(text: str, cls: str = "") -> str:
    return f'<p class="{_CLASSES.get(cls, "govuk-body")}">{escape(text)}</p>'


def table(
    headers: list[str], rows: list[list[str]], raw_columns: frozenset[int] = frozenset()
) -> str:
    """Cells are escaped unless their column index is in raw_columns (already-built HTML)."""
    head = "".join(f'<th scope="col" class="govuk-table__header">{escape(h)}</th>' for h in headers)
    body = "".join(
        '<tr class="govuk-table__row">'
        + "".join(
            f'<td class="govuk-table__cell">{cell if i in raw_columns else escape(cell)}</td>'
            for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return (
        '<div class="rw-table-scroll"><table class="govuk-table">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def link(href: str, text: str) -> str:
    return f'<a class="govuk-link" href="{escape(href)}">{escape(text)}</a>'


def form(action: str, button: str) -> str:
    return (
        f'<form method=post action="{escape(action)}">'
        f'<button type=submit class="govuk-button" data-module="govuk-button">'
        f"{escape(button)}</button></form>"
    )
