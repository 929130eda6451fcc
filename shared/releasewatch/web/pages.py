"""HTML for the web pages: small, self-contained (no scripts, no external assets), escaped.

Every page passes through `scrub`, which blanks anything shaped like an email address or a
phone number: the dashboard is meant to be shown on a screen, and a name is enough.
"""

from __future__ import annotations

import re
from html import escape

_EMAIL = re.compile(r"[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+")
# Contacts' numbers are E.164, but free text (a title, an error quoting a recipient) may
# space them out ("+44 7700 900123") or use the national form ("07700 900123").
_PHONE = re.compile(
    r"\+[1-9](?:[\s().-]{0,2}\d){7,14}"  # international, separators allowed
    r"|(?<![\d:.-])0\d(?:[\s-]?\d){8,9}(?![\d:])"  # UK national: 10 or 11 digits from 0
)

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#0b0c0c}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid "
    "#b1b4b6;padding:.4rem;text-align:left;vertical-align:top}.late,.early{color:#d4351c;"
    "font-weight:bold}.live{color:#00703c}button{font-size:1.2rem;padding:.6rem 1.2rem;"
    "background:#00703c;color:#fff;border:0}.muted{color:#505a5f}"
    ".alert{border-left:.4rem solid #d4351c;padding:.6rem;background:#fbe9e7;font-weight:bold}"
)


def scrub(text: str) -> str:
    return _PHONE.sub("[number withheld]", _EMAIL.sub("[address withheld]", text))


def page(title: str, body: str) -> str:
    return scrub(
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        '<meta name=robots content="noindex,nofollow">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}"
        "<p class=muted>releasewatch</p></body></html>"
    )


def para(text: str, cls: str = "") -> str:
    attr = f' class="{escape(cls)}"' if cls else ""
    return f"<p{attr}>{escape(text)}</p>"


def table(
    headers: list[str], rows: list[list[str]], raw_columns: frozenset[int] = frozenset()
) -> str:
    """Cells are escaped unless their column index is in raw_columns (already-built HTML)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{cell if i in raw_columns else escape(cell)}</td>" for i, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def link(href: str, text: str) -> str:
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def form(action: str, button: str) -> str:
    return (
        f'<form method=post action="{escape(action)}">'
        f"<button type=submit>{escape(button)}</button></form>"
    )
