"""Test data: a release with DESIGN.md's default chain, checks and notifications.

Only example.com addresses and Ofcom's drama numbers (+447700900000..+447700900999) appear here.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from releasewatch.model import (
    Chain,
    Channel,
    Check,
    Contact,
    LiveRule,
    Notification,
    NotificationKind,
    Release,
    Step,
)

DUE = datetime(2025, 7, 17, 8, 30, tzinfo=UTC)  # 09:30 BST

CONTACTS: dict[str, Contact] = {
    "stats_team": Contact(
        id="stats_team", name="Labour market statistics team", role="stats_team",
        email="labour.market@example.com",
    ),
    "web_publisher": Contact(
        id="web_publisher", name="Alice Publisher", role="web_publisher",
        email="alice.publisher@example.com", phone="+447700900101",
    ),
    "lead_official": Contact(
        id="lead_official", name="Bob Lead", role="lead_official",
        email="bob.lead@example.com", phone="+447700900102",
    ),
    "head_of_profession": Contact(
        id="head_of_profession", name="Charlie Head", role="head_of_profession",
        email="charlie.head@example.com", phone="+447700900103",
    ),
}  # fmt: skip

DEFAULT_CHAIN = Chain(
    id="default",
    steps=(
        Step(after=timedelta(minutes=5), notify=("stats_team",), channels=("email",)),
        Step(
            after=timedelta(minutes=10),
            notify=("web_publisher",),
            channels=("sms", "email"),
            repeat=timedelta(minutes=10),
        ),
        Step(after=timedelta(minutes=30), notify=("lead_official",), channels=("email",)),
        Step(
            after=timedelta(minutes=60),
            notify=("head_of_profession",),
            channels=("email",),
            kind="breach",
        ),
    ),
)


def make_release(
    id: str = "lms-2025-07",
    due: datetime = DUE,
    **overrides: Any,
) -> Release:
    fields: dict[str, Any] = {
        "id": id,
        "title": "Labour market overview, UK: July 2025",
        "url": f"https://stats.example.com/releases/{id}",
        "due": due,
        "producer": "Office for Example Statistics",
        "rule": LiveRule(contains=("Labour market overview",), not_contains=("Release date:",)),
        "chain": DEFAULT_CHAIN,
        "contacts": CONTACTS,
    }
    fields.update(overrides)
    return Release(**fields)


def make_check(
    release_id: str = "lms-2025-07",
    at: datetime = DUE,
    *,
    live: bool = False,
    **overrides: Any,
) -> Check:
    fields: dict[str, Any] = {
        "release_id": release_id,
        "at": at,
        "url": f"https://stats.example.com/releases/{release_id}?rwcb=1",
        "live": live,
        "reason": "live rule satisfied" if live else "announcement still shown",
        "status": 200,
        "final_url": f"https://stats.example.com/releases/{release_id}",
        "age": "0",
        "cache_control": "no-cache",
        "elapsed_ms": 120.0,
    }
    fields.update(overrides)
    return Check(**fields)


def make_notification(
    release_id: str = "lms-2025-07",
    kind: NotificationKind = NotificationKind.ALERT,
    contact_id: str = "stats_team",
    channel: Channel = "email",
    *,
    step: int | None = 0,
    occurrence: int = 0,
    due_at: datetime | None = None,
    **overrides: Any,
) -> Notification:
    fields: dict[str, Any] = {
        "key": Notification.make_key(release_id, kind, contact_id, channel, step, occurrence),
        "release_id": release_id,
        "kind": kind,
        "contact_id": contact_id,
        "channel": channel,
        "due_at": due_at if due_at is not None else DUE + timedelta(minutes=5),
        "step": step,
        "occurrence": occurrence,
    }
    fields.update(overrides)
    return Notification(**fields)
