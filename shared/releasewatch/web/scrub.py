"""The privacy scrub every page and JSON answer passes through on its way out.

It blanks anything shaped like an email address or a phone number: the dashboard is meant to be
shown on a screen, and a name is enough.
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+")
# Contacts' numbers are E.164, but free text (a title, an error quoting a recipient) may
# space them out ("+44 7700 900123") or use the national form ("07700 900123").
_PHONE = re.compile(
    r"\+[1-9](?:[\s().-]{0,2}\d){7,14}"  # international, separators allowed
    r"|(?<![\d:.-])0\d(?:[\s-]?\d){8,9}(?![\d:])"  # UK national: 10 or 11 digits from 0
)


def scrub(text: str) -> str:
    return _PHONE.sub("[number withheld]", _EMAIL.sub("[address withheld]", text))
