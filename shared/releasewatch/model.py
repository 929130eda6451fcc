"""The domain's nouns: releases, live rules, contacts, chains, checks, events, notifications.

All datetimes are timezone-aware and held in UTC; authoring in Europe/London happens in config.
Models are frozen: a new state is a new object, which keeps the policy pure.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .config.durations import parse_duration

# email/sms: SMTP or SES, and the console or SNS; notify_*: through GOV.UK Notify;
# teams/slack: a chat webhook.
Channel = Literal["email", "sms", "notify_email", "notify_sms", "teams", "slack"]
# What a message's words are written for: a text, or an email (chat cards use the email's words).
Medium = Literal["email", "sms"]
# Chat channels post to a webhook (notify/webhook.py): a team's channel, not one person's device.
WEBHOOK_CHANNELS: tuple[Channel, ...] = ("teams", "slack")
# The order a contact's own channels are tried when a step's channels are not theirs, and for
# one-off notices (ack notices, calendar changes, readiness) sent on a single channel
# (`defaults.transport: notify` makes email and sms go through Notify).
CHANNEL_PREFERENCE: tuple[Channel, ...] = ("email", "sms", "teams", "slack")
StepKind = Literal["alert", "breach"]

E164 = re.compile(r"\+[1-9]\d{7,14}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
IDENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def medium(channel: Channel) -> Medium:
    """What a channel delivers to: an email address or a phone number."""
    return "sms" if channel in ("sms", "notify_sms") else "email"


def counterpart(channel: Channel) -> Channel:
    """The same transport's other medium: where a permanent failure falls back to."""
    swap: dict[Channel, Channel] = {
        "sms": "email",
        "email": "sms",
        "notify_sms": "notify_email",
        "notify_email": "notify_sms",
    }
    return swap[channel]


def validate_duration(value: Any) -> Any:
    # A bare number has no unit: `pre_window: 15` meant 15 minutes, not the 15 seconds
    # pydantic would read; so it is an error that shows the form to write instead.
    if isinstance(value, bool):
        raise ValueError("expected a duration like '15m', '90s' or '1h30m'")
    if isinstance(value, (int, float)):
        shown = int(value) if float(value).is_integer() else value
        raise ValueError(
            f"{value!r} has no unit; write a duration like '{shown}m' (or '{shown}s', '{shown}h')"
        )
    if isinstance(value, str) and not value.startswith("P"):
        return parse_duration(value)
    return value


# Characters that must never reach a message, a subject line or a terminal from config:
# C0/C1 controls (newline, tab, ESC, DEL...), line/paragraph separators, bidi overrides.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def is_control_char(ch: str) -> bool:
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in _BIDI_CONTROLS


def first_control_char(text: str) -> str | None:
    """The first character in `text` that is a control character, or None."""
    return next((ch for ch in text if is_control_char(ch)), None)


def plain_text(value: Any) -> Any:
    """A validator for text from config that ends up in messages and on terminals. Applied
    where text enters (config), not on the stored models: a stored record must always load."""
    if isinstance(value, str):
        bad = first_control_char(value)
        if bad is not None:
            raise ValueError(
                f"contains a control character (U+{ord(bad):04X}); use plain text on one line"
            )
    return value


Duration = Annotated[timedelta, Field(ge=timedelta(0))]
# Every stored time is held in UTC, whatever offset it arrived with, so stores agree byte for byte.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(lambda v: v.astimezone(UTC))]


class Frozen(BaseModel):
    # defer_build: a model's validator is built on its first use, not at import; a poller tick
    # that loads no release never pays for the schemas (issue 19, cold start).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class Shift(Frozen):
    """A stretch of a rota (readiness/rota.py): `contact` is on call from `start` to `end`
    (UTC). Weekly shifts carry Europe/London clock times in `days`/`start_time`/`end_time`
    instead."""

    contact: str
    start: UtcDatetime | None = None
    end: UtcDatetime | None = None
    days: tuple[int, ...] = ()  # weekly: Monday = 0
    start_time: time | None = None
    end_time: time | None = None  # weekly: None = midnight at the end of the day
    level: int = 10  # ICS `[L0]`..`[L9]`: lowest wins on overlap; no prefix ranks last
    override: bool = False  # from the override calendar: wins over every main shift


