"""Plan and apply a calendar sync: announcements from every source → the store's releases.

The plan is pure (plan_sync): each source's fresh import, or its last good one when it failed;
merged by URL across sources (the first source in the config wins); hand-written releases win
over imported ones with the same id or URL; each announcement mapped to a Release (series
overrides, defaults) and compared with the store: add, move, cancel, update or unchanged.
Applying is one store.apply_releases (all-or-nothing), and only when something changed: a
second sync with nothing new writes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from ..config.load import (
    NO_CHAIN,
    PAST_DUE_LIMIT,
    Config,
    DefaultsIn,
    bust_param,
    problem_with_url,
    resolve_readiness,
)
from ..model import LiveRule, Release, ReleaseRecord
from ..probe.rules import default_rule
from ..store.base import Store
from ..timefmt import uk_datetime
from .announcement import Announcement, AnnState, FeedError, Parsed, Skipped, plain
from .changes import CANCELLED, GONE, MOVED, UNCONFIRMED, Change, to_record
from .fetch import FeedFetcher
from .govuk import read_note
from .imports import Imports, ImportsKeeper, keeper
from .sources import read_source
from .spec import CalendarSpec

# A previously imported announcement that is no longer in its (working) source is kept while
# its due time is this recent: it may have just been published (search drops it then) or been
# withdrawn; either way its watch must not stop silently.
KEEP_GONE_FOR = PAST_DUE_LIMIT
MAX_NOTE_READS = 200  # Content API reads per sync: a bound, not a calendar's usual changes
# Announcements from all sources together (each source has its own cap: MAX_SOURCE_ENTRIES).
# Every one may become a release probed each tick: past this, ticks and memory grow without
# an alert being any better. Sources are taken in config order; the one that would pass the
# cap fails (its last good import kept if that fits), and the rest of the config still applies.
# Room for `govuk: {organisations: all}` at its cap (MAX_EVERYTHING_ENTRIES) and ONS beside it.
MAX_TOTAL_ANNOUNCEMENTS = 16000
# One source's fetch and parse, all pages: a source that trickles or hangs fails alone, with
# this reason, and the others are applied (each request has its own timeout too).
SOURCE_DEADLINE = 120.0


@dataclass(frozen=True)
class Line:
    """One row of the sync table."""

    title: str
    due: datetime | None
    state: str
    source: str
    change: str  # add, move, cancel, update, unchanged, or "skipped: <why>"
    where: str = ""
    display_date: str = ""  # the feed's own wording, shown when there is no exact time


@dataclass
class Plan:
    releases: list[Release]  # everything the store should hold: hand-written + imported
    lines: list[Line] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)  # source label → why it failed
    imports: Imports = field(default_factory=lambda: Imports({}, {}))
    changed: bool = False  # anything to write to the store
    # Moves, cancellations and disappearances of watched releases, to be told (changes.py),
    # and the announcement URL of each GOV.UK one, whose Content API item has the note.
    changes: list[Change] = field(default_factory=list)
    govuk_urls: dict[str, str] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)  # deactivated when applied
    # Worth a look, not a failure: a series whose organisation matched no announcement.
    warnings: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            key = line.change.split(" (", 1)[0].split(":", 1)[0]
            out[key] = out.get(key, 0) + 1
        return out


async def fetch_sources(
    config: Config, fetcher: FeedFetcher, now: datetime
) -> dict[str, Parsed | FeedError]:
    """Every source, concurrently; a failure is that source's result, never the others'."""
    config_dir = Path(config.file).parent

    async def one(label: str, spec_index: int) -> tuple[str, Parsed | FeedError]:
        try:
            async with asyncio.timeout(SOURCE_DEADLINE):
                spec = config.calendars[spec_index]
                return label, await read_source(spec, fetcher, now, config_dir)
        except FeedError as exc:
            return label, exc
        except TimeoutError:
            return label, FeedError(
                f"not read within {SOURCE_DEADLINE:g} s (the deadline per calendar source)"
            )

    pairs = await asyncio.gather(*(one(s.label, i) for i, s in enumerate(config.calendars)))
    return dict(pairs)


def plan_sync(
    config: Config,
    results: Mapping[str, Parsed | FeedError],
    previous: Imports,
    stored: Mapping[str, ReleaseRecord],
    now: datetime,
) -> Plan:
    plan = Plan(releases=list(config.releases))
    hand_ids = {r.id for r in config.releases}
    hand_urls = {u: r.id for r in config.releases for u in (r.url, r.publication_url) if u}
    claimed: dict[str, str] = {}  # url → "source id" of the announcement that holds it
    claimed_ids: dict[str, str] = {}  # release id → the source it was imported from
    # url → the recurring series holding it: one series' occurrences share their page, and
    # are releases of it, not one publication announced twice.
    claimed_series: dict[str, str] = {}
    imported: list[Release] = []
    taken = 0  # announcements from the sources so far (MAX_TOTAL_ANNOUNCEMENTS)

    for spec in config.calendars:
        label = spec.label
        result = results.get(label, FeedError("not fetched"))
        if not isinstance(result, FeedError) and (
            taken + len(result.announcements) > MAX_TOTAL_ANNOUNCEMENTS
        ):
            result = FeedError(
                f"{len(result.announcements)} announcements would take the calendars together "
                f"past {MAX_TOTAL_ANNOUNCEMENTS} (the cap across all sources); this source is "
                "not applied, the sources before it in the config are"
            )
        kept_from_before: set[str] = set()
        if isinstance(result, FeedError):
            plan.failures[label] = str(result)
            announcements = list(previous.sources.get(label, []))
            if label in previous.sources:
                plan.imports.sources[label] = announcements
                plan.imports.at[label] = previous.at[label]
            if taken + len(announcements) > MAX_TOTAL_ANNOUNCEMENTS:
                announcements = []  # its last good import does not fit either (kept on file)
            kept_from_before = {a.id for a in announcements}
        else:
            for skip in result.skipped:
                plan.lines.append(_skipped_line(skip, label))
            announcements = _dedupe_ids(result.announcements, label, plan)
            fresh = {a.id for a in announcements}
            for old in previous.sources.get(label, []):
                if old.id not in fresh and old.due is not None and old.due >= now - KEEP_GONE_FOR:
                    announcements.append(old)
                    kept_from_before.add(old.id)
            plan.imports.sources[label] = announcements
            plan.imports.at[label] = now
        taken += len(announcements)

        for ann in announcements:
            note = ""
            if ann.id in kept_from_before and label not in plan.failures:
                record = stored.get(ann.id)
                published = record is not None and record.state.is_live
                note = " (gone from the source: " + (
                    "published)" if published else "kept, check it)"
                )
            urls = [u for u in (ann.url, ann.publication_url) if u]
            if ann.id in hand_ids or any(u in hand_urls for u in urls):
                mine = (
                    ann.id
                    if ann.id in hand_ids
                    else hand_urls[next(u for u in urls if u in hand_urls)]
                )
                plan.lines.append(_line(ann, label, f"skipped: the config's release {mine} wins"))
                continue
            series_key = f"{label}|{ann.series}" if ann.series else None
            twin = next(
                (
                    claimed[u]
                    for u in urls
                    if u in claimed and (series_key is None or claimed_series.get(u) != series_key)
                ),
                None,
            )
            if twin is None and ann.id in claimed_ids:
                plan.lines.append(
                    _line(ann, label, f"skipped: id {ann.id} also in {claimed_ids[ann.id]}")
                )
                continue
            if twin is not None:
                plan.lines.append(_line(ann, label, f"skipped: same publication as {twin}"))
                continue
            release = to_release(ann, config, now, spec)
            if isinstance(release, str):
                plan.lines.append(_line(ann, label, f"skipped: {release}"))
                continue
            for u in urls:
                claimed.setdefault(u, f"{label} {ann.id}")
                if series_key is not None:
                    claimed_series.setdefault(u, series_key)
            claimed_ids[ann.id] = label
            if release is None:
                kept = _provisional_again(ann, stored.get(ann.id), now)
                if kept is None:
                    plan.lines.append(_line(ann, label, "not watched: provisional (no exact time)"))
                    continue
                release, told = kept
                imported.append(release)
                plan.lines.append(_line(ann, label, _unconfirmed_line(release, told)))
                if told is not None:
                    plan.changes.append(told)
                    if ann.govuk:
                        plan.govuk_urls[release.id] = ann.url
                continue
            record = stored.get(release.id)
            if ann.state is AnnState.CANCELLED and (record is None or not record.active):
                plan.lines.append(_line(ann, label, "skipped: cancelled, never watched"))
                continue
            imported.append(release)
            plan.lines.append(_line(ann, label, _change(release, record) + note))
            told = _to_tell(release, record, now, gone=note.endswith("check it)"))
            if told is not None:
                if told.change == MOVED and ann.change_note:
                    told = replace(
                        told, note=ann.change_note, previous_display_date=ann.previous_date
                    )
                plan.changes.append(told)
                if ann.govuk and told.change != GONE:
                    plan.govuk_urls[release.id] = ann.url

    plan.releases.extend(imported)
    plan.warnings += _unmatched_organisations(config, plan)
    wanted = {r.id: r for r in plan.releases}
    active = {rid: rec.release for rid, rec in stored.items() if rec.active}
    plan.changed = wanted != active
    return plan


def _unmatched_organisations(config: Config, plan: Plan) -> list[str]:
    """A series naming an organisation no announcement came from (a misspelt slug?): its
    releases would be observed, or take another chain, without a word. Only said when every
    source was read, so a failed source never raises a false alarm."""
    if plan.failures:
        return []
    found = {
        slug for anns in plan.imports.sources.values() for a in anns for slug in a.organisations
    }
    return [
        f"series[{i}]: organisation {s.organisation!r} matched no announcement from the "
        "calendars (check the slug: https://www.gov.uk/government/organisations/<slug>)"
        for i, s in enumerate(config.series)
        if s.organisation is not None and s.organisation not in found
    ]


def to_release(
    ann: Announcement, config: Config, now: datetime, source: CalendarSpec | None = None
) -> Release | str | None:
    """The Release an announcement becomes; None if it is not watched (provisional); or why
    it cannot be one. Its chain: the first series that matches, the source's own (a CSV's
    chain column), the calendar entry's `chain:`, then defaults.chain; but a calendar of every
    organisation alerts only what a series maps (or its entry's chain names): the rest are
    observed. `none` anywhere in that order means observed (no chain: nobody alerted)."""
    if ann.state is AnnState.PROVISIONAL:
        return None
    if ann.due is None:
        return "no exact due time"
    if ann.state is not AnnState.CANCELLED and ann.due < now - PAST_DUE_LIMIT:
        return f"due {uk_datetime(ann.due)}, more than {PAST_DUE_LIMIT.days} days ago"
    for name, url in (("url", ann.url), ("publication_url", ann.publication_url)):
        why = problem_with_url(url, config.local_mode) if url else None
        if why:
            return f"{name}: {why}"
    series = next((s for s in config.series if s.matches(ann.title, ann.organisations)), None)
    everything = source is not None and source.govuk is not None and source.govuk.everything
    fallback = NO_CHAIN if everything else config.default_chain
    chain_name = (
        (series.chain if series else None)
        or ann.chain
        or (source.chain if source is not None else None)
        or fallback
    )
    if chain_name is None:
        return "no chain: set defaults.chain, a series with a chain, or chain: none"
    chain = None if chain_name == NO_CHAIN else config.chains.get(chain_name)
    if chain is None and chain_name != NO_CHAIN:
        return f"unknown chain {chain_name!r}"
    live = series.live if series is not None and series.live is not None else None
    rule = default_rule(ann.title, live or ann.live or LiveRule(govuk=ann.govuk), ann.url)
    d = config.defaults or DefaultsIn()
    problems: list[str] = []
    readiness, used = None, []
    if chain is not None:  # an observed release asks, tells and embeds nobody
        ok, readiness = resolve_readiness(
            d.readiness,
            series.readiness if series is not None else None,
            chain,
            config.contacts,
            ("series",),
            lambda _at, why: problems.append(why),
        )
        if not ok:
            return f"readiness: {'; '.join(problems) or 'not valid'}"
        used = sorted({cid for step in chain.steps for cid in step.notify})
        # The head of profession hears of date changes (changes.py) even when not on the chain.
        used += [c.id for c in config.contacts.values() if c.role == "head_of_profession"]
        if readiness is not None:
            used += [*readiness.notify, *readiness.escalate_to]
        used = sorted(set(used))
    try:
        return Release(
            id=ann.id,
            title=ann.title,
            url=ann.url,
            publication_url=ann.publication_url,
            due=ann.due,
            producer=ann.producer or d.producer,
            rule=rule,
            chain=chain,
            contacts={cid: config.contacts[cid] for cid in used},
            cache_bust_param=bust_param(d.cache_bust),
            pre_window=d.pre_window,
            grace=d.grace,
            ack_timeout=d.ack_timeout,
            cadence=d.cadence,
            cancelled=ann.state is AnnState.CANCELLED,
            allow_loopback=config.local_mode,
            readiness=readiness,
        )
    except (ValidationError, KeyError) as exc:
        return f"not a valid release: {str(exc).splitlines()[0][:120]}"


def apply_plan(
    plan: Plan, store: Store, imports_file: Path | ImportsKeeper, now: datetime
) -> list[str]:
    """Write the plan: each change to be told first (an event the next tick turns into
    notices, once the store shows the change: changes.notices), then the store (all or
    nothing), then the imports it came from. In that order a crash anywhere loses no notice:
    the next sync finds the same change unapplied, records nothing new (to_record) and applies
    it, and only then is it told. Returns the ids deactivated. Nothing is written to the store
    when nothing changed."""
    for change in plan.changes:
        event = to_record(change, store.events(change.release_id), now)
        if event is not None:
            store.add_event(event)
    removed = store.apply_releases(plan.releases, now) if plan.changed else []
    plan.removed = removed
    keeper(imports_file).save(plan.imports)
    return removed


async def sync_once(
    config: Config,
    store: Store,
    imports_file: Path | ImportsKeeper,  # a file locally, the DynamoDB table on AWS
    fetcher: FeedFetcher,
    now: datetime,
    *,
    dry_run: bool = False,
    gate: asyncio.Lock | None = None,
) -> Plan:
    """Fetch every source, plan, read GOV.UK's notes for what changed, and (unless dry_run)
    apply. ValueError if the saved imports are damaged (nothing synced). With `gate` (run's
    loop holds it for each tick), the plan is applied between ticks, never during one."""
    previous = keeper(imports_file).load()
    results = await fetch_sources(config, fetcher, now)
    plan = plan_sync(config, results, previous, stored_records(store), now)
    await read_change_notes(plan, fetcher)
    if not dry_run:
        async with gate if gate is not None else contextlib.nullcontext():
            apply_plan(plan, store, imports_file, now)
    return plan


def apply_kept(
    config: Config, store: Store, imports_file: Path | ImportsKeeper, now: datetime
) -> Plan:
    """`run`'s start, before its first tick: the hand-written releases and every source's last
    good import, read from the saved imports with nothing fetched, so the watch starts at once
    and the sync proper runs beside the ticks (a source may trickle for its whole deadline).
    ValueError if the saved imports are damaged (nothing applied)."""
    previous = keeper(imports_file).load()
    not_yet = FeedError("not read yet: the sync runs beside the first ticks")
    results: dict[str, Parsed | FeedError] = {s.label: not_yet for s in config.calendars}
    plan = plan_sync(config, results, previous, stored_records(store), now)
    apply_plan(plan, store, imports_file, now)
    return plan


async def read_change_notes(plan: Plan, fetcher: FeedFetcher) -> None:
    """GOV.UK's change note (or cancellation reason) for each changed GOV.UK announcement, from
    its Content API item: at most MAX_NOTE_READS per sync, a few at a time. A note that cannot
    be read is said to be unreadable, never silently empty."""
    gate = asyncio.Semaphore(4)

    async def one(i: int, change: Change) -> None:
        url = plan.govuk_urls.get(change.release_id)
        if url is None:
            return
        if i >= MAX_NOTE_READS:
            plan.changes[i] = replace(change, note_error="not read: too many changes at once")
            return
        async with gate:
            try:
                found = await read_note(url, fetcher, change.change)
            except FeedError as exc:
                plan.changes[i] = replace(change, note_error=str(exc)[:200])
                return
        plan.changes[i] = replace(change, note=found[0], previous_display_date=found[1])

    await asyncio.gather(*(one(i, c) for i, c in enumerate(plan.changes)))


def render(plan: Plan, *, width: int = 44) -> list[str]:
    """The sync table, one line per announcement (times in Europe/London)."""
    rows = [("TITLE", "DUE (UK)", "STATE", "SOURCE", "CHANGE")]
    for line in plan.lines:
        title = line.title if len(line.title) <= width else line.title[: width - 1] + "…"
        due = uk_datetime(line.due) if line.due is not None else "-"
        if line.display_date and (line.due is None or line.state == AnnState.PROVISIONAL):
            due = line.display_date  # "August to September 2026", not a made-up midnight
        where = f" [{line.where}]" if line.where else ""
        # Feed text is cleaned where it is parsed; cleaned again here, as the last line.
        cells = (title or "-", due, line.state, line.source, line.change + where)
        rows.append(tuple(plain(c) for c in cells))  # type: ignore[arg-type]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(r[:4], widths, strict=True)) + "  " + r[4]
        for r in rows
    ]


def stored_records(store: Store) -> dict[str, ReleaseRecord]:
    return {rec.id: rec for rec in store.all_releases()}


def _to_tell(
    release: Release, record: ReleaseRecord | None, now: datetime, *, gone: bool
) -> Change | None:
    """The change to tell for a watched release, if any: a cancellation, a move, or (not
    cancelled, not live, not yet due) its announcement gone from a source that worked. Once
    due, a vanished announcement has most likely been published (search drops it then), and
    the chain's alerts speak for one that was not."""
    if record is None or not record.active or record.release.cancelled:
        return None
    old = record.release
    if release.cancelled:
        return Change(release.id, CANCELLED, old.due, old.due)
    if old.due != release.due:
        return Change(release.id, MOVED, old.due, release.due)
    if gone and not record.state.is_live and now < old.due:
        return Change(release.id, GONE, old.due, old.due)
    return None


def _provisional_again(
    ann: Announcement, record: ReleaseRecord | None, now: datetime
) -> tuple[Release, Change | None] | None:
    """A watched release whose announcement has lost its exact time (provisional again): None
    if it was not being watched. Before its due time it stops being watched, like a
    cancellation, and that is told once (UNCONFIRMED); from its due time on, the chain already
    running for it goes on as it is (a late release is late, whatever the calendar says now)."""
    if record is None or not record.active or record.release.cancelled or record.state.is_live:
        return None
    old = record.release
    if old.unconfirmed is None and now >= old.due:
        return old, None
    wording = ann.display_date or "no exact date"
    release = old.model_copy(update={"unconfirmed": wording[:200]})
    told = Change(release.id, UNCONFIRMED, old.due, old.due) if old.unconfirmed is None else None
    return release, told


def _unconfirmed_line(release: Release, told: Change | None) -> str:
    if release.unconfirmed is None:
        return "kept: the calendar has no exact time now, but it was due and is not live"
    if told is not None:
        return f"stop watching: date no longer confirmed (was {uk_datetime(release.due)})"
    return "not watched: date no longer confirmed"


def _change(release: Release, record: ReleaseRecord | None) -> str:
    observed = " (observed)" if release.observed else ""
    if record is None or not record.active:
        return "add" + observed
    old = record.release
    if release.cancelled and not old.cancelled:
        return "cancel" + observed
    if old.due != release.due:
        return f"move (was {uk_datetime(old.due)})" + observed
    if old == release:
        return "unchanged" + observed
    if release.observed and not old.observed:
        return f"update (observed now: chain {old.chain_id} no longer alerted)"
    if old.observed and not release.observed:
        return f"update (alerts chain {release.chain_id} now, was observed)"
    return "update" + observed


def _line(ann: Announcement, label: str, change: str) -> Line:
    return Line(ann.title, ann.due, ann.state.value, label, change, "", ann.display_date)


def _skipped_line(skip: Skipped, label: str) -> Line:
    return Line(skip.title, None, "-", label, f"skipped: {skip.reason}", skip.where)


def _dedupe_ids(anns: Sequence[Announcement], label: str, plan: Plan) -> list[Announcement]:
    seen: set[str] = set()
    out = []
    for ann in anns:
        if ann.id in seen:
            plan.lines.append(_line(ann, label, f"skipped: id {ann.id} appears twice"))
            continue
        seen.add(ann.id)
        out.append(ann)
    return out
