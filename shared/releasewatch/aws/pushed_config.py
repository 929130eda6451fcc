"""The config as `push` left it, for the scheduled calendar sync on AWS.

Locally `sync` and `run` read the YAML file and the files it names (a CSV or ICS calendar, an
iCal rota) from disk. On AWS there is no disk to read them from, so `push` keeps a bundle in
the table (aws/blobs.py): the YAML text as written plus every local file it names, and the
sync function unpacks it into a temporary folder and reads it with the same load_config. URLs
(an ICS calendar, an iCal rota) are not bundled: they are fetched at each sync.
"""

from __future__ import annotations

import base64
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from ..config.load import Config, RotaFetch, load_config
from ..config.localfiles import LocalFileError, read_local
from ..errors import ConfigError, ConfigProblem
from .blobs import Documents

CONFIG = "config"


def bundle(config_file: Path, config: Config) -> bytes:
    """The YAML file and the local files it names, as one JSON document. ConfigError when a
    named file lies outside the config's folder (it could not be placed on AWS) or is
    unreadable."""
    base = config_file.parent
    names: list[tuple[str, str]] = []  # (where in the config, relative path)
    for i, spec in enumerate(config.calendars):
        for kind in ("csv", "ics"):
            value = getattr(spec, kind, None)
            if isinstance(value, str) and "://" not in value:
                names.append((f"calendars[{i}].{kind}", value))
    raw: Any = yaml.safe_load(config_file.read_text(encoding="utf-8-sig")) or {}
    contacts = raw.get("contacts") if isinstance(raw, dict) else None
    for cid, contact in (contacts or {}).items():
        rota = contact.get("rota") if isinstance(contact, dict) else None
        for key in ("ics", "override"):
            value = rota.get(key) if isinstance(rota, dict) else None
            if isinstance(value, str) and "://" not in value:
                names.append((f"contacts.{cid}.rota.{key}", value))
    files: dict[str, str] = {}
    problems = []
    for where, name in names:
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts:
            problems.append(
                ConfigProblem(
                    where,
                    "a file pushed to AWS must be a path inside the config's "
                    f"folder (got {name!r})",
                    file=str(config_file),
                )
            )
            continue
        try:  # confined as locally: a symlink out of the folder is never uploaded
            files[str(rel)] = base64.b64encode(read_local(base, name)).decode("ascii")
        except LocalFileError as exc:
            problems.append(ConfigProblem(where, str(exc), file=str(config_file)))
    if problems:
        raise ConfigError(problems)
    text = config_file.read_bytes()
    return json.dumps(
        {
            "version": 1,
            "name": config_file.name,
            "text": base64.b64encode(text).decode("ascii"),
            "files": files,
        },
        sort_keys=True,
    ).encode()


def save(documents: Documents, data: bytes, now: datetime) -> None:
    documents.put(CONFIG, data, now)


@contextmanager
def unpacked(data: bytes) -> Iterator[Path]:
    """The bundle written to a temporary folder (removed afterwards): the config file's path."""
    try:
        doc = json.loads(data)
        name = PurePosixPath(doc["name"]).name or "config.yaml"
        text = base64.b64decode(doc["text"])
        files = {k: base64.b64decode(v) for k, v in doc["files"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"the pushed config is damaged: {exc}") from None
    with tempfile.TemporaryDirectory(prefix="releasewatch-config-") as folder:
        root = Path(folder)
        for rel, content in files.items():
            path = PurePosixPath(rel)
            if path.is_absolute() or ".." in path.parts:
                raise ValueError(f"the pushed config names a file outside its folder: {rel!r}")
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        (root / name).write_bytes(text)
        yield root / name


@contextmanager
def pushed(documents: Documents, fetch: RotaFetch | None = None) -> Iterator[Config | None]:
    """The config last pushed, read as `sync` reads a file (None if nothing was pushed yet).
    ConfigError if it no longer reads (an iCal rota's URL fails); ValueError if damaged.
    Its files stay on disk while the `with` block runs (a CSV calendar is read by the sync).

    Due times are not checked against the present: push did that, and a hand-written release
    due a week ago must not stop every later sync (as `run` reads its config once)."""
    data = documents.get(CONFIG)
    if data is None:
        yield None
        return
    with unpacked(data) as path:
        yield load_config(path, fetch=fetch)