class Rota(Frozen):
    """Who is on call, as shifts resolved when the config was read (rota.on_call)."""

    shifts: tuple[Shift, ...] = ()
    source: str = "weekly"  # "weekly" or "ics"


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_SSM_NAME = re.compile(r"/[A-Za-z0-9_.\-/]{1,1010}")


class Webhook(Frozen):
    """Where a chat webhook's URL is kept. The URL carries its own signature (Teams' `sig=`,
    Slack's token path): whoever has it can post, so it is never in the config or the store,
    only the name of the environment variable or SSM SecureString that holds it."""

    webhook_env: str | None = None
    webhook_ssm: str | None = None

    @field_validator("webhook_env")
    @classmethod
    def _env(cls, v: str | None) -> str | None:
        if v is not None and not _ENV_NAME.fullmatch(v):
            raise ValueError("expected an environment variable name like RW_TEAMS_STATS")
        return v

    @field_validator("webhook_ssm")
    @classmethod
    def _ssm(cls, v: str | None) -> str | None:
        if v is not None and not _SSM_NAME.fullmatch(v):
            raise ValueError("expected an SSM parameter name like /releasewatch/webhooks/stats")
        return v

    @model_validator(mode="before")
    @classmethod
    def _no_literal_url(cls, data: Any) -> Any:
        if isinstance(data, dict) and "webhook" in data:
            raise ValueError(
                "the webhook URL is a secret (it carries a signature), so it is never written "
                "in the config: put it in an environment variable and give its name as "
                "webhook_env, or on AWS in an SSM SecureString named by webhook_ssm"
            )
        return data

    @model_validator(mode="after")
    def _one_source(self) -> Webhook:
        if (self.webhook_env is None) == (self.webhook_ssm is None):
            raise ValueError("give exactly one of webhook_env or webhook_ssm")
        return self

    @property
    def ref(self) -> str:
        """What a message is addressed to: the secret's name, never its value."""
        return f"env:{self.webhook_env}" if self.webhook_env else f"ssm:{self.webhook_ssm}"


class Contact(Frozen):
    id: str
    name: str
    role: str = ""
    email: str | None = None
    phone: str | None = None
    rota: Rota | None = None  # a rota: its on-call member is told, never this contact
    teams: Webhook | None = None  # a Teams Workflows webhook (a channel, or a person's chat)
    slack: Webhook | None = None  # a Slack incoming webhook

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v is not None and v.count("@") > 1:
            raise ValueError(
                "holds more than one address; give one email address per contact "
                "(add another contact for the second)"
            )
        if v is not None and not EMAIL.fullmatch(v):
            raise ValueError("expected an email address like name@example.com")
        return v

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is not None and not E164.fullmatch(v):
            raise ValueError("expected an E.164 phone number like +447700900123")
        return v

    @model_validator(mode="after")
    def _reachable(self) -> Contact:
        if self.rota is not None:
            if any(self.address(c) is not None for c in CHANNEL_PREFERENCE):
                raise ValueError(
                    "a rota has no email or phone of its own, nor a webhook; its members do"
                )
            return self
        if all(self.address(c) is None for c in CHANNEL_PREFERENCE):
            raise ValueError("a contact needs an email, a phone, or a teams or slack webhook")
        return self

    def address(self, channel: Channel) -> str | None:
        """Where `channel` reaches this contact; for a webhook, the secret's name (Webhook.ref)."""
        if channel in WEBHOOK_CHANNELS:
            hook = self.teams if channel == "teams" else self.slack
            return hook.ref if hook is not None else None
        return self.email if medium(channel) == "email" else self.phone

    def first_channel(self) -> Channel | None:
        """This contact's first channel in CHANNEL_PREFERENCE, for one-off notices."""
        return next((c for c in CHANNEL_PREFERENCE if self.address(c) is not None), None)


