"""Jinja2 for every page: autoescape on, templates in web/templates/, the environment built on
the first render (not at import: the API handler's cold start stays cheap), every page passed
through scrub.scrub on its way out.

`root` is the relative path from the page to the site's root ('', '../', '../../../'), and
`home` to the board's home ('./' or '../'): pages link relatively, so a signed dashboard link's
token stays in every link and a reverse proxy's path prefix is kept."""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

from . import assets
from .scrub import scrub

if TYPE_CHECKING:
    from jinja2 import Environment


@lru_cache(maxsize=1)
def environment() -> Environment:
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("releasewatch.web", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,  # a typo in a template fails its test, not silently
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["asset"] = assets.path
    env.globals["govuk_frontend_version"] = assets.govuk_frontend_version
    return env


def render(template: str, **context: Any) -> str:
    context.setdefault("root", "")
    context.setdefault("home", "./")
    context.setdefault("refresh", False)  # the board's pages refresh; message pages do not
    context.setdefault("nav_home", context["refresh"])  # the header links to the board
    return scrub(environment().get_template(template).render(**context))


def roots(path: str) -> tuple[str, str]:
    """(root, home) for a request path: '/d/<token>/r/<id>' → ('../../../', '../')."""
    depth = max(0, path.count("/") - 1)
    root = "../" * depth
    home_depth = max(0, depth - 2) if path.startswith("/d/") else depth
    return root, ("../" * home_depth) or "./"
