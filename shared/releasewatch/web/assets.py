"""The board's static files (web/static/), served by the local server and the API Lambda under
a versioned path (`static/<content hash>/<name>`), so a browser may cache them for a year and
still never keeps an old copy after a deploy."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
# name served → the files it is made of, in order (one request for all the CSS)
BUNDLES: dict[str, tuple[str, ...]] = {
    "board.css": ("govuk-frontend.min.css", "board.css", "punctuality.css"),
    "refresh.js": ("refresh.js",),
}
TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
_LETTERS = str.maketrans("0123456789", "ghijklmnop")
LONG_CACHE = "public, max-age=31536000, immutable"


@lru_cache(maxsize=len(BUNDLES))
def content(name: str) -> str:
    """Raises KeyError for a name that is not served."""
    return "\n".join((STATIC / part).read_text(encoding="utf-8") for part in BUNDLES[name])


@lru_cache(maxsize=1)
def version() -> str:
    digest = hashlib.sha256()
    for name in sorted(BUNDLES):
        digest.update(content(name).encode())
    # Letters only: every page passes through scrub.scrub, and a hex digest such as
    # '0123456789ab' is shaped like a UK phone number, which would blank the path.
    return digest.hexdigest()[:12].translate(_LETTERS)


def path(name: str) -> str:
    """'static/<version>/<name>', relative to the site's root."""
    return f"static/{version()}/{name}"


def content_type(name: str) -> str:
    return TYPES[Path(name).suffix]


def govuk_frontend_version() -> str:
    return (STATIC / "govuk-frontend.VERSION").read_text().strip()
