"""Chat cards (Teams, Slack): the email's own words, laid out; valid for Teams and Slack."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Any

import pytest

from releasewatch.links.tokens import TokenCodec
from releasewatch.links.urls import SignedLinks
from releasewatch.model import Contact, NotificationKind, Readiness, Webhook
from releasewatch.notify.base import Card
from releasewatch.notify.context import MessageContext
from releasewatch.notify.messages import render
from releasewatch.notify.slack import slack_payload
from releasewatch.notify.teams import workflows_payload
from tests.factories import CONTACTS, DUE, make_check, make_notification, make_release
from tests.webhook_support import slack_problems, teams_problems

M = timedelta(minutes=1)
BASE = "https://acks.releasewatch.example.gov.uk"
LINKS = SignedLinks(BASE, TokenCodec(b"k" * 32))
ALICE = CONTACTS["web_publisher"].model_copy(
    update={"teams": Webhook(webhook_env="RW_TEAMS_WEB"), "slack": Webhook(webhook_env="RW_SL")}
)
CHANNEL_ONLY = Contact(
    id="stats_channel",
    name="Statistics team channel",
    teams=Webhook(webhook_env="RW_TEAMS"),
    slack=Webhook(webhook_ssm="/releasewatch/webhooks/stats"),
)


def ctx(kind: NotificationKind, channel: str = "teams", **kw: Any) -> MessageContext:
    release = kw.pop("release", make_release())
    contact = kw.pop("contact", ALICE)
    now = kw.pop("now", DUE + 12 * M)
    step = kw.pop("step", 1)
    notification = make_notification(
        kind=kind, contact_id=contact.id, channel=channel, step=step, due_at=DUE + 10 * M
    )
    ack_url = None
    if kind in (NotificationKind.ALERT, NotificationKind.BREACH):
        ack_url = LINKS.ack_url(release.id, contact.id, step, now)
    fields: dict[str, Any] = dict(
        notification=notification,
        release=release,
        contact=contact,
        now=now,
        last_check=make_check(
            at=now - 10 * timedelta(seconds=1),
            status=404,
            reason="status 404, expected 200",
            judged_url="https://stats.example.com/releases/lms-2025-07",
            final_url="https://stats.example.com/releases/lms-2025-07",
        ),
        first_failure_at=DUE,
        others_told=("Labour market statistics team",),
        next_step=(DUE + 30 * M, ("Bob Lead",)),
        ack_url=ack_url,
        release_url=LINKS.release_url(release.id),
        live_at=DUE + 25 * M,
        acked_by="Alice Publisher",
        acked_at=DUE + 11 * M,
    )
    fields.update(kw)
    return MessageContext(**fields)


def card_of(context: MessageContext) -> Card:
    message = render(context)
    assert message.card is not None
    return message.card


def test_an_alert_card_has_title_state_due_lateness_last_check_and_an_acknowledge_button() -> None:
    message = render(ctx(NotificationKind.ALERT))
    card = message.card
    assert card is not None
    assert message.to == "env:RW_TEAMS_WEB"  # the secret's name, never its value
    assert card.title == (
        "NOT LIVE: Labour market overview, UK: July 2025 (due 09:30 BST, 12 min late)"
    )
    assert card.tone == "attention"
    assert card.paragraphs[0] == (
        "'Labour market overview, UK: July 2025' was due at Thu 17 Jul 2025 09:30 BST and is "
        "not live: 12 min late at 09:42 BST."
    )
    facts = dict(card.facts)
    assert facts["Due"] == "Thu 17 Jul 2025 09:30 BST"
    assert facts["Late by"] == "12 min at 09:42 BST"
    assert facts["Last check"] == "Thu 17 Jul 2025 09:41:50 BST"
    assert facts["What it saw"] == "status 404, expected 200"
    assert facts["Status"] == "404"
    assert facts["Final URL"] == "https://stats.example.com/releases/lms-2025-07"
    assert "Also told: Labour market statistics team." in card.notes
    assert "Next: Bob Lead at 10:00 BST if still not live." in card.notes
    # The email's ack explanation, pointing at the button rather than a link line.
    assert any("Acknowledge opens a page with a button" in n for n in card.notes)
    titles = [(link.title, link.primary) for link in card.links]
    assert titles == [("Acknowledge", True), ("Open the page", False), ("Release status", False)]
    assert card.links[0].url.startswith(f"{BASE}/a/")
    # No greeting, sign-off or bare link lines: those are the buttons.
    everything = " ".join([*card.paragraphs, *card.notes])
    assert "Dear " not in everything and "-- releasewatch" not in everything
    assert BASE not in everything and "https://stats.example.com" not in everything


def test_every_card_sentence_is_a_sentence_of_the_email() -> None:
    # The card adds no wording of its own beyond labels: each text is the email's, so it is
    # exactly as true (the one rewrite points the ack explanation at the button).
    for kind in (
        NotificationKind.ALERT,
        NotificationKind.BREACH,
        NotificationKind.EARLY,
        NotificationKind.RESOLVED,
        NotificationKind.ACK_NOTICE,
        NotificationKind.PAGE_LOST,
        NotificationKind.PAGE_BACK,
    ):
        email = render(ctx(kind, channel="email")).text
        card = card_of(ctx(kind))
        for text in (*card.paragraphs, *card.notes):
            assert text.replace("Acknowledge opens", "The link opens") in email, (kind, text)


def test_only_escalation_cards_carry_an_acknowledge_button() -> None:
    for kind in NotificationKind:
        if kind in (NotificationKind.REPORT,) or kind.value.startswith(("ready_", "date_")):
            continue
        if kind in (
            NotificationKind.CANCEL_NOTICE,
            NotificationKind.GONE_NOTICE,
            NotificationKind.UNCONFIRMED_NOTICE,
        ):
            continue
        card = card_of(ctx(kind))
        acks = [link for link in card.links if link.title == "Acknowledge"]
        wanted = kind in (NotificationKind.ALERT, NotificationKind.BREACH)
        assert bool(acks) == wanted, kind


def test_an_alert_without_an_ack_link_has_no_acknowledge_button() -> None:
    card = card_of(ctx(NotificationKind.ALERT, ack_url=None))
    assert "Acknowledge" not in [link.title for link in card.links]


def test_the_resolved_card_says_live_and_how_late() -> None:
    card = card_of(ctx(NotificationKind.RESOLVED))
    assert card.title == "RESOLVED: Labour market overview, UK: July 2025 is live, 25 min late"
    assert card.tone == "good"
    assert "Late by" not in dict(card.facts)


def readiness_ctx(kind: NotificationKind) -> MessageContext:
    release = make_release(readiness=Readiness(notify=("web_publisher",)))
    return ctx(
        kind,
        release=release,
        now=DUE - timedelta(hours=19),
        confirm_url=f"{BASE}/c/token",
        step=None,
    )


def calendar_ctx(kind: NotificationKind) -> MessageContext:
    change = {
        "old_due": DUE.isoformat(),
        "new_due": (DUE + timedelta(days=7)).isoformat(),
        "note": "Moved to align with another release",
    }
    return ctx(kind, change=change, step=None, now=DUE - timedelta(days=2))


ALL_KINDS = [
    ctx(NotificationKind.ALERT),
    ctx(NotificationKind.ALERT, reminder=2, first_alerted_at=DUE + 10 * M),
    ctx(NotificationKind.BREACH, step=3, now=DUE + 61 * M),
    ctx(NotificationKind.EARLY, live_at=DUE - 5 * M),
    ctx(NotificationKind.RESOLVED),
    ctx(NotificationKind.ACK_NOTICE),
    ctx(NotificationKind.PAGE_LOST),
    ctx(NotificationKind.PAGE_BACK),
    ctx(NotificationKind.ALERT, contact=CHANNEL_ONLY, last_check=None),
    readiness_ctx(NotificationKind.READY_REMIND),
    readiness_ctx(NotificationKind.READY_ESCALATE),
    readiness_ctx(NotificationKind.READY_LAST_CALL),
    calendar_ctx(NotificationKind.DATE_CHANGED),
    calendar_ctx(NotificationKind.CANCEL_NOTICE),
    calendar_ctx(NotificationKind.GONE_NOTICE),
    calendar_ctx(NotificationKind.UNCONFIRMED_NOTICE),
    ctx(NotificationKind.ROTA_GAP, step=None),
]


@pytest.mark.parametrize("context", ALL_KINDS, ids=lambda c: c.notification.kind.value)
def test_every_kind_makes_a_teams_card_the_adaptive_card_schema_accepts(
    context: MessageContext,
) -> None:
    card = card_of(context)
    raw = json.dumps(workflows_payload(card)).encode()
    assert teams_problems(raw) == []
    assert card.paragraphs, "a card with no words"


@pytest.mark.parametrize("context", ALL_KINDS, ids=lambda c: c.notification.kind.value)
def test_every_kind_makes_slack_blocks_within_slacks_limits(context: MessageContext) -> None:
    slack = context.notification.model_copy(update={"channel": "slack"})
    message = render(dataclasses.replace(context, notification=slack))
    assert message.card is not None and message.to.startswith(("env:", "ssm:"))
    assert slack_problems(json.dumps(slack_payload(message.card)).encode()) == []


def test_the_validator_catches_what_teams_would_not_show() -> None:
    # The loopback webhook's checks are not vacuous: a 1.5 element, a wrong version, an http
    # button and an over-long title are each refused.
    card = card_of(ctx(NotificationKind.ALERT))
    good = workflows_payload(card)

    def problems(change: Any) -> list[str]:
        post = json.loads(json.dumps(good))
        change(post["attachments"][0]["content"])
        return teams_problems(json.dumps(post).encode())

    assert problems(lambda c: c.update(version="1.5"))
    assert problems(lambda c: c["body"].append({"type": "Table", "columns": []}))
    assert problems(lambda c: c["actions"][0].update(url="http://example.com/a/x"))
    assert problems(lambda c: c["body"][0]["items"][0]["inlines"][0].update(text="x" * 151))
    assert problems(lambda c: c["body"].append({"type": "TextBlock", "txt": "typo"}))


def test_a_title_with_markup_characters_stays_plain_in_slack() -> None:
    release = make_release(title="Births *provisional* <data> & _notes_")
    card = card_of(ctx(NotificationKind.ALERT, release=release))
    blocks = slack_payload(card)["blocks"]
    assert blocks[0]["text"] == {"type": "plain_text", "text": card.title, "emoji": False}