class Step(Frozen):
    after: Duration
    notify: tuple[str, ...] = Field(min_length=1)
    channels: tuple[Channel, ...] = ("email",)
    repeat: Duration | None = None
    kind: StepKind = "alert"

    _d = field_validator("after", "repeat", mode="before")(validate_duration)

    @field_validator("repeat")
    @classmethod
    def _repeat_positive(cls, v: timedelta | None) -> timedelta | None:
        if v is not None and v < timedelta(minutes=1):
            raise ValueError("repeat must be at least 1m")
        return v


class Chain(Frozen):
    id: str
    steps: tuple[Step, ...] = Field(min_length=1)


class LiveRule(Frozen):
    status: int = Field(default=200, ge=100, le=599)
    contains: tuple[str, ...] = ()
    not_contains: tuple[str, ...] = ()
    # Strings the page's HTML source must (markup) or must not (not_markup) contain, matched
    # exactly: for a page that states its state only in markup (ONS release pages say
    # data-gtm-release-status="upcoming" on a postponed release whose banner is free text).
    markup: tuple[str, ...] = ()
    not_markup: tuple[str, ...] = ()
    final_url: str | None = None  # a regular expression the final URL must match
    govuk: bool = False
    # Opt out of the default content rule (probe.rules.default_rule, applied by config): live
    # on the status alone.
    status_only: bool = False

    @field_validator("contains", "not_contains", "markup", "not_markup")
    @classmethod
    def _visible(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for text in v:
            if not text.strip():
                raise ValueError("texts to look for must have visible characters")
        return v

    @model_validator(mode="after")
    def _status_only_alone(self) -> LiveRule:
        if self.status_only and (
            self.contains or self.not_contains or self.markup or self.not_markup or self.final_url
        ):
            raise ValueError(
                "status_only cannot be combined with contains, not_contains, markup, not_markup "
                "or final_url"
            )
        if self.status_only and self.govuk:
            raise ValueError("status_only cannot be combined with govuk")
        return self

    @field_validator("final_url")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                re.compile(v)
            except re.error as exc:
                raise ValueError(f"not a valid regular expression: {exc}") from exc
        return v


class Cadence(Frozen):
    """How often to poll in each phase of a release; see policy.next_poll."""

    lookahead: Duration = timedelta(hours=24)  # start polling (sparsely) this long before due
    scheduled: Duration = timedelta(minutes=15)  # before the pre-window: catch a far-early release
    pre: Duration = timedelta(minutes=1)  # in the pre-window
    hot_before: Duration = timedelta(minutes=2)
    hot_after: Duration = timedelta(minutes=15)
    hot: Duration = timedelta(seconds=10)  # due - hot_before .. due + hot_after
    after: Duration = timedelta(minutes=1)
    slow_after: Duration = timedelta(hours=3)
    slow: Duration = timedelta(minutes=5)
    watch_after_live: Duration = timedelta(minutes=30)  # keep confirming a live page this long

    _d = field_validator(
        "lookahead",
        "scheduled",
        "pre",
        "hot_before",
        "hot_after",
        "hot",
        "after",
        "slow_after",
        "slow",
        "watch_after_live",
        mode="before",
    )(validate_duration)

    @model_validator(mode="after")
    def _intervals_positive(self) -> Cadence:
        for name in ("scheduled", "pre", "hot", "after", "slow"):
            if getattr(self, name) < timedelta(seconds=1):
                raise ValueError(f"{name} must be at least 1s")
        return self


Nation = Literal["england", "wales", "scotland", "northern_ireland"]


class Readiness(Frozen):
    """The working-day-before readiness check (readiness/policy.py). Times are Europe/London:
    remind and escalate on the working day before the due date, last call on the due date."""

    remind_at: time = time(14, 0)
    escalate_at: time = time(16, 0)
    last_call: time = time(8, 30)
    nation: Nation = "england"  # whose bank holidays make a day not a working day
    notify: tuple[str, ...] = ()  # contact ids asked to confirm
    escalate_to: tuple[str, ...] = ()  # contact ids told when nobody confirmed by escalate_at


# A release keeps the iCal rota shifts this close to its due time (Release._rota_shifts_near_due).
ROTA_WINDOW = timedelta(days=31)


class Release(Frozen):
    """A release with every default resolved and its chain and contacts embedded."""

    id: str
    title: str
    url: str
    due: UtcDatetime
    producer: str = ""
    rule: LiveRule = Field(default_factory=LiveRule)  # (a factory: not built at import)
    # None: an observed release. It is judged like any other (checks, state, live_at,
    # verdict, all recorded) but nobody is alerted: no chain, readiness or notice is planned.
    chain: Chain | None
    contacts: dict[str, Contact]
    cache_bust_param: str | None = "rwcb"  # None: send no cache-busting query parameter
    pre_window: Duration = timedelta(minutes=15)
    grace: Duration = timedelta(minutes=2)
    ack_timeout: Duration = timedelta(minutes=30)
    cadence: Cadence = Field(default_factory=Cadence)
    cancelled: bool = False
    # The calendar took back its exact date (it is provisional again, e.g. "August to
    # September 2026"): not watched, like a cancelled release, until it has one again.
    # Left out of stored records while None, so a version from before it can still read them
    # (a rollback must not make every record unreadable: records forbid unknown fields).
    unconfirmed: str | None = Field(
        default=None, max_length=200, exclude_if=lambda value: value is None
    )
    allow_loopback: bool = False  # local mode only: permit http://127.0.0.1 targets
    # The expected publication, when it is not `url` itself (url is then its announcement):
    # the release is live when this page is, whether or not the announcement redirects to it.
    publication_url: str | None = None
    readiness: Readiness | None = None  # None: no readiness reminder for this release

    @field_validator("contacts")
    @classmethod
    def _rota_shifts_near_due(
        cls, v: dict[str, Contact], info: ValidationInfo
    ) -> dict[str, Contact]:
        """Keep only the iCal rota shifts within ROTA_WINDOW of the due time: a repeating event
        expands to years of shifts, and every release naming the rota is stored with it and
        read on every tick. A month either side covers the readiness reminder (Easter,
        Christmas) and weeks of steps and repeats; a later one finds nobody on call and goes,
        said so, to the chain's first step."""
        due = info.data.get("due")
        if due is None:
            return v
        low, high = due - ROTA_WINDOW, due + ROTA_WINDOW
        out = dict(v)
        for cid, contact in v.items():
            rota = contact.rota
            if rota is None or rota.source != "ics":
                continue
            keep = tuple(
                s
                for s in rota.shifts
                if s.start is None or s.end is None or (s.end > low and s.start < high)
            )
            if len(keep) != len(rota.shifts):
                trimmed = rota.model_copy(update={"shifts": keep})
                out[cid] = contact.model_copy(update={"rota": trimmed})
        return out

    @model_validator(mode="after")
    def _chain_contacts_known(self) -> Release:
        for step in self.steps:
            for cid in step.notify:
                if cid not in self.contacts:
                    raise ValueError(f"chain {self.chain_id} names unknown contact {cid!r}")
        if self.chain is None and self.readiness is not None:
            raise ValueError("an observed release (no chain) has nobody to ask about readiness")
        if self.readiness is not None:
            for cid in (*self.readiness.notify, *self.readiness.escalate_to):
                if cid not in self.contacts:
                    raise ValueError(f"readiness names unknown contact {cid!r}")
        return self

    @property
    def observed(self) -> bool:
        """Watched and judged, alerting nobody: it has no chain."""
        return self.chain is None

    @property
    def steps(self) -> tuple[Step, ...]:
        """The chain's steps; none for an observed release."""
        return self.chain.steps if self.chain is not None else ()

    @property
    def chain_id(self) -> str | None:
        return self.chain.id if self.chain is not None else None

    @property
    def stopped(self) -> bool:
        """Nothing is watched or sent for it (but the notice saying so): cancelled, or its
        exact date taken back by the calendar."""
        return self.cancelled or self.unconfirmed is not None

    @property
    def stopped_because(self) -> str:
        if self.unconfirmed is not None:
            return f"its date is no longer confirmed ({self.unconfirmed})"
        return "the release was cancelled"

    def breach_contacts(self) -> list[str]:
        """Contacts on the chain's breach steps (who hears of an early release)."""
        seen: dict[str, None] = {}
        for step in self.steps:
            if step.kind == "breach":
                seen.update(dict.fromkeys(step.notify))
        return list(seen)


class ReleaseState(StrEnum):
    SCHEDULED = "scheduled"
    WATCHING = "watching"
    LIVE = "live"
    LATE = "late"
    LIVE_LATE = "live_late"
    EARLY = "early"
    CANCELLED = "cancelled"

    @property
    def is_live(self) -> bool:
        return self in (ReleaseState.LIVE, ReleaseState.LIVE_LATE, ReleaseState.EARLY)


class PublicCopy(Frozen):
    """What the public path served (a plain request: no cache-busting parameter, no no-cache
    headers), beside the origin's answer the Check itself records. A CDN cannot serve what the
    origin never had, so this release's publication here proves it live; a stale copy (a cached
    404, last year's edition) proves nothing."""

    url: str
    live: bool
    reason: str
    status: int | None = None
    final_url: str | None = None
    judged_url: str | None = None
    age: str | None = None
    cache_control: str | None = None
    x_cache: str | None = None
    error: str | None = None
    published_at: UtcDatetime | None = None

    def summary(self) -> str:
        """One plain line: what the public was served, and how old the cached copy was."""
        seen = f"status {self.status}" if self.status is not None else (self.error or "no answer")
        cache = ", ".join(
            f"{name} {value}"
            for name, value in (("age", self.age), ("x-cache", self.x_cache))
            if value
        )
        verdict = "this release's publication" if self.live else "not live"
        return f"{seen}{f' ({cache})' if cache else ''}, {verdict}: {self.reason}"


class Check(Frozen):
    """One probe of a release's page and what it saw."""

    release_id: str
    at: UtcDatetime
    url: str
    live: bool
    reason: str
    status: int | None = None
    final_url: str | None = None
    redirects: tuple[str, ...] = ()
    age: str | None = None
    cache_control: str | None = None
    x_cache: str | None = None
    error: str | None = None  # timeout, connect, tls, too_many_redirects, refused, body_too_large…
    elapsed_ms: float = 0.0
    published_at: UtcDatetime | None = None  # GOV.UK first_published_at, when the page says
    # The page whose content decided the verdict: the final URL of a page probe; in GOV.UK
    # mode the document's page (a publication found at its own URL, another host's URL...).
    judged_url: str | None = None
    started_at: UtcDatetime | None = None  # when the request left (`at`: when it was answered)
    # The answer's Date header: when the server says it made it, by its own clock (policy
    # live_time: our clock a little behind the server's must not make an on-time page early).
    # Left out of stored checks while None, so a version from before it still reads them.
    origin_date: UtcDatetime | None = Field(default=None, exclude_if=lambda value: value is None)
    # The announcement says the release is cancelled (GOV.UK's Content API item or page, an ONS
    # release page): the reason it gives, "" when none. A cancellation wins over the chain
    # (policy). Left out of stored checks while None, like origin_date.
    cancellation: str | None = Field(
        default=None, max_length=2000, exclude_if=lambda value: value is None
    )

    # What the public path served, when it was probed (only when the origin did not show the
    # release live, by default). The other fields are the origin's (cache-busted) answer; the
    # verdict is live when either shows this release's publication. Left out while None.
    public: PublicCopy | None = Field(default=None, exclude_if=lambda value: value is None)

    def cache_headers(self) -> list[tuple[str, str]]:
        """The cache headers the answer carried, by name: what tells a stale copy apart."""
        pairs = (
            ("age", self.age),
            ("cache-control", self.cache_control),
            ("x-cache", self.x_cache),
        )
        return [(name, value) for name, value in pairs if value]


class ReleaseRecord(Frozen):
    """A release as stored: its definition plus the watchdog's state for it."""

    release: Release
    state: ReleaseState = ReleaseState.SCHEDULED
    version: int = 0
    active: bool = True
    live_at: UtcDatetime | None = None
    first_failure_at: UtcDatetime | None = None
    last_check: Check | None = None
    next_check_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    # A page confirmed live that stops passing its rule: when the current loss began (None
    # while the page is up), and when the latest loss began (kept after it came back).
    lost_since: UtcDatetime | None = None
    lost_episode: UtcDatetime | None = None

    @property
    def id(self) -> str:
        return self.release.id


class EventKind(StrEnum):
    STATE_CHANGED = "state_changed"
    NOTIFICATION_SENT = "notification_sent"
    NOTIFICATION_FAILED = "notification_failed"
    FALLBACK = "fallback"
    UNREACHABLE = "unreachable"
    ACKNOWLEDGED = "acknowledged"
    CONFIG_APPLIED = "config_applied"
    REMOVED = "removed"
    PAGE_LOST = "page_lost"
    READY_CONFIRMED = "ready_confirmed"  # someone confirmed the page is uploaded and scheduled
    # A calendar sync saw the announcement move, be cancelled or vanish (calendar/changes.py).
    CALENDAR_CHANGED = "calendar_changed"


class Event(Frozen):
    release_id: str
    at: UtcDatetime
    kind: EventKind
    contact_id: str | None = None
    detail: dict[str, str] = {}


# A state change to live keeps the checks that decided it (JSON, in its detail): checks
# expire from the store (30 days), the events do not, so the punctuality record can still
# show its evidence a year later (punctuality/verdicts.py).
FIRST_LIVE = "first_live"
LAST_NOT_LIVE = "last_not_live"


def live_evidence(check: Check | None, previous: Check | None) -> dict[str, str]:
    """The detail to add to a state change made by `check`: the check that saw the page live
    and, when it saw the page not live, the check before it."""
    if check is None or not check.live:
        return {}
    out = {FIRST_LIVE: check.model_dump_json()}
    if previous is not None and not previous.live and previous.at < check.at:
        out[LAST_NOT_LIVE] = previous.model_dump_json()
    return out


def evidence_checks(events: Sequence[Event]) -> list[Check]:
    """The deciding checks recorded in the latest state change to live, oldest first (none
    when there is no such change, or its detail cannot be read)."""
    for e in reversed(events):
        if e.kind != EventKind.STATE_CHANGED or FIRST_LIVE not in e.detail:
            continue
        try:
            found = [Check.model_validate_json(e.detail[FIRST_LIVE])]
            if LAST_NOT_LIVE in e.detail:
                found.insert(0, Check.model_validate_json(e.detail[LAST_NOT_LIVE]))
        except ValueError:  # pydantic's ValidationError: a record from an older version
            return []
        return found
    return []


class NotificationKind(StrEnum):
    ALERT = "alert"  # an alert step of the chain (first or repeat)
    BREACH = "breach"  # a breach step of the chain: late past its time
    EARLY = "early"  # released before its time: immediate breach alert
    RESOLVED = "resolved"  # the page is live; sent to everybody alerted
    ACK_NOTICE = "ack_notice"  # someone acknowledged; sent to the others alerted
    REPORT = "report"  # the breach report draft
    PAGE_LOST = "page_lost"  # a page confirmed live no longer passes its rule
    PAGE_BACK = "page_back"  # ...and passes it again
    # Readiness, the working day before (readiness/policy.py): asked, escalated, last call on
    # the day.
    READY_REMIND = "ready_remind"
    READY_ESCALATE = "ready_escalate"
    READY_LAST_CALL = "ready_last_call"
    # The calendar changed (Code T3.2 / standard 3.2): told once to the team and the HoP.
    DATE_CHANGED = "date_changed"
    CANCEL_NOTICE = "cancel_notice"
    GONE_NOTICE = "gone_notice"
    UNCONFIRMED_NOTICE = "unconfirmed_notice"  # provisional again: no longer watched
    # A rota has nobody on call at a release's step or readiness time: told once, days ahead.
    ROTA_GAP = "rota_gap"


class Notification(Frozen):
    """A message that policy says is due: its key names it uniquely for delivery."""

    key: str
    release_id: str
    kind: NotificationKind
    contact_id: str
    channel: Channel
    due_at: UtcDatetime
    step: int | None = None
    occurrence: int = 0
    fallback_for: str | None = None  # the key of the notification this one stands in for
    on_call_for: str | None = None  # the rota this person is told for (readiness/rota.py)
    rota_gap: bool = False  # nobody was on call for `on_call_for`: told instead

    @property
    def is_marker(self) -> bool:
        """A record that only guards a one-time action (an acknowledgement token's single use,
        see acks/by_link.py): it is claimed like a message but never sent as one."""
        return self.kind == NotificationKind.ACK_NOTICE and self.step is None

    @staticmethod
    def make_key(
        release_id: str,
        kind: NotificationKind,
        contact_id: str,
        channel: Channel,
        step: int | None = None,
        occurrence: int = 0,
    ) -> str:
        step_part = "-" if step is None else str(step)
        return f"{release_id}|{kind.value}|{step_part}|{occurrence}|{contact_id}|{channel}"


def notification_detail(n: Notification) -> dict[str, str]:
    """What an event about sending `n` records of it (its key, kind, channel, step, ...)."""
    detail = {"key": n.key, "kind": n.kind.value, "channel": n.channel}
    if n.step is not None:
        detail["step"] = str(n.step)
    if n.occurrence:
        detail["occurrence"] = str(n.occurrence)
    if n.fallback_for:
        detail["fallback_for"] = n.fallback_for
    return detail


class DeliveryStatus(StrEnum):
    CLAIMED = "claimed"  # a worker holds it until lease_until; it may be mid-send
    RETRY = "retry"  # a transient failure; any worker may claim it again from next_attempt_at
    SENT = "sent"
    FAILED = "failed"  # permanently failed; a fallback may stand in
    CANCELLED = "cancelled"  # no longer wanted (the page went live first)


class Delivery(Frozen):
    """The stored record of one notification's delivery."""

    notification: Notification
    status: DeliveryStatus
    attempts: int = 0
    owner: str | None = None
    lease_until: UtcDatetime | None = None
    sent_at: UtcDatetime | None = None
    provider_id: str | None = None
    error: str | None = None
    updated_at: UtcDatetime | None = None
    # A RETRY waits until then (the service's backoff between attempts); None: at once.
    next_attempt_at: UtcDatetime | None = None
    # The provider's delivery receipt for the send recorded in provider_id (GOV.UK Notify:
    # delivered, permanent-failure, temporary-failure, technical-failure), and when it was
    # delivered; None until a receipt comes (SES, SNS and SMTP send none).
    receipt: str | None = None
    delivered_at: UtcDatetime | None = None

    @property
    def key(self) -> str:
        return self.notification.key

    def claimable(self, now: datetime) -> bool:
        if self.status == DeliveryStatus.RETRY:
            return self.next_attempt_at is None or self.next_attempt_at <= now
        if self.status == DeliveryStatus.CLAIMED:
            return self.lease_until is not None and self.lease_until <= now
        return False
