"""Text that came from a calendar, a config or a page, made inert for the channel it goes to.

A release title is written by whoever publishes the calendar; a check's reason and URLs come from
the page. None of it may format, link or mention in the channel people act from:

    Teams   TextBlock and FactSet text is Markdown (bold, italic, lists, [links](url)): card
            text goes in RichTextBlock TextRuns, which Teams never reads as Markdown, and the
            facts (FactSet has no plain form) have every Markdown character backslash-escaped.
    Slack   blocks are plain_text; the top-level `text` (notifications, screen readers) is
            mrkdwn unless told otherwise: it is sent with mrkdwn off and &, <, > escaped, so
            no <!channel>, <url|label> or *bold* survives.
    email   text/plain only: no HTML part is built, so nothing in it is markup.
    SMS     one line: control characters and line breaks become spaces, so a title cannot
            forge a line of its own (GSM-7 is applied by fit_sms).
"""

from __future__ import annotations

import re

# What Teams' Markdown subset acts on: emphasis, code, links, and the HTML some clients read.
# Fewer escapes than CommonMark allows: a URL in a fact keeps its dots and hyphens readable.
_TEAMS_SPECIAL = re.compile(r"([\\`*_\[\]~<>])")
_MARKER = re.compile(r"^(\s*)([-+#])")  # a bullet or a heading
_NUMBERED = re.compile(r"^(\s*\d+)([.)])")  # a numbered list item
_SPACES = re.compile(r"[\s\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def teams_fact(text: str) -> str:
    """A FactSet title or value that Teams shows as written, never as Markdown."""
    escaped = _TEAMS_SPECIAL.sub(r"\\\1", one_line(text))
    escaped = _MARKER.sub(r"\1\\\2", escaped)
    return _NUMBERED.sub(r"\1\\\2", escaped)


def slack_mrkdwn(text: str) -> str:
    """Text for a Slack field read as mrkdwn: &, < and > escaped as Slack asks, so no link,
    mention (<!channel>, <@U123>) or date token can be formed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: str) -> str:
    """Line breaks and control characters as single spaces (SMS, subjects, card titles)."""
    return _SPACES.sub(" ", text).strip()
