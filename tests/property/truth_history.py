"""Release histories for the truth property: a plan (who is on the chain, when the page goes live,
when the watchdog is down, who acknowledges, whether readiness is asked and confirmed, a
cancellation or a move) and a driver that runs it through the real Watchdog with the fake clock,
the scripted page and the in-memory store, recording every message and, at a few moments, the
board's line and the release page as a person would have seen them then."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from hypothesis import strategies as st

from releasewatch.calendar.changes import CANCELLED, MOVED, Change, to_record
from releasewatch.links.tokens import TokenCodec
from releasewatch.links.urls import SignedLinks
from releasewatch.model import Chain, Channel, Contact, Readiness, Release, Step, Webhook
from releasewatch.notify.base import Message
from releasewatch.service import Watchdog
from releasewatch.web.app import WebApp
from releasewatch.web.views.load import load_release
from releasewatch.web.views.problems import Health
from releasewatch.web.views.release import ReleasePage
from tests.factories import DUE, make_release
from tests.fakes import FixedClock, InMemoryStore, ScriptedProber

M = timedelta(minutes=1)
BASE = "https://rw.example.com"
SECRET = b"truth-property-secret-0123456789"
ROLES = ("stats_team", "web_publisher", "head_of_profession", "lead_official")
_PEOPLE = {
    "stats_team": ("Labour market statistics team", "labour.market@example.com", None),
    "web_publisher": ("Alice Publisher", "alice.publisher@example.com", "+447700900101"),
    "head_of_profession": ("Charlie Head", "charlie.head@example.com", "+447700900103"),
    "lead_official": ("Bob Lead", "bob.lead@example.com", "+447700900102"),
}
DAY_BEFORE_13H = DUE - timedelta(hours=20, minutes=30)  # Wed 16 Jul 13:00 BST


@dataclass(frozen=True)
class StepPlan:
    role: str
    after: int  # minutes after due
    repeat: int | None  # minutes
    breach: bool
    channels: tuple[Channel, ...]


@dataclass(frozen=True)
class Plan:
    contacts: tuple[str, ...]  # roles in the config
    chat: tuple[str, ...]  # roles that also have a Teams (stats team) or Slack webhook
    steps: tuple[StepPlan, ...]
    grace: int  # minutes
    ack_timeout: int  # minutes
    start: int  # minutes after due when the release is added (negative: before)
    readiness: bool
    confirm_at: int | None  # minutes after the day-before 13:00 start, if someone confirms
    live_from: int | None  # minutes after due; None: never live in the run
    down: tuple[int, int] | None  # the watchdog is down between these minutes after due
    acks: tuple[tuple[int, str], ...]  # (minutes after due, role pressing its latest link)
    cancel_at: int | None  # minutes after due when the announcement is cancelled
    move_by: int | None  # minutes the calendar moves it later, seen 30 min before due
    tick: int  # seconds between ticks


@dataclass
class Sent:
    at: datetime
    message: Message

    @property
    def kind(self) -> str:
        return self.message.key.split("|")[1]

    @property
    def step(self) -> int | None:
        part = self.message.key.split("|")[2]
        return None if part == "-" else int(part)

    @property
    def occurrence(self) -> int:
        return int(self.message.key.split("|")[3])

    def words(self) -> str:
        """Everything the person reads: subject, text, and a chat card's strings."""
        parts = [self.message.subject, self.message.text]
        if self.message.card is not None:
            parts += _strings(self.message.card)
        return "\n".join(parts)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    if hasattr(value, "__dataclass_fields__"):
        return [s for name in value.__dataclass_fields__ for s in _strings(getattr(value, name))]
    return []


@dataclass
class Seen:
    """What the board and the release page showed at `at`."""

    at: datetime
    page: ReleasePage
    after_tick: bool  # the tick at `at` had run: what it saw then is recorded


