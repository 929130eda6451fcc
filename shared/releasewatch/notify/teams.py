"""Microsoft Teams by a Workflows webhook: an Adaptive Card in a message envelope.

Office 365 connectors (incoming webhooks on webhook.office.com) are retired; a Teams channel or
chat now takes posts through the Workflows template "Post to a channel when a webhook request is
received", whose URL carries its signature (`sig=`). That flow posts `attachments[0].content` as
the card, and renders Adaptive Cards up to version 1.4 (1.5 cards show "this card couldn't be
displayed": microsoft/AdaptiveCards#8965), so the card is 1.4 and uses nothing newer.

Every text is inert (notify/inert.py): a release title or a page's words are shown as written,
never read as Markdown, so no title can bold "IGNORE, ALREADY FIXED" or hide a link. Text goes
in RichTextBlock TextRuns (Teams never reads a TextRun as Markdown); facts are escaped.

The card: the title in a coloured container, the email's paragraphs, the facts (due time, how
late, the last check), the notes (who else was told, what happens next), and Action.OpenUrl
buttons (Acknowledge opens the ack page, which acts only when its own button is pressed). The
whole post must stay under Teams' 28 KB message limit.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import SendError
from .base import Card, Message
from .inert import teams_fact
from .webhook import WebhookPoster

CARD_VERSION = "1.4"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_POST_BYTES = 28 * 1024
_STYLE = {"attention": "attention", "warning": "warning", "good": "good"}


def adaptive_card(card: Card) -> dict[str, Any]:
    """The Adaptive Card (schema 1.4) for a chat card."""
    header: dict[str, Any] = {
        "type": "Container",
        "items": [plain_text(card.title, weight="Bolder", size="Medium")],
    }
    if card.tone in _STYLE:
        header["style"] = _STYLE[card.tone]
    body: list[dict[str, Any]] = [header]
    body += [plain_text(p) for p in card.paragraphs]
    if card.facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [
                    {"title": teams_fact(label), "value": teams_fact(value)}
                    for label, value in card.facts
                ],
            }
        )
    body += [plain_text(note, isSubtle=True, size="Small") for note in card.notes]
    actions = []
    for link in card.links:
        action: dict[str, Any] = {"type": "Action.OpenUrl", "title": link.title, "url": link.url}
        if link.primary:
            action["style"] = "positive"
        actions.append(action)
    content: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": CARD_SCHEMA,
        "version": CARD_VERSION,
        "fallbackText": card.title,
        "body": body,
    }
    if actions:
        content["actions"] = actions
    return content


def plain_text(text: str, **style: Any) -> dict[str, Any]:
    """A paragraph shown exactly as written: a RichTextBlock's TextRun is never Markdown."""
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def workflows_payload(card: Card) -> dict[str, Any]:
    """The body Teams Workflows' webhook trigger expects: a message with one card attachment."""
    return {
        "type": "message",
        "attachments": [
            {"contentType": CONTENT_TYPE, "contentUrl": None, "content": adaptive_card(card)}
        ],
    }


class TeamsNotifier:
    """Posts each message's card to the contact's Teams Workflows webhook (202 Accepted)."""

    def __init__(self, poster: WebhookPoster | None = None) -> None:
        self.poster = poster or WebhookPoster("Teams")

    def send(self, message: Message) -> str | None:
        if message.channel != "teams" or message.card is None:
            raise SendError(f"Teams posts cards, not {message.channel} messages", permanent=True)
        payload = workflows_payload(message.card)
        size = len(json.dumps(payload).encode())
        if size > MAX_POST_BYTES:
            raise SendError(
                f"the Teams card is {size} bytes, over Teams' {MAX_POST_BYTES} byte limit",
                permanent=True,
            )
        answer = self.poster.post(message.to, payload, message.key)
        # Workflows answers 202 with an empty body; a run id, when it sends one, traces the post.
        run_id = answer.headers.get("x-ms-workflow-run-id")
        return str(run_id) if run_id else None
