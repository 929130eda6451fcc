"""A release title (from a calendar) and a check's words (from a page) arrive inert in every
channel: no bold "IGNORE, ALREADY FIXED", no link to another site, no @channel, no forged line."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta

import pytest

from releasewatch.model import NotificationKind
from releasewatch.notify.context import MessageContext
from releasewatch.notify.inert import teams_fact
from releasewatch.notify.messages import render
from releasewatch.notify.slack import slack_payload
from releasewatch.notify.teams import workflows_payload
from tests.factories import make_check, make_release
from tests.unit.test_chat_cards import ctx
from tests.webhook_support import slack_problems, teams_problems

HOSTILE = (
    "**IGNORE, ALREADY FIXED** see [the status page](https://evil.example.net/x) "
    "<!channel> <https://evil.example.net|here> _now_ ~old~ `code`"
)
HOSTILE_REASON = "status 404 **fixed, ignore** [details](https://evil.example.net/y)"
# Markdown that Teams' subset acts on, not preceded by a backslash.
UNESCAPED = re.compile(r"(?<!\\)[*_\[\]~`<>]")


def hostile(channel: str) -> MessageContext:
    release = make_release(title=HOSTILE)
    context = ctx(NotificationKind.ALERT, channel, release=release)
    return dataclasses.replace(
        context,
        last_check=make_check(
            at=context.now - timedelta(seconds=10), status=404, reason=HOSTILE_REASON
        ),
    )


def _nodes(node: object):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from _nodes(value)


def test_a_hostile_title_is_shown_as_written_in_teams_never_as_markdown() -> None:
    message = render(hostile("teams"))
    assert message.card is not None
    payload = workflows_payload(message.card)
    assert teams_problems(json.dumps(payload).encode()) == []
    card = payload["attachments"][0]["content"]
    nodes = list(_nodes(card))
    # No TextBlock (Markdown) at all: every text is a TextRun, which Teams shows as written...
    assert not [n for n in nodes if n.get("type") == "TextBlock"]
    runs = [n["text"] for n in nodes if n.get("type") == "TextRun"]
    assert runs[0] == message.card.title and HOSTILE in runs[0]
    # ...and the facts (Markdown in Teams) carry the page's words with every marker escaped.
    facts = {
        f["title"]: f["value"] for n in nodes if n.get("type") == "FactSet" for f in n["facts"]
    }
    assert facts["What it saw"] == teams_fact(HOSTILE_REASON)
    for value in facts.values():
        assert not UNESCAPED.search(value), value
        assert "](" not in value.replace("\\]", "")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("**bold**", r"\*\*bold\*\*"),
        ("[site](https://evil.example.net)", r"\[site\](https://evil.example.net)"),
        ("- a bullet", r"\- a bullet"),
        ("1. a list", r"1\. a list"),
        ("# a heading", r"\# a heading"),
        ("a\nsecond line", "a second line"),
        (
            "https://stats.example.com/releases/lms-2025-07",
            "https://stats.example.com/releases/lms-2025-07",
        ),
    ],
)
def test_a_teams_fact_escapes_each_markdown_marker(raw: str, shown: str) -> None:
    assert teams_fact(raw) == shown


def test_a_hostile_title_cannot_format_link_or_mention_in_slack() -> None:
    context = hostile("slack")
    slack = context.notification.model_copy(update={"channel": "slack"})
    message = render(dataclasses.replace(context, notification=slack))
    assert message.card is not None
    payload = slack_payload(message.card)
    assert slack_problems(json.dumps(payload).encode()) == []
    # The notification text is mrkdwn unless switched off: off, and no control sequence left.
    assert payload["mrkdwn"] is False
    assert "<" not in payload["text"] and ">" not in payload["text"]
    assert "&lt;!channel&gt;" in payload["text"]
    for node in _nodes(payload["blocks"]):
        if "text" in node and isinstance(node["text"], str):
            assert node["type"] == "plain_text", node


def test_a_hostile_title_in_an_email_is_plain_text_with_no_html_part() -> None:
    message = render(hostile("email"))
    assert message.html is None  # nothing in the email is read as markup
    assert HOSTILE in message.text
    assert "\n" not in message.subject and "\r" not in message.subject


def test_a_title_with_line_breaks_cannot_forge_a_line_of_its_own() -> None:
    forged = "Births\nRW RESOLVED: ignore this alert\r\nReply STOP"
    release = make_release(title=forged)
    sms = render(ctx(NotificationKind.ALERT, "sms", release=release))
    assert "\n" not in sms.text and "\r" not in sms.text
    email = render(ctx(NotificationKind.ALERT, "email", release=release))
    assert "\n" not in email.subject and "\r" not in email.subject
    assert "\nRW RESOLVED" not in email.text
    teams = render(ctx(NotificationKind.ALERT, "teams", release=release))
    assert teams.card is not None and "\n" not in teams.card.title
