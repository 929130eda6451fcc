"""The punctuality record's files, as the board serves them (/punctuality, punctuality.csv,
producers.csv, punctuality.json, late-and-early.atom) and as `releasewatch punctuality --out`
writes them: the same bytes either way, every one through scrub.scrub on its way out (the
record holds no contact, but a calendar's title may quote an address)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime

from ..punctuality import atom, csv_out
from ..punctuality.document import document
from ..punctuality.summary import COUNTED, Period, by_producer, in_period, summarise
from ..punctuality.verdicts import Judged
from . import assets
from .punctuality_names import DATA_FILES, SCHEMA_FILE
from .render import render
from .scrub import scrub
from .views.punctuality import (
    COLUMNS,
    Links,
    Query,
    StaticFiles,
    build_page,
    releases_file,
)


def data_file(
    name: str, judged: Sequence[Judged], period: Period, now: datetime, page: str = "punctuality"
) -> str:
    """One data file for `period`; `page`: the punctuality page's address from beside it.
    Raises KeyError for a name not in DATA_FILES."""
    shown = in_period(judged, period)
    if name == "punctuality.csv":
        text = csv_out.releases_csv(shown)
    elif name == "producers.csv":
        text = csv_out.producers_csv(shown)
    elif name == "punctuality.json":
        text = json.dumps(document(shown, period, now), ensure_ascii=False, indent=1)
    elif name == "late-and-early.atom":
        text = atom.feed(shown, now, self_href="late-and-early.atom", page_href=page)
    else:
        raise KeyError(name)
    return scrub(text)


def page_html(
    judged: Sequence[Judged],
    query: Query,
    links: Links,
    now: datetime,
    *,
    root: str = "",
    home: str = "./",
    schema_href: str,
    nav_home: bool = True,
) -> str:
    page = build_page(judged, query, links, now)
    return render(
        "punctuality.html",
        title=page.heading if not page.filtered else f"{page.listing_heading} - punctuality",
        page=page,
        root=root,
        home=home,
        schema_href=schema_href,
        nav_home=nav_home,
    )


def static_site(judged: Sequence[Judged], period: Period, now: datetime) -> dict[str, str]:
    """Every file of the static punctuality site, by its path in the folder: index.html (and
    one page per sort order, one per number's releases), the data files, the schema and the
    stylesheet. Links are relative, so the folder can be published anywhere as it is."""
    from importlib.resources import files

    links = StaticFiles()
    schema = files("releasewatch.web").joinpath("schema", SCHEMA_FILE).read_text("utf-8")
    out = {name: data_file(name, judged, period, now, page="index.html") for name in DATA_FILES}
    out[SCHEMA_FILE] = schema
    out[assets.path("board.css")] = assets.content("board.css")

    def page(query: Query) -> str:
        return page_html(judged, query, links, now, schema_href=SCHEMA_FILE, nav_home=False)

    for key, _label in COLUMNS:
        for order in ("asc", "desc"):
            name = links.sorted_by(key, order)
            out[name] = page(Query(period=period, sort=key, order=order))
    shown = in_period(judged, period)
    summaries = [(None, summarise(shown)), *((s.producer, s) for s in by_producer(shown))]
    for producer, summary in summaries:
        query = Query(period=period, producer=producer, all_releases=True)
        out[releases_file(producer, None)] = page(query)
        for verdict in COUNTED:
            if summary.count(verdict):  # only a number above zero links to its releases
                query = Query(period=period, producer=producer, verdict=verdict)
                out[releases_file(producer, verdict)] = page(query)
    return out
