"""The YAML authoring format → resolved Release models.

Every mistake is reported with its file, YAML line and path (`releases[2].due`), all at once;
a config with any mistake yields no releases at all, so nothing is ever half-applied.
See infra/releasewatch.example.yaml for an annotated example of every field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path as FsPath
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..calendar.spec import CalendarSpec, SeriesSpec
from ..errors import ConfigError, ConfigProblem, ProbeRefused
from ..model import (
    IDENT,
    Cadence,
    Chain,
    Channel,
    Contact,
    LiveRule,
    Readiness,
    Release,
    Rota,
    Step,
    plain_text,
    validate_duration,
)
from ..notify.notify_config import NotifyIn, Transport, check_notify
from ..probe.netguard import check_url
from ..probe.rules import checks_status_only, default_rule
from ..readiness import rota
from ..readiness.config_in import ReadinessIn
from ..timefmt import delay_text, parse_due, uk_datetime
from .durations import parse_duration
from .localfiles import LocalFileError, read_local
from .politeness import PolitenessIn
from .yamlsource import Path, YamlDocument, decode, format_path, load_yaml

DEFAULT_CACHE_BUST_PARAM = "rwcb"
# `chain: none` (a release, a series, a calendar, defaults.chain): observed, nobody alerted.
# YAML's own null would mean "not given" (fall back to the default), so the word is reserved.
NO_CHAIN = "none"
# A due time further back than this is refused unless the release says `past_due_ok: true`:
# it is almost always a copy-paste of last month's entry, and would start its chain at once.
PAST_DUE_LIMIT = timedelta(days=7)
_DUE_YEARS = (2000, 2099)
# Reads an iCal rota given by URL: (url, local_mode) → the body; rota.RotaError if it cannot.
# Without one (the default) a rota must be a file; push and the AWS sync pass
# rota_fetch.fetch_rota (the calendar fetcher's guard and limits).
RotaFetch = Callable[[str, bool], bytes]


def _cache_bust(value: Any) -> Any:
    if isinstance(value, str) and not IDENT.fullmatch(value):
        raise ValueError(
            "expected a query parameter name (letters, digits, '.', '_', '-'), "
            "true for the default (rwcb), or false for none"
        )
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContactIn(Contact):
    _t = field_validator("name", "role", mode="before")(plain_text)


class DefaultsIn(_In):
    chain: str | None = None
    producer: str = ""
    pre_window: timedelta = timedelta(minutes=15)
    grace: timedelta = timedelta(minutes=2)
    ack_timeout: timedelta = timedelta(minutes=30)
    cache_bust: str | bool = DEFAULT_CACHE_BUST_PARAM
    cadence: Cadence = Cadence()
    # Sends per notification before it is failed (and its fallback runs); see service.py.
    max_attempts: int = Field(default=3, ge=1, le=10)
    readiness: ReadinessIn = ReadinessIn()
    # notify: every email and text goes through GOV.UK Notify (the `notify:` block).
    transport: Transport = "default"

    _d = field_validator("pre_window", "grace", "ack_timeout", mode="before")(validate_duration)
    _b = field_validator("cache_bust", mode="before")(_cache_bust)
    _t = field_validator("producer", mode="before")(plain_text)


class ReleaseIn(_In):
    id: str
    title: str
    url: str
    publication_url: str | None = None  # the expected publication when `url` announces it
    due: str
    chain: str | None = None
    producer: str | None = None
    live: LiveRule = LiveRule()
    cache_bust: str | bool | None = None
    pre_window: timedelta | None = None
    grace: timedelta | None = None
    ack_timeout: timedelta | None = None
    cancelled: bool = False
    past_due_ok: bool = False  # a due time more than PAST_DUE_LIMIT ago is deliberate
    readiness: ReadinessIn | None = None

    _d = field_validator("pre_window", "grace", "ack_timeout", mode="before")(validate_duration)
    _b = field_validator("cache_bust", mode="before")(_cache_bust)
    _t = field_validator("title", "producer", mode="before")(plain_text)

    @field_validator("due", mode="before")
    @classmethod
    def _due_text(cls, v: Any) -> Any:
        return str(v) if v is not None and not isinstance(v, (dict, list)) else v


@dataclass(frozen=True)
class Config:
    releases: list[Release]
    local_mode: bool
    file: str
    max_attempts: int = 3  # defaults.max_attempts
    warnings: list[ConfigProblem] = field(default_factory=list)  # valid, but worth a look
    # Releases more than PAST_DUE_LIMIT past due (warned about): not started, but one the
    # store already has is kept as it is (with_stale_kept). Time passing never refuses a config.
    stale: list[Release] = field(default_factory=list)
    # What calendar sync needs to turn announcements into releases (calendar/sync.py).
    calendars: list[CalendarSpec] = field(default_factory=list)
    series: list[SeriesSpec] = field(default_factory=list)
    chains: dict[str, Chain] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    defaults: DefaultsIn | None = None
    default_chain: str | None = None
    sync_every: timedelta = timedelta(hours=6)  # `run` re-syncs the calendars this often
    notify: NotifyIn | None = None  # the `notify:` block (GOV.UK Notify)
    transport: str = "default"  # defaults.transport: "notify" makes email/sms mean Notify
    # The `politeness:` block: requests per second per host, when to ask the public path.
    politeness: PolitenessIn = field(default_factory=PolitenessIn)


def with_stale_kept(config: Config, known: Callable[[str], bool]) -> Config:
    """The config whose releases include its stale ones that `known` (the store) already has:
    a restart must not drop a release it was watching, nor start one from last week."""
    kept = [r for r in config.stale if known(r.id)]
    return replace(config, releases=[*config.releases, *kept]) if kept else config


def load_config(
    path: str | FsPath, now: datetime | None = None, *, fetch: RotaFetch | None = None
) -> Config:
    """Read and validate a config file; raises ConfigError listing every problem.
    `now` (from the caller's clock) enables the checks of due times against the present."""
    file = str(path)
    try:
        data = FsPath(path).read_bytes()
    except OSError as exc:
        raise ConfigError([ConfigProblem("", f"cannot read: {exc.strerror}", file=file)]) from None
    return parse_config(decode(data, file), file, now=now, fetch=fetch)


def parse_config(
    text: str,
    file: str = "<config>",
    now: datetime | None = None,
    *,
    fetch: RotaFetch | None = None,
) -> Config:
    doc = load_yaml(text, file)
    problems: list[ConfigProblem] = list(doc.problems)
    warnings: list[ConfigProblem] = []

    def problem(path: Path, message: str) -> None:
        problems.append(ConfigProblem(format_path(path), message, doc.file, doc.line_of(path)))

    def warning(path: Path, message: str) -> None:
        warnings.append(ConfigProblem(format_path(path), message, doc.file, doc.line_of(path)))

    def validate(model: type[_M], data: Any, at: Path) -> _M | None:
        """Validate one piece; on failure record its problems and carry on with the rest."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            problems.extend(_from_validation(exc, doc, at))
            return None

    raw = doc.data
    if not isinstance(raw, dict):
        raise ConfigError(
            [ConfigProblem("", "expected a mapping with contacts, chains and releases", file, 1)]
        )
    for key in raw:
        if key not in _TOP_LEVEL:
            problem((key,), f"unknown key; expected one of {', '.join(sorted(_TOP_LEVEL))}")
    if raw.get("version", 1) != 1:
        problem(("version",), "only version 1 is understood")
    local_mode = raw.get("local_mode", False)
    if not isinstance(local_mode, bool):
        problem(("local_mode",), "expected true or false")
        local_mode = False
    raw_defaults = raw.get("defaults") or {}
    defaults = validate(DefaultsIn, raw_defaults, ("defaults",)) or DefaultsIn()
    raw_ready = raw_defaults.get("readiness") if isinstance(raw_defaults, dict) else None
    for j, cid in enumerate(_ids(raw_ready, "notify") + _ids(raw_ready, "escalate_to")):
        if cid not in _mapping(raw, "contacts", None):
            field_name = "notify" if j < len(_ids(raw_ready, "notify")) else "escalate_to"
            index = j if field_name == "notify" else j - len(_ids(raw_ready, "notify"))
            problem(("defaults", "readiness", field_name, index), f"unknown contact {cid!r}")

    # `defaults.chain: none` (a deployment that observes, alerting no one unless a release or
    # series says otherwise) may have no contacts or chains at all.
    observer = isinstance(raw_defaults, dict) and raw_defaults.get("chain") == NO_CHAIN
    needed = None if observer and not raw.get("contacts") and not raw.get("chains") else problem
    contacts: dict[str, Contact] = {}
    raw_contacts_all = _mapping(raw, "contacts", None)
    for cid, data in _mapping(raw, "contacts", needed).items():
        if not IDENT.fullmatch(cid):
            problem(("contacts", cid), "contact ids use letters, digits, '.', '_' and '-'")
            continue
        if not isinstance(data, dict):
            problem(("contacts", cid), "expected a mapping with name, role, email and/or phone")
            continue
        data = dict(data)
        rota_spec = data.pop("rota", None)
        if rota_spec is not None:
            data["rota"] = Rota()  # checked below; the placeholder lets the fields validate
        contact = validate(ContactIn, {"id": cid, **data}, ("contacts", cid))
        if contact is not None and rota_spec is not None:
            read = _rota(rota_spec, file, ("contacts", cid, "rota"), problem, fetch, local_mode)
            contact = contact.model_copy(update={"rota": read}) if read is not None else None
        if contact is not None:
            contacts[cid] = Contact(**contact.model_dump())
    by_email = {c.email.lower(): c.id for c in contacts.values() if c.email}
    for cid, known in list(contacts.items()):
        if known.rota is not None:  # an iCal ATTENDEE may give a contact's email address
            contacts[cid] = known = rota.by_address(known, by_email)
        # Members are plain contacts: a rota of rotas could hide a loop or an empty shift.
        for member in sorted(rota.members(known)):
            target = contacts.get(member)
            if "@" in member:  # never echo an address: it would reach logs and terminals
                problem(("contacts", cid, "rota"), "an attendee's address matches no contact")
            elif member not in raw_contacts_all:
                problem(("contacts", cid, "rota"), f"unknown contact {member!r} on the rota")
            elif target is not None and target.rota is not None:
                problem(("contacts", cid, "rota"), f"{member!r} is a rota; rotas cannot nest")

    transport = defaults.transport
    notify_block = check_notify(raw, transport, local_mode, validate, problem, problem_with_url)

    raw_chains = _mapping(raw, "chains", needed)
    raw_contacts = _mapping(raw, "contacts", None)
    chains: dict[str, Chain] = {}
    for name, steps_raw in raw_chains.items():
        if not IDENT.fullmatch(name):
            problem(("chains", name), "chain names use letters, digits, '.', '_' and '-'")
            continue
        if name == NO_CHAIN:
            problem(
                ("chains", name), f"{NO_CHAIN!r} is reserved: chain: none means nobody is alerted"
            )
            continue
        if not isinstance(steps_raw, list) or not steps_raw:
            problem(("chains", name), "expected a list of at least one step")
            continue
        steps: list[Step] = []
        for i, step_raw in enumerate(steps_raw):
            step = validate(Step, step_raw, ("chains", name, i))
            # Unknown contacts are named even when the step has other mistakes: one pass.
            notify = step_raw.get("notify") if isinstance(step_raw, dict) else None
            unknown = False
            for j, cid in enumerate(notify if isinstance(notify, list) else []):
                if isinstance(cid, str) and cid not in raw_contacts:
                    problem(("chains", name, i, "notify", j), f"unknown contact {cid!r}")
                    unknown = True
            if step is not None and not unknown:
                steps.append(_on_transport(step, transport))
        if len(steps) == len(steps_raw):
            chains[name] = Chain(id=name, steps=tuple(steps))

    default_chain = defaults.chain
    if default_chain is None and isinstance(raw_defaults, dict):
        # defaults had another mistake: still resolve releases against the chain it names
        named = raw_defaults.get("chain")
        default_chain = named if isinstance(named, str) else None
    if default_chain not in (None, NO_CHAIN, *raw_chains):
        problem(("defaults", "chain"), f"unknown chain {default_chain!r}")
    if default_chain is None and len(raw_chains) == 1:
        default_chain = next(iter(raw_chains))

    releases: list[Release] = []
    seen_ids: dict[str, int] = {}
    stale_releases: list[Release] = []
    raw_releases = raw.get("releases") or []
    if not isinstance(raw_releases, list):
        problem(("releases",), "expected a list of releases")
        raw_releases = []
    for i, data in enumerate(raw_releases):
        at: Path = ("releases", i)
        before = len(problems)
        r = validate(ReleaseIn, data, at)
        # With schema errors, the fields that did parse are still checked: one pass.
        fields: dict[str, Any] = r.model_dump() if r is not None else _as_dict(data)
        rid, url, due_text = _text(fields, "id"), _text(fields, "url"), _text(fields, "due")
        if rid is not None:
            if not IDENT.fullmatch(rid):
                problem((*at, "id"), "ids use letters, digits, '.', '_' and '-' (at most 128)")
            elif rid in seen_ids:
                problem((*at, "id"), f"duplicate id {rid!r} (also releases[{seen_ids[rid]}])")
            seen_ids.setdefault(rid, i)
        due = None
        if due_text is not None:
            try:
                due = parse_due(due_text)
            except ValueError as exc:
                problem((*at, "due"), str(exc))
            except OverflowError:
                problem((*at, "due"), f"{due_text!r} is out of range")
            first, last = _DUE_YEARS
            if due is not None and not first <= due.year <= last:
                # Policy adds days to due times; year 1 or 9999 would overflow mid-tick.
                problem((*at, "due"), f"{due_text!r}: expected a year from {first} to {last}")
                due = None
        if url is not None:
            url_problem = problem_with_url(url, local_mode)
            if url_problem:
                problem((*at, "url"), url_problem)
        publication_url = _text(fields, "publication_url")
        if publication_url is not None:
            pub_problem = problem_with_url(publication_url, local_mode)
            if pub_problem:
                problem((*at, "publication_url"), pub_problem)
        chain_name = _text(fields, "chain") or default_chain
        if chain_name is None:
            problem(
                (*at, "chain"),
                "no chain given and no defaults.chain to fall back on (chain: none watches "
                "the release without alerting anyone)",
            )
        elif chain_name == NO_CHAIN and isinstance(fields.get("readiness"), dict):
            problem((*at, "readiness"), "chain: none alerts nobody, so nobody can be asked")
        elif chain_name not in (NO_CHAIN, *raw_chains):
            problem((*at, "chain"), f"unknown chain {chain_name!r}")
        stale = False  # more than PAST_DUE_LIMIT past due: warned about, never refused
        if due is not None and now is not None and fields.get("cancelled") is not True:
            past = _past_due(due, now, fields.get("past_due_ok") is True, rid)
            if past is not None:
                stale, message = past
                warning((*at, "due"), message)
        observed = chain_name == NO_CHAIN
        if r is None or len(problems) > before or (chain_name not in chains and not observed):
            continue
        assert due is not None
        chain = None if observed else chains[str(chain_name)]
        used = {cid for s in chain.steps for cid in s.notify} if chain is not None else set()
        if not used <= contacts.keys():
            continue  # a contact in the chain is invalid; already reported under contacts
        used |= {m for cid in used for m in rota.members(contacts[cid])}  # whoever is on call
        if not used <= contacts.keys():
            continue  # a rota member is invalid; already reported under contacts
        ok, ready = True, None
        if chain is not None:
            ok, ready = resolve_readiness(
                defaults.readiness, r.readiness, chain, contacts, at, problem
            )
        if not ok:
            continue
        if ready is not None:
            used |= {*ready.notify, *ready.escalate_to}
            used |= {m for cid in list(used) for m in rota.members(contacts[cid])}
        bust = r.cache_bust if r.cache_bust is not None else defaults.cache_bust
        try:
            (stale_releases if stale else releases).append(
                Release(
                    id=r.id,
                    title=r.title,
                    url=r.url,
                    publication_url=r.publication_url,
                    due=due,
                    producer=r.producer if r.producer is not None else defaults.producer,
                    rule=default_rule(r.title, r.live, r.url),
                    chain=chain,
                    contacts={cid: contacts[cid] for cid in sorted(used)},
                    cache_bust_param=bust_param(bust),
                    pre_window=r.pre_window if r.pre_window is not None else defaults.pre_window,
                    grace=r.grace if r.grace is not None else defaults.grace,
                    ack_timeout=(
                        r.ack_timeout if r.ack_timeout is not None else defaults.ack_timeout
                    ),
                    cadence=defaults.cadence,
                    cancelled=r.cancelled,
                    allow_loopback=local_mode,
                    readiness=ready,
                )
            )
        except ValidationError as exc:
            problems.extend(_from_validation(exc, doc, at))
            continue
        if checks_status_only((stale_releases if stale else releases)[-1].rule):
            warning(
                (*at, "live"),
                "the live rule checks the status alone (status_only: true), so an error or "
                f"maintenance page served with status {r.live.status} would count as the "
                "publication; drop status_only to use the default content rule, or give "
                "contains/not_contains",
            )
    calendars, series, where = _calendars(raw, local_mode, raw_chains, validate, problem, contacts)
    _warn_beside_everything(calendars, default_chain, where, warning)
    sync_every = _sync_every(raw.get("sync_every"), problem)
    politeness = validate(PolitenessIn, raw.get("politeness") or {}, ("politeness",))
    if problems:
        raise ConfigError(problems)
    return Config(
        releases=releases,
        stale=stale_releases,
        local_mode=local_mode,
        file=doc.file,
        max_attempts=defaults.max_attempts,
        warnings=warnings,
        calendars=calendars,
        series=series,
        chains=chains,
        contacts=contacts,
        defaults=defaults,
        default_chain=default_chain,
        sync_every=sync_every,
        notify=notify_block,
        transport=transport,
        politeness=politeness or PolitenessIn(),
    )


def _on_transport(step: Step, transport: str) -> Step:
    """With `defaults.transport: notify`, a step's email and sms go through Notify."""
    if transport != "notify":
        return step
    via: dict[Channel, Channel] = {"email": "notify_email", "sms": "notify_sms"}
    channels = tuple(dict.fromkeys(via.get(c, c) for c in step.channels))
    return step.model_copy(update={"channels": channels})


DEFAULT_SYNC_EVERY = timedelta(hours=6)
MIN_SYNC_EVERY = timedelta(minutes=10)  # the calendars change daily at most; spare GOV.UK


def _sync_every(value: Any, problem: Any) -> timedelta:
    """`sync_every:` (how often `run` re-syncs its calendars), at least 10m; default 6h."""
    if value is None:
        return DEFAULT_SYNC_EVERY
    try:
        every = parse_duration(value) if isinstance(value, str) else None
    except ValueError:
        every = None
    if every is None or every < MIN_SYNC_EVERY:
        problem(("sync_every",), "expected a duration of at least 10m, e.g. '6h' (the default)")
        return DEFAULT_SYNC_EVERY
    return every


def _calendars(
    raw: dict[str, Any],
    local_mode: bool,
    raw_chains: dict[str, Any],
    validate: Any,
    problem: Any,
    contacts: dict[str, Contact],
) -> tuple[list[CalendarSpec], list[SeriesSpec], dict[str, int]]:
    """`calendars:` and `series:`, each mistake reported where it is; and each calendar's
    index in `calendars:` by its label."""
    calendars: list[CalendarSpec] = []
    raw_calendars = raw.get("calendars") or []
    if not isinstance(raw_calendars, list):
        problem(("calendars",), "expected a list of sources (govuk, ons, csv, ics)")
        raw_calendars = []
    labels: dict[str, int] = {}
    for i, data in enumerate(raw_calendars):
        spec = validate(CalendarSpec, data, ("calendars", i))
        if spec is None:
            continue
        if spec.label in labels:
            problem(("calendars", i), f"the same source as calendars[{labels[spec.label]}]")
            continue
        labels[spec.label] = i
        urls: list[tuple[tuple[Any, ...], str]] = []
        if spec.govuk is not None:
            urls.append((("calendars", i, "govuk", "base_url"), spec.govuk.base_url))
        elif spec.ons is not None:
            urls.append((("calendars", i, "ons", "base_url"), spec.ons.base_url))
            urls.append((("calendars", i, "ons", "site_url"), spec.ons.site_url))
        elif spec.ics is not None and "://" in spec.ics:
            urls.append((("calendars", i, "ics"), spec.ics))
        bad = [(key, why) for key, url in urls if (why := problem_with_url(url, local_mode))]
        if spec.chain is not None and spec.chain not in (NO_CHAIN, *raw_chains):
            bad.append((("calendars", i, "chain"), f"unknown chain {spec.chain!r}"))
        for key, why in bad:
            problem(key, why)
        if not bad:
            calendars.append(spec)
    series: list[SeriesSpec] = []
    raw_series = raw.get("series") or []
    if not isinstance(raw_series, list):
        problem(("series",), "expected a list of {match, organisation, chain, live, readiness}")
        raw_series = []
    for i, data in enumerate(raw_series):
        one = validate(SeriesSpec, data, ("series", i))
        if one is None:
            continue
        unknown = [
            ((name, j), cid)
            for name in ("notify", "escalate_to")
            for j, cid in enumerate(getattr(one.readiness, name, None) or ())
            if cid not in contacts
        ]
        for (name, j), cid in unknown:
            problem(("series", i, "readiness", name, j), f"unknown contact {cid!r}")
        if one.chain is not None and one.chain not in (NO_CHAIN, *raw_chains):
            problem(("series", i, "chain"), f"unknown chain {one.chain!r}")
        elif one.chain == NO_CHAIN and one.readiness is not None:
            problem(("series", i, "readiness"), "chain: none alerts nobody, so nobody can be asked")
        elif not unknown:
            series.append(one)
    return calendars, series, labels


def _warn_beside_everything(
    calendars: list[CalendarSpec], default_chain: str | None, where: dict[str, int], warning: Any
) -> None:
    """Beside a calendar of every organisation (whose unmapped releases are observed), another
    calendar that falls back to defaults.chain (or the only chain) alerts that chain for all of
    its releases no series maps: said, because a whole-system deployment rarely means it."""
    if default_chain in (None, NO_CHAIN) or not any(
        c.govuk is not None and c.govuk.everything for c in calendars
    ):
        return
    for spec in calendars:
        if spec.chain is None and not (spec.govuk is not None and spec.govuk.everything):
            warning(
                ("calendars", where[spec.label]),
                f"the {spec.label} releases no series maps alert chain {default_chain!r} "
                "(defaults.chain); to only observe them, as organisations: all does, add "
                "chain: none to this calendar",
            )


def _rota(
    spec: Any,
    file: str,
    at: Path,
    problem: Any,
    fetch: RotaFetch | None = None,
    local_mode: bool = False,
) -> Rota | None:
    """`rota: {weekly: [...]}` or `rota: {ics: FILE-or-URL, override: FILE-or-URL}` (paths
    relative to the config file). Read now, so a bad rota is a config error, never a failed
    tick."""
    if not isinstance(spec, dict) or len({"weekly", "ics"} & spec.keys()) != 1:
        problem(at, "expected {weekly: [...]} or {ics: FILE, override: FILE}")
        return None
    extra = set(spec) - {"weekly", "ics", "override"}
    if extra or ("override" in spec and "ics" not in spec):
        problem(at, "expected {weekly: [...]} or {ics: FILE, override: FILE}")
        return None
    try:
        if "weekly" in spec:
            return rota.weekly(spec["weekly"])
        base = FsPath(file).parent
        main = _read_rota_file(base, spec["ics"], (*at, "ics"), fetch, local_mode)
        extra_cal = spec.get("override")
        override = (
            _read_rota_file(base, extra_cal, (*at, "override"), fetch, local_mode)
            if extra_cal
            else None
        )
        return rota.ics(main, override)
    except rota.RotaError as exc:
        problem(at, str(exc))
        return None


def _read_rota_file(
    base: FsPath, name: Any, at: Path, fetch: RotaFetch | None = None, local_mode: bool = False
) -> bytes:
    if isinstance(name, str) and "://" in name and fetch is not None:
        try:
            return fetch(name, local_mode)
        except rota.RotaError as exc:
            hint = ""
            if not local_mode and _needs_local_mode(name):
                hint = " (a rota on this machine is read only with local_mode: true)"
            raise rota.RotaError(f"{format_path(at)}: {exc}{hint}") from None
    if not isinstance(name, str) or "://" in name:
        # A rota from a URL is read by push and the AWS sync (which pass `fetch`) only.
        raise rota.RotaError(
            f"{format_path(at)}: expected a file path (URLs are not supported by run and sync "
            "yet; push and the AWS sync read them)"
        )
    try:
        return read_local(base, name)
    except LocalFileError as exc:
        raise rota.RotaError(f"{format_path(at)}: {exc}") from None


def _ids(block: Any, key: str) -> list[str]:
    value = block.get(key) if isinstance(block, dict) else None
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def resolve_readiness(
    defaults: ReadinessIn,
    own: ReadinessIn | None,
    chain: Chain,
    contacts: dict[str, Contact],
    at: Path,
    problem: Any,
) -> tuple[bool, Readiness | None]:
    """(ok, a release's resolved readiness: None when switched off); not ok after a problem,
    reported.
    Defaults: notify the contacts of the chain's first two steps; escalate to every contact
    whose role is lead_official."""
    merged = defaults.model_copy(update=own.model_dump(exclude_none=True) if own else {})
    if merged.enabled is False:
        return True, None
    base = Readiness()
    notify = merged.notify
    if notify is None:
        notify = tuple(dict.fromkeys(c for s in chain.steps[:2] for c in s.notify))
    escalate_to = merged.escalate_to
    if escalate_to is None:
        escalate_to = tuple(sorted(c.id for c in contacts.values() if c.role == "lead_official"))
    ok = True
    for name in ("notify", "escalate_to"):
        ids: tuple[str, ...] = (getattr(own, name) if own else None) or ()
        for j, cid in enumerate(ids):
            if cid not in contacts:
                problem((*at, "readiness", name, j), f"unknown contact {cid!r}")
                ok = False
    remind = merged.remind_at or base.remind_at
    escalate = merged.escalate_at or base.escalate_at
    if escalate <= remind:
        where = "escalate_at" if own and own.escalate_at else "remind_at"
        problem(
            (*at, "readiness", where),
            f"escalate_at ({escalate:%H:%M}) must be later than remind_at ({remind:%H:%M}) "
            "on the same day",
        )
        ok = False
    if not ok or not {*notify, *escalate_to} <= contacts.keys():
        return False, None  # an unknown contact in defaults.readiness was reported there
    return True, Readiness(
        remind_at=remind,
        escalate_at=escalate,
        last_call=merged.last_call or base.last_call,
        nation=merged.nation or base.nation,
        notify=notify,
        escalate_to=escalate_to,
    )


_TOP_LEVEL = {
    "version",
    "notify",
    "local_mode",
    "defaults",
    "contacts",
    "chains",
    "releases",
    "calendars",
    "series",
    "sync_every",
    "politeness",
}
_M = TypeVar("_M", bound=BaseModel)


def _as_dict(data: Any) -> dict[str, Any]:
    return data if isinstance(data, dict) else {}


def _text(fields: dict[str, Any], key: str) -> str | None:
    value = fields.get(key)
    return value if isinstance(value, str) else None


def _past_due(
    due: datetime, now: datetime, deliberate: bool, rid: str | None = None
) -> tuple[bool, str] | None:
    """(is_error, message) about a due time before `now`, or None if it is not past. The
    stale warning names the release: the one `run` leaves out must be findable by its id."""
    ago = now - due
    if ago <= timedelta(0) or deliberate:
        return None
    when = f"{uk_datetime(due)} is {delay_text(ago)} ago"
    if ago > PAST_DUE_LIMIT:
        name = repr(rid) if rid else "the release"
        return True, (
            f"{when}, more than {PAST_DUE_LIMIT.days} days in the past (last time's date?): "
            f"{name} is not started, the other releases are (one already watched keeps its "
            "record and is watched as before); if the release is over, remove it; if this is "
            "deliberate (a rehearsal, a replay), add past_due_ok: true to the release"
        )
    return False, f"{when}: the release is already overdue and its alerts start at once"


def _mapping(raw: dict[str, Any], key: str, problem: Any) -> dict[str, Any]:
    value = raw.get(key)
    if isinstance(value, dict) and value:
        return value
    if problem is not None:
        problem((key,), f"expected a non-empty mapping of {key}")
    return {}


def _from_validation(exc: ValidationError, doc: YamlDocument, base: Path) -> list[ConfigProblem]:
    problems = []
    for err in exc.errors():
        loc = _data_path(base, tuple(p for p in err["loc"] if isinstance(p, (str, int))), doc)
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (check the spelling; see docs/configuration.md)"
        elif err["type"] == "missing":
            message = "required field is missing"
        elif err["type"] in ("model_type", "model_attributes_type", "dict_type"):
            message = "expected a mapping of fields (key: value)"
        elif err["type"] == "string_type" and _yaml_read_a_number(err["input"]):
            message = _quote_it(loc)
        problems.append(ConfigProblem(format_path(loc), message, doc.file, doc.line_of(loc)))
    return _dedupe(problems)


def _yaml_read_a_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _quote_it(loc: Path) -> str:
    """Text that YAML read as a number (`phone: +447700900123` is the integer 447700900123):
    say to quote it. The example is a fixture number, never the one in the file (no phone
    number reaches a log)."""
    if loc and loc[-1] == "phone":
        return (
            "a phone number must be quoted, or YAML reads it as a number: "
            'write phone: "+447700900123" (with your number)'
        )
    return "expected text, but YAML read a number: put the value in quotes"


def _data_path(base: Path, loc: Path, doc: YamlDocument) -> Path:
    """pydantic's loc also names union branches and validators; keep the path into the data."""
    node: Any = doc.data
    for part in base:
        node = node[part] if isinstance(node, (dict, list)) else None  # type: ignore[index]
    out: list[str | int] = list(base)
    for part in loc:
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and isinstance(part, str):
            out.append(part)  # a missing or unknown key: name it
            break
        else:
            break
    return tuple(out)


def _dedupe(problems: list[ConfigProblem]) -> list[ConfigProblem]:
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            out.append(p)
    return out


def bust_param(value: str | bool) -> str | None:
    if value is True:
        return DEFAULT_CACHE_BUST_PARAM
    if value is False:
        return None
    return value


def problem_with_url(url: str, local_mode: bool) -> str | None:
    """Why the prober would refuse `url` (the same check it runs before every request)."""
    try:
        parsed = httpx.URL(url)
        host = parsed.host  # decoded lazily: punycode that does not decode raises here
    except (httpx.InvalidURL, ValueError) as exc:  # idna errors are ValueErrors
        return f"not a valid URL: {exc}"
    if not host or parsed.scheme not in ("http", "https"):
        return "expected an absolute https URL like https://www.gov.uk/government/statistics/..."
    reasons, plain_http = _refusals(parsed, local_mode)
    if not reasons:
        return None
    if not local_mode and not _refusals(parsed, True)[0]:
        return _local_only(host)
    text = "; ".join(reasons)
    if plain_http:
        return f"only https URLs can be watched, not http ({text})"
    return f"cannot be probed: {text}"


def _needs_local_mode(url: str) -> bool:
    """Refused as it is, allowed in local mode: a page or file on this machine."""
    try:
        parsed = httpx.URL(url)
        parsed.host  # noqa: B018 (decoding the host is what may fail)
    except (httpx.InvalidURL, ValueError):
        return False
    return bool(_refusals(parsed, False)[0]) and not _refusals(parsed, True)[0]


def _local_only(host: str) -> str:
    """A page on this machine (http or https): the one setting that allows it, by its name."""
    return (
        f"{host} is this machine (a loopback address); pages here are watched only in local "
        "mode, for testing: set local_mode: true at the top of the config"
    )


def _refusals(url: httpx.URL, allow_loopback: bool) -> tuple[list[str], bool]:
    """Every reason check_url gives for `url`, not just the first: after a refusal for
    credentials or plain http, check again without them (one pass, no rounds of fixes).
    Also says whether plain http was one of the reasons."""
    reasons: list[str] = []
    plain_http = False
    for _ in range(3):
        try:
            check_url(url, allow_loopback=allow_loopback)
            break
        except ProbeRefused as exc:
            reasons.append(str(exc))
            if url.userinfo:
                url = url.copy_with(userinfo=b"")
            elif url.scheme == "http":
                plain_http = True
                url = url.copy_with(scheme="https")
            else:
                break
    return reasons, plain_http
