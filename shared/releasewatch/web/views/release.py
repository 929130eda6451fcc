"""One release's page: the escalation ladder (who, how, when, and whether it reached them),
the next step, acknowledgements, readiness, the checks as a timeline with runs of identical
checks collapsed, and links to the page, the breach report and the announcement."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from ...acks.holds import held_steps
from ...model import Check, Delivery, Event, EventKind, ReleaseRecord, ReleaseState
from ...policy import Ack, acks_from
from ...readiness.policy import confirmation, earlier_confirmation, schedule
from ...timefmt import uk_datetime
from .board import StateTag, live_text, minutes_late, shown_state, state_tag
from .ladder import LIVE_OR_OVER, LadderRow, NextStep, ladder, name_of, next_step
from .problems import Problem
from .readiness import readiness_lines
from .timeline import TimelineEntry, collapse
from .words import clock_time, zone


@dataclass(frozen=True)
class AckLine:
    who: str
    at: datetime
    time: str
    text: str


@dataclass(frozen=True)
class Link:
    label: str
    href: str
    download: bool = False


@dataclass(frozen=True)
class Header:
    name: str
    value: str


@dataclass(frozen=True)
class ReleasePage:
    release_id: str
    title: str
    producer: str
    now: datetime
    updated: str
    zone: str
    due: datetime
    due_text: str
    tag: StateTag
    live_at: datetime | None
    live_text: str
    minutes_late: int | None  # as on the board (views.board.minutes_late)
    ladder: tuple[LadderRow, ...]
    next_step: NextStep | None
    next_step_text: str  # why there is none, when there is none
    acknowledgements: tuple[AckLine, ...]
    readiness: str
    timeline: tuple[TimelineEntry, ...]
    checks_shown: int
    judged_url: str | None
    cache_headers: tuple[Header, ...]
    links: tuple[Link, ...]
    problems: tuple[Problem, ...]
    observed: bool = False  # no chain: judged and recorded, nobody alerted
    # What the public path served at the last check that probed it (the origin's answer is
    # the rest of the evidence): one plain line, None when it was not probed.
    public_path: str | None = None


def _links(record: ReleaseRecord, state: ReleaseState, href: str) -> list[Link]:
    release = record.release
    announcement = release.rule.govuk or "gov.uk/" in release.url
    links = [Link("GOV.UK announcement" if announcement else "The release page", release.url)]
    if release.publication_url:
        links.append(Link("The publication", release.publication_url))
    if state in (ReleaseState.LIVE_LATE, ReleaseState.EARLY):
        links.append(Link("Breach report draft (Markdown)", f"{href}/report.md", True))
        links.append(Link("Breach report draft (Word)", f"{href}/report.docx", True))
    return links


def _what_it_holds(
    record: ReleaseRecord, state: ReleaseState, ack: Ack, events: Sequence[Event], now: datetime
) -> str:
    """': later alerts held until 10:11' only while a later alert step really falls inside a
    running hold; past tense once it ended, the page went live or the release was cancelled,
    and only if something was held; nothing when the chain had no later alert step to hold."""
    release = record.release
    end = ack.at + release.ack_timeout
    over = state in LIVE_OR_OVER
    stop, why = None, ""
    if over and record.live_at is not None:
        stop, why = record.live_at, "the page went live"
    elif state == ReleaseState.CANCELLED:
        # nothing was due after the release stopped: its cancellation as the tick recorded it
        stop = _cancelled_at(events) or min(now, end)
        why = "the release was cancelled"
    if not held_steps(release, ack.step, ack.at, stop):
        return ""
    if not over and now < end:
        return f": later alerts held until {clock_time(end)}"
    if stop is not None and stop < end:
        return f": later alerts were held until {why} at {clock_time(stop)}"
    return f": later alerts were held until {clock_time(end)}"


def _cancelled_at(events: Sequence[Event]) -> datetime | None:
    stops = [
        e.at
        for e in events
        if e.kind == EventKind.STATE_CHANGED and e.detail.get("to") == ReleaseState.CANCELLED.value
    ]
    return max(stops) if stops else None


def _readiness(
    record: ReleaseRecord, events: Sequence[Event], deliveries: Sequence[Delivery], now: datetime
) -> str:
    """Confirmed by whom and when, or who was asked and when, from the reminders really sent
    (views.readiness, as the board): never from the schedule, which says nothing of a
    release added after its reminder time. A confirmation given for the due time before a
    calendar move is shown as for that earlier time, not as readiness."""
    due = record.release.due
    done = confirmation(events, due)
    if done is not None:
        who = name_of(record.release, done.contact_id)
        return f"Readiness confirmed by {who} at {uk_datetime(done.at)}."
    earlier = earlier_confirmation(events, due)
    before = (
        f"Readiness was confirmed by {name_of(record.release, earlier.contact_id)} at "
        f"{uk_datetime(earlier.at)} for the earlier due time {uk_datetime(earlier.for_due)}. "
        if earlier is not None and earlier.for_due is not None
        else ""
    )
    plan = schedule(record.release)
    if plan is None:
        return before + "No readiness check is set up for this release."
    if record.state.is_live or record.release.stopped:
        return before + "Readiness was not confirmed."
    again = " for the new due time" if before else ""
    lines = readiness_lines(record, events, deliveries)
    if lines.asked:
        asked = lines.asked[-1]  # the latest, as the board shows it
        return f"{before}Readiness not confirmed yet{again}: {asked[0].lower()}{asked[1:]}."
    if now < plan.remind:
        return f"{before}Readiness not confirmed yet{again}: the team is asked at " + (
            f"{uk_datetime(plan.remind)}."
        )
    return f"{before}Readiness not confirmed yet{again}: nobody has been asked."


def build_release_page(
    record: ReleaseRecord,
    events: Sequence[Event],
    deliveries: Sequence[Delivery],
    checks: Sequence[Check],
    now: datetime,
    problems: Sequence[Problem] = (),
    *,
    unproven: bool = False,
) -> ReleasePage:
    release = record.release
    state = shown_state(record, now)
    acks = acks_from(events)
    ack_lines = []
    for ack in acks:
        who = name_of(release, ack.contact_id)
        text = f"{who} at {clock_time(ack.at)}{_what_it_holds(record, state, ack, events, now)}"
        ack_lines.append(AckLine(who, ack.at, clock_time(ack.at), text))
    upcoming = None if state in LIVE_OR_OVER else next_step(record, now, acks)
    if upcoming is not None:
        why_none = ""
    elif release.observed:
        why_none = "No steps: the release is observed, so no one is alerted."
    elif state in LIVE_OR_OVER:
        why_none = (
            "No next step: the page is live."
            if state != ReleaseState.CANCELLED
            else f"No next step: {record.release.stopped_because}."
        )
    else:
        why_none = "No next step: every step has fired."
    last = checks[-1] if checks else record.last_check
    judged = (last.judged_url or last.final_url) if last else None
    with_headers = next((c for c in reversed(checks) if c.cache_headers()), None)
    href = f"r/{quote(release.id, safe='')}"
    return ReleasePage(
        release_id=release.id,
        title=release.title,
        producer=release.producer,
        now=now,
        updated=clock_time(now),
        zone=zone(now),
        due=release.due,
        due_text=uk_datetime(release.due),
        tag=state_tag(record, events, now, unproven=unproven),
        live_at=record.live_at,
        live_text=live_text(record, unproven=unproven),
        minutes_late=minutes_late(record, state, now, unproven=unproven),
        ladder=tuple(ladder(record, state, deliveries, acks, now)),
        next_step=upcoming,
        next_step_text=why_none,
        acknowledgements=tuple(ack_lines),
        readiness=_readiness(record, events, deliveries, now),
        timeline=tuple(collapse(checks, release.due, record.live_at)),
        checks_shown=len(checks),
        judged_url=judged,
        cache_headers=tuple(Header(n, v) for n, v in with_headers.cache_headers())
        if with_headers
        else (),
        links=tuple(_links(record, state, href)),
        problems=tuple(problems),
        observed=release.observed,
        public_path=last.public.summary() if last is not None and last.public else None,
    )
