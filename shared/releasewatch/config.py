"""The YAML authoring format → resolved Release models.

Every mistake is reported with its file, YAML line and path (`releases[2].due`), all at once;
a config with any mistake yields no releases at all, so nothing is ever half-applied.
See infra/releasewatch.example.yaml for an annotated example of every field.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path as FsPath
from typing import Any, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .errors import ConfigError, ConfigProblem
from .model import IDENT, Cadence, Chain, Contact, LiveRule, Release, Step, _duration
from .probe.rules import default_rule
from .timefmt import parse_due
from .yamlsource import Path, YamlDocument, format_path, load_yaml

DEFAULT_CACHE_BUST_PARAM = "rwcb"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DefaultsIn(_In):
    chain: str | None = None
    producer: str = ""
    pre_window: timedelta = timedelta(minutes=15)
    grace: timedelta = timedelta(minutes=2)
    ack_timeout: timedelta = timedelta(minutes=30)
    cache_bust: str | bool = DEFAULT_CACHE_BUST_PARAM
    cadence: Cadence = Cadence()

    _d = field_validator("pre_window", "grace", "ack_timeout", mode="before")(_duration)


class ReleaseIn(_In):
    id: str
    title: str
    url: str
    due: str
    chain: str | None = None
    producer: str | None = None
    live: LiveRule = LiveRule()
    cache_bust: str | bool | None = None
    pre_window: timedelta | None = None
    grace: timedelta | None = None
    ack_timeout: timedelta | None = None
    cancelled: bool = False

    _d = field_validator("pre_window", "grace", "ack_timeout", mode="before")(_duration)

    @field_validator("due", mode="before")
    @classmethod
    def _due_text(cls, v: Any) -> Any:
        return str(v) if v is not None and not isinstance(v, (dict, list)) else v


@dataclass(frozen=True)
class Config:
    releases: list[Release]
    local_mode: bool
    file: str


def load_config(path: str | FsPath) -> Config:
    """Read and validate a config file; raises ConfigError listing every problem."""
    file = str(path)
    try:
        text = FsPath(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([ConfigProblem("", f"cannot read: {exc.strerror}", file=file)]) from None
    return parse_config(text, file)


def parse_config(text: str, file: str = "<config>") -> Config:
    doc = load_yaml(text, file)
    problems: list[ConfigProblem] = []

    def problem(path: Path, message: str) -> None:
        problems.append(ConfigProblem(format_path(path), message, doc.file, doc.line_of(path)))

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
    defaults = validate(DefaultsIn, raw.get("defaults") or {}, ("defaults",)) or DefaultsIn()

    contacts: dict[str, Contact] = {}
    for cid, data in _mapping(raw, "contacts", problem).items():
        if not IDENT.fullmatch(cid):
            problem(("contacts", cid), "contact ids use letters, digits, '.', '_' and '-'")
            continue
        if not isinstance(data, dict):
            problem(("contacts", cid), "expected a mapping with name, role, email and/or phone")
            continue
        contact = validate(Contact, {"id": cid, **data}, ("contacts", cid))
        if contact is not None:
            contacts[cid] = contact

    raw_chains = _mapping(raw, "chains", problem)
    chains: dict[str, Chain] = {}
    for name, steps_raw in raw_chains.items():
        if not isinstance(steps_raw, list) or not steps_raw:
            problem(("chains", name), "expected a list of at least one step")
            continue
        steps: list[Step] = []
        for i, step_raw in enumerate(steps_raw):
            step = validate(Step, step_raw, ("chains", name, i))
            if step is None:
                continue
            for j, cid in enumerate(step.notify):
                if cid not in contacts and cid not in _mapping(raw, "contacts", None):
                    problem(("chains", name, i, "notify", j), f"unknown contact {cid!r}")
                    step = None
                    break
            if step is not None:
                steps.append(step)
        if len(steps) == len(steps_raw):
            chains[name] = Chain(id=name, steps=tuple(steps))

    default_chain = defaults.chain
    if default_chain is not None and default_chain not in raw_chains:
        problem(("defaults", "chain"), f"unknown chain {default_chain!r}")
    if default_chain is None and len(raw_chains) == 1:
        default_chain = next(iter(raw_chains))

    releases: list[Release] = []
    seen_ids: dict[str, int] = {}
    raw_releases = raw.get("releases") or []
    if not isinstance(raw_releases, list):
        problem(("releases",), "expected a list of releases")
        raw_releases = []
    for i, data in enumerate(raw_releases):
        at: Path = ("releases", i)
        before = len(problems)
        r = validate(ReleaseIn, data, at)
        if r is None:
            continue
        if not IDENT.fullmatch(r.id):
            problem((*at, "id"), "ids use letters, digits, '.', '_' and '-' (at most 128)")
        elif r.id in seen_ids:
            problem((*at, "id"), f"duplicate id {r.id!r} (also releases[{seen_ids[r.id]}])")
        seen_ids.setdefault(r.id, i)
        try:
            due = parse_due(r.due)
        except ValueError as exc:
            problem((*at, "due"), str(exc))
        url_problem = _check_url(r.url, local_mode)
        if url_problem:
            problem((*at, "url"), url_problem)
        chain_name = r.chain or default_chain
        if chain_name is None:
            problem((*at, "chain"), "no chain given and no defaults.chain to fall back on")
        elif chain_name not in raw_chains:
            problem((*at, "chain"), f"unknown chain {chain_name!r}")
        if len(problems) > before or chain_name not in chains:
            continue
        chain = chains[chain_name]
        used = {cid for s in chain.steps for cid in s.notify}
        if not used <= contacts.keys():
            continue  # a contact in the chain is invalid; already reported under contacts
        bust = r.cache_bust if r.cache_bust is not None else defaults.cache_bust
        try:
            releases.append(
                Release(
                    id=r.id,
                    title=r.title,
                    url=r.url,
                    due=due,
                    producer=r.producer if r.producer is not None else defaults.producer,
                    rule=default_rule(r.title, r.live),
                    chain=chain,
                    contacts={cid: contacts[cid] for cid in sorted(used)},
                    cache_bust_param=_bust_param(bust),
                    pre_window=r.pre_window if r.pre_window is not None else defaults.pre_window,
                    grace=r.grace if r.grace is not None else defaults.grace,
                    ack_timeout=r.ack_timeout or defaults.ack_timeout,
                    cadence=defaults.cadence,
                    cancelled=r.cancelled,
                    allow_loopback=local_mode,
                )
            )
        except ValidationError as exc:
            problems.extend(_from_validation(exc, doc, at))
    if problems:
        raise ConfigError(problems)
    return Config(releases=releases, local_mode=local_mode, file=doc.file)


_TOP_LEVEL = {"version", "local_mode", "defaults", "contacts", "chains", "releases"}
_M = TypeVar("_M", bound=BaseModel)


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
            message = "unknown key (check the spelling; see the config reference in README)"
        elif err["type"] == "missing":
            message = "required field is missing"
        problems.append(ConfigProblem(format_path(loc), message, doc.file, doc.line_of(loc)))
    return _dedupe(problems)


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


def _bust_param(value: str | bool) -> str | None:
    if value is True:
        return DEFAULT_CACHE_BUST_PARAM
    if value is False:
        return None
    return value


def _check_url(url: str, local_mode: bool) -> str | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return "expected an absolute URL like https://www.gov.uk/government/statistics/..."
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and local_mode and _is_loopback(parts.hostname):
        return None
    if parts.scheme == "http" and _is_loopback(parts.hostname):
        return "http is allowed only for loopback addresses in local mode (set local_mode: true)"
    return f"only https URLs can be watched, not {parts.scheme or 'a bare host'}"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