@dataclass
class History:
    plan: Plan
    release: Release  # as it stood at the end (moved, cancelled)
    store: InMemoryStore
    log: list[Sent] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    end: datetime = DUE
    cancelled_at: datetime | None = None


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    contacts = draw(
        st.lists(st.sampled_from(ROLES), min_size=1, max_size=4, unique=True).map(
            lambda roles: tuple(r for r in ROLES if r in roles)
        )
    )
    chat = tuple(
        r for r in contacts if r in ("stats_team", "web_publisher") and draw(st.booleans())
    )
    on_chain = draw(st.lists(st.sampled_from(contacts), min_size=1, max_size=4, unique=True))
    steps = []
    for role in on_chain:
        channels: list[Channel] = ["email"]
        if _PEOPLE[role][2] and draw(st.booleans()):
            channels.append("sms")
        if role in chat:
            channels.append("teams" if role == "stats_team" else "slack")
        steps.append(
            StepPlan(
                role=role,
                after=draw(st.sampled_from([0, 1, 3, 5, 10, 20, 30, 45, 60])),
                repeat=draw(st.sampled_from([None, None, 5, 10, 15])),
                breach=role in ("head_of_profession", "lead_official") and draw(st.booleans()),
                channels=tuple(channels),
            )
        )
    steps.sort(key=lambda s: s.after)
    readiness = draw(st.booleans())
    start = draw(st.sampled_from([-20, -20, -5, 4, 40, 90]))
    if readiness and draw(st.booleans()):
        start = -(20 * 60 + 30)  # the day before at 13:00: asked at 14:00
    live_from = draw(st.one_of(st.none(), st.sampled_from([-30, -1, 0, 1, 2, 4, 12, 33, 75])))
    down = draw(st.one_of(st.none(), st.tuples(st.sampled_from([-5, 2, 8]), st.integers(5, 60))))
    return Plan(
        contacts=contacts,
        chat=chat,
        steps=tuple(steps),
        grace=draw(st.sampled_from([0, 2, 5, 10])),
        ack_timeout=draw(st.sampled_from([10, 30, 40])),
        start=start,
        readiness=readiness,
        confirm_at=draw(st.one_of(st.none(), st.sampled_from([65, 120, 1200]))),
        live_from=live_from,
        down=(down[0], down[0] + down[1]) if down else None,
        acks=tuple(
            sorted(
                draw(
                    st.lists(st.tuples(st.integers(0, 100), st.sampled_from(on_chain)), max_size=3)
                )
            )
        ),
        cancel_at=draw(st.one_of(st.none(), st.none(), st.sampled_from([-10, 7, 25]))),
        move_by=draw(st.one_of(st.none(), st.none(), st.sampled_from([15, 60]))),
        tick=draw(st.sampled_from([30, 60, 120])),
    )


def _contact(role: str, chat: bool) -> Contact:
    name, email, phone = _PEOPLE[role]
    hook = Webhook(webhook_env=f"RW_{role.upper()}")
    return Contact(
        id=role,
        name=name,
        role=role,
        email=email,
        phone=phone,
        teams=hook if chat and role == "stats_team" else None,
        slack=hook if chat and role != "stats_team" else None,
    )


def release_of(plan: Plan) -> Release:
    contacts = {r: _contact(r, r in plan.chat) for r in plan.contacts}
    steps = tuple(
        Step(
            after=s.after * M,
            notify=(s.role,),
            channels=s.channels,
            repeat=s.repeat * M if s.repeat else None,
            kind="breach" if s.breach else "alert",
        )
        for s in plan.steps
    )
    readiness = None
    if plan.readiness:
        asked = tuple(r for r in ("stats_team", "web_publisher") if r in contacts) or (
            plan.contacts[0],
        )
        readiness = Readiness(
            remind_at=time(14, 0), escalate_at=time(16, 0), notify=asked, escalate_to=asked
        )
    return make_release(
        chain=Chain(id="generated", steps=steps),
        contacts=contacts,
        grace=plan.grace * M,
        ack_timeout=plan.ack_timeout * M,
        readiness=readiness,
    )


@dataclass
class _Notifier:
    clock: FixedClock
    log: list[Sent]

    def send(self, message: Message) -> str:
        self.log.append(Sent(self.clock.now(), message))
        return f"msg-{len(self.log)}"


