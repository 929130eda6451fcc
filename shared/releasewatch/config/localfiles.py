"""Files the config names (csv: and ics: calendars, ics: rotas), read from the config's folder
only: the path is resolved (symlinks followed) and must stay inside that folder, name a regular
file (never a FIFO or device that would hang or never end) and fit a size cap. An error names
the path as the config gave it and what is wrong, never the file's contents."""

from __future__ import annotations

import os
import stat
from pathlib import Path

LOCAL_MAX_BYTES = 4 * 1024 * 1024  # a year of shifts, or of releases, is a few hundred KB


class LocalFileError(Exception):
    """The file cannot be read as configured; the message says why."""


def read_local(base: Path, name: str, cap: int = LOCAL_MAX_BYTES) -> bytes:
    """The bytes of `name` (relative to `base`, the config's folder)."""
    try:
        folder = base.resolve()
        target = (folder / name).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # a symlink loop, a NUL in the name
        raise LocalFileError(f"{name!r}: cannot be resolved ({type(exc).__name__})") from None
    if not target.is_relative_to(folder):
        raise LocalFileError(
            f"{name!r} is outside the config's folder ({folder}); calendar and rota files are "
            "read from that folder only (symlinks are followed before checking)"
        )
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise LocalFileError(f"cannot read {name!r}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise LocalFileError(f"{name!r} is not a regular file")
        data = f.read(cap + 1)
    if len(data) > cap:
        raise LocalFileError(f"{name!r} is larger than {cap} bytes")
    return data
