"""A chat card (Teams, Slack) from the email's own wording: pure, no new sentences.

The card is the email laid out for a chat channel: its subject as the title, its paragraphs
(without the greeting, the sign-off and the link lines), the last check's details as a table
of facts, and the links as buttons. Reusing the email's sentences keeps every text as true as
the email is (tests/unit/test_message_truth.py holds the email to that); the only words added
here are the button and fact labels.
"""

from __future__ import annotations

from ..model import Check, NotificationKind
from ..timefmt import delay_text, uk_datetime, uk_datetime_seconds, uk_time
from .base import Card, CardLink
from .context import MessageContext, check_lines

MAX_TEXT = 2000  # one paragraph or fact: Slack's limit for a field, far inside Teams' card size
MAX_TITLE = 150  # Slack's header block limit; Teams shows the same title
_ESCALATION = (NotificationKind.ALERT, NotificationKind.BREACH)
_WITH_CHECK = (
    *_ESCALATION,
    NotificationKind.EARLY,
    NotificationKind.ACK_NOTICE,
    NotificationKind.PAGE_LOST,
    NotificationKind.PAGE_BACK,
)
_TONE = {
    NotificationKind.ALERT: "attention",
    NotificationKind.BREACH: "attention",
    NotificationKind.EARLY: "attention",
    NotificationKind.PAGE_LOST: "attention",
    NotificationKind.RESOLVED: "good",
    NotificationKind.PAGE_BACK: "good",
    NotificationKind.READY_ESCALATE: "warning",
    NotificationKind.READY_LAST_CALL: "warning",
    NotificationKind.ROTA_GAP: "warning",
    NotificationKind.DATE_CHANGED: "warning",
    NotificationKind.CANCEL_NOTICE: "warning",
    NotificationKind.GONE_NOTICE: "warning",
    NotificationKind.UNCONFIRMED_NOTICE: "warning",
}
_CALENDAR = (
    NotificationKind.DATE_CHANGED,
    NotificationKind.CANCEL_NOTICE,
    NotificationKind.GONE_NOTICE,
    NotificationKind.UNCONFIRMED_NOTICE,
)
_NOTE_PREFIXES = ("Also told:", "Could not be reached", "Next:", "(Stops reminders")
# The email points at its link line; on the card the link is the Acknowledge button.
_LINK_PHRASE = ("The link opens a page with a button", "Acknowledge opens a page with a button")


def card(ctx: MessageContext, subject: str, email_text: str) -> Card:
    n, r = ctx.notification, ctx.release
    links: list[CardLink] = []
    if ctx.ack_url and n.kind in _ESCALATION:
        links.append(CardLink("Acknowledge", ctx.ack_url, primary=True))
    if ctx.confirm_url:
        links.append(CardLink("Confirm it is ready", ctx.confirm_url, primary=True))
    if n.kind.value.startswith("ready_"):
        links.append(CardLink("Open the page", r.publication_url or r.url))
    elif n.kind in _CALENDAR:
        links.append(CardLink("Open the announcement", r.url))
    else:
        links.append(CardLink("Open the page", r.url))
    if ctx.release_url:
        links.append(CardLink("Release status", ctx.release_url))
    facts = _facts(ctx)
    skip = set(check_lines(ctx.last_check)) if n.kind in _WITH_CHECK else set()
    urls = [link.url for link in links]
    paragraphs: list[str] = []
    notes: list[str] = []
    for block in email_text.split("\n\n"):
        kept = [
            line
            for line in block.splitlines()
            if line not in skip
            and not line.startswith("Dear ")
            and line.strip() not in ("-- releasewatch", "releasewatch")
            and not any(url in line for url in urls)
        ]
        for line in kept:
            line = line.replace(*_LINK_PHRASE)
            (notes if line.startswith(_NOTE_PREFIXES) else paragraphs).append(_clip(line))
    return Card(
        title=_clip(subject, MAX_TITLE),
        tone=_TONE.get(n.kind, "default"),
        paragraphs=tuple(paragraphs),
        facts=tuple((label, _clip(value)) for label, value in facts),
        notes=tuple(notes),
        links=tuple(links),
    )


def _facts(ctx: MessageContext) -> list[tuple[str, str]]:
    n, r = ctx.notification, ctx.release
    facts = [("Due", uk_datetime(r.due))]
    if n.kind in _ESCALATION:
        facts.append(("Late by", f"{delay_text(ctx.now - r.due)} at {uk_time(ctx.now)}"))
    if n.kind in _WITH_CHECK:
        facts += check_facts(ctx.last_check)
    return facts


def check_facts(check: Check | None) -> list[tuple[str, str]]:
    """The last check as the email's check lines give it, label by label."""
    if check is None:
        return [("Last check", "No check has completed yet.")]
    out = [("Last check", uk_datetime_seconds(check.at)), ("What it saw", check.reason)]
    if check.status is not None:
        out.append(("Status", str(check.status)))
    if check.error:
        out.append(("Error", check.error))
    if check.final_url:
        out.append(("Final URL", check.final_url))
    if check.judged_url and check.judged_url != check.final_url:
        out.append(("Judged", check.judged_url))
    if check.redirects:
        out.append(("Redirects", " -> ".join(check.redirects)))
    cache = [f"{name}: {value}" for name, value in check.cache_headers()]
    if cache:
        out.append(("Cache", "; ".join(cache)))
    return out


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