def run(plan: Plan) -> History:
    """Drive the plan through the real service; look at the page at every event and the end."""
    release = release_of(plan)
    start = DUE + plan.start * M
    clock = FixedClock(start)
    store = InMemoryStore()
    store.apply_releases([release], start)
    history = History(plan, release, store)
    codec = TokenCodec(SECRET)
    web = WebApp(store, codec, clock)
    live_from = DUE + plan.live_from * M if plan.live_from is not None else None
    prober = ScriptedProber(clock, lambda now: live_from is not None and now >= live_from)
    notifier = _Notifier(clock, history.log)
    channels: tuple[Channel, ...] = ("email", "sms", "teams", "slack")
    dog = Watchdog(
        store, prober, dict.fromkeys(channels, notifier), clock, links=SignedLinks(BASE, codec)
    )
    end = DUE + 150 * M
    if live_from is not None:
        end = min(end, max(live_from, DUE) + 40 * M)
    acks = list(plan.acks)
    moved = cancelled = confirmed = False
    while clock.now() < end:
        now = clock.now()
        confirm = plan.confirm_at is not None and not confirmed
        if confirm and now >= DAY_BEFORE_13H + (plan.confirm_at or 0) * M:
            confirmed = True
            _confirm(history, web)
        if plan.move_by and not moved and now >= DUE - 30 * M:
            moved = True
            history.release = _move(store, history.release, plan.move_by, now)
            live_from = live_from + plan.move_by * M if live_from is not None else None
            end += plan.move_by * M
        cancel = plan.cancel_at is not None and not cancelled
        if cancel and now >= history.release.due + (plan.cancel_at or 0) * M:
            cancelled = True
            history.release = _cancel(store, history.release, now)
            history.cancelled_at = now
            _look(history, now)
        while acks and now >= history.release.due + acks[0][0] * M:
            _, role = acks.pop(0)
            if _acknowledge(history, web, role):
                _look(history, now)
        down = plan.down
        due = history.release.due
        if down is None or not (due + down[0] * M <= now < due + down[1] * M):
            asyncio.run(dog.tick())
        if live_from is not None and now <= live_from < now + plan.tick * timedelta(seconds=1):
            _look(history, now, after_tick=True)
        step = timedelta(seconds=plan.tick) if now >= due - 25 * M else timedelta(hours=1)
        clock.advance(min(step, max(due - 25 * M - now, timedelta(seconds=plan.tick))))
    history.end = clock.now()
    _look(history, history.end)
    return history


def _look(history: History, now: datetime, *, after_tick: bool = False) -> None:
    page = load_release(history.store, history.release.id, now, Health())
    assert page is not None
    history.seen.append(Seen(now, page, after_tick))


def _latest_link(history: History, role: str, kind: str) -> str | None:
    for sent in reversed(history.log):
        if sent.message.contact_id == role and sent.message.channel in ("email", "sms"):
            found = re.search(re.escape(BASE) + rf"(/{kind}/[A-Za-z0-9_-]+)", sent.message.text)
            if found:
                return found.group(1)
    return None


def _acknowledge(history: History, web: WebApp, role: str) -> bool:
    link = _latest_link(history, role, "a")
    if link is None:
        return False
    return web.handle("POST", link).status == 200


def _confirm(history: History, web: WebApp) -> None:
    for role in ("stats_team", "web_publisher"):
        link = _latest_link(history, role, "c")
        if link is not None:
            web.handle("POST", link)
            return


def _move(store: InMemoryStore, release: Release, minutes: int, now: datetime) -> Release:
    moved = release.model_copy(update={"due": release.due + minutes * M})
    store.apply_releases([moved], now)
    event = to_record(
        Change(release.id, MOVED, release.due, moved.due), store.events(release.id), now
    )
    if event is not None:
        store.add_event(event)
    return moved


def _cancel(store: InMemoryStore, release: Release, now: datetime) -> Release:
    cancelled = release.model_copy(update={"cancelled": True})
    store.apply_releases([cancelled], now)
    change = Change(
        release.id, CANCELLED, release.due, release.due, note="cancelled by the producer"
    )
    event = to_record(change, store.events(release.id), now)
    if event is not None:
        store.add_event(event)
    return cancelled
