"""More verdicts on the web as it is, through `releasewatch run --once` on loopback (issue 17):
what the public sees, ONS release pages before and after publication, and a config with a
release long past due. Same fixtures as test_verdicts_cli (an SMTP server, the SQLite file)."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import pytest

from releasewatch.config.load import load_config
from releasewatch.model import Event, EventKind, ReleaseState
from releasewatch.store.sqlite import SQLiteStore
from releasewatch.timefmt import LONDON
from tests.calendar_support import ons_release
from tests.e2e.test_local_cli import Inbox, releasewatch, smtp  # noqa: F401  (a fixture)
from tests.e2e.test_verdicts_cli import SMTP_ENV, iso, key, publication
from tests.probe_support import (
    Handler,
    loopback_server,
    make_ca_and_certificate,
    publication_item,
)
from tests.probe_support import as_json as as_json_bytes

ONS = Path(__file__).parents[1] / "fixtures" / "ons"
HTML = {"Content-Type": "text/html; charset=utf-8"}
CACHE_BUST = "rwcb"  # the default cache-busting parameter: only the origin path sends it
Reply = tuple[int, bytes, dict[str, str]]
# What an overloaded origin answers (GOV.UK's error page wording).
OVERLOADED = (
    b"<html><title>Sorry, there is a problem - GOV.UK</title>"
    b"<h1>Sorry, we're experiencing technical difficulties</h1></html>"
)


def local(when: datetime) -> str:
    return f"{when.astimezone(LONDON):%Y-%m-%dT%H:%M:%S%z}"


def plain_text(raw: bytes) -> str:
    """An email's text part, decoded (quoted-printable folds long lines)."""
    email = message_from_bytes(raw)
    part = next(p for p in email.walk() if p.get_content_type() == "text/plain")
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode(part.get_content_charset() or "utf-8")


CONTACTS = """\
local_mode: true
contacts:
  team: {name: Stats team, role: stats_team, email: team@example.com}
  hop: {name: Head of profession, role: head_of_profession, email: hop@example.com}
chains:
  default:
    - {after: 5m, notify: [team], channels: [email], repeat: 30m}
    - {after: 60m, notify: [hop], channels: [email], kind: breach}
"""


def test_the_public_path_shows_it_live_when_the_origin_errs_and_a_stale_copy_does_not(
    tmp_path: Path,
    smtp: tuple[int, Inbox],  # noqa: F811
) -> None:
    port, inbox = smtp
    due = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=11)  # step 1 has fired
    first = due + timedelta(seconds=4)  # whole seconds: GOV.UK's stamps are to the millisecond
    last_year = due - timedelta(days=365)
    cached = {"Age": "31536000", "X-Cache": "HIT"}
    as_json = {"Content-Type": "application/json"}
    # path: (what the origin answers a cache-busted request, what the public is served)
    pages: dict[str, tuple[Reply, Reply]] = {
        # The origin is overloaded; the CDN already serves this release to everyone.
        "/government/statistics/children-looked-after": (
            (503, OVERLOADED, HTML),
            (200, publication("Children looked after", first), HTML),
        ),
        # Not published at the origin; the CDN still holds last year's edition.
        "/government/statistics/fostering": (
            (404, b"<h1>Page not found</h1>", HTML),
            (200, publication("Fostering in England", last_year), {**HTML, **cached}),
        ),
    }
    # The same two in GOV.UK mode: the Content API items, behind the same CDN.
    for path, title, when, headers in (
        ("/government/statistics/adoption", "Adoption", first, {}),
        ("/government/statistics/care-leavers", "Care leavers", last_year, cached),
    ):
        found = publication_item(first_published_at=iso(when))
        found.update(base_path=path, title=title, public_updated_at=iso(when))
        busted = (503, OVERLOADED, HTML) if when == first else (404, b"{}", as_json)
        pages["/api/content" + path] = (busted, (200, as_json_bytes(found), {**as_json, **headers}))

    def route(h: Handler) -> None:
        origin, public = pages.get(h.route_path, ((404, b"Not found", HTML),) * 2)
        h.reply(*(origin if CACHE_BUST in h.query else public))

    with loopback_server(route) as server:
        config = tmp_path / "releasewatch.yaml"
        config.write_text(
            CONTACTS
            + f"""\
releases:
  - {{id: overloaded, title: "Children looked after",
      url: "{server.url("/government/statistics/children-looked-after")}", due: "{local(due)}"}}
  - {{id: stale-copy, title: "Fostering in England",
      url: "{server.url("/government/statistics/fostering")}", due: "{local(due)}"}}
  - {{id: overloaded-item, title: "Adoption", live: {{govuk: true}},
      url: "{server.url("/government/statistics/adoption")}", due: "{local(due)}"}}
  - {{id: stale-copy-item, title: "Care leavers", live: {{govuk: true}},
      url: "{server.url("/government/statistics/care-leavers")}", due: "{local(due)}"}}
"""
        )
        db = tmp_path / "rw.db"
        args = ("run", "--config", str(config), "--db", str(db), "--once")
        result = releasewatch(*args, "--smtp", f"127.0.0.1:{port}", env=SMTP_ENV)
        seen = list(server.seen)
    assert result.returncode == 0, result.stderr
    # Only the releases whose public copy is last year's are chased; the ones the CDN serves
    # are live, on time, and nobody is told they are not.
    keys = sorted(key(message_from_bytes(m)) for m in inbox.messages)
    assert keys == ["stale-copy-item|alert|0|0|team|email", "stale-copy|alert|0|0|team|email"]
    for m in inbox.messages:
        text = plain_text(m)
        # Both answers are in the alert: the origin's 404, the public path's stale copy.
        assert "status: 404" in text
        assert "public path (not cache-busted): status 200 (age 31536000" in text
        assert "an earlier edition" in text
    status = releasewatch("status", "--db", str(db)).stdout
    states = {line.split()[0]: line for line in status.splitlines()[1:]}
    for live in ("overloaded", "overloaded-item"):
        assert "Live, on time" in states[live]
        assert states[live].endswith("Live: public path HTTP 200 (origin HTTP 503)")
        assert f"{live}: LIVE" in result.stdout
    for late in ("stale-copy", "stale-copy-item"):
        assert "Late" in states[late]
    with SQLiteStore(db) as store:
        records = {r.id: r for r in store.all_releases()}
    for rid in ("overloaded", "overloaded-item"):
        record = records[rid]
        assert record.live_at == first  # GOV.UK's first published time: on time
        check = record.last_check
        assert check is not None and check.public is not None
        assert (check.status, check.public.status, check.public.live) == (503, 200, True)
    for rid in ("stale-copy", "stale-copy-item"):
        check = records[rid].last_check
        assert check is not None and check.public is not None
        assert (check.live, check.status, check.public.status) == (False, 404, 200)
    # The origin was asked for a fresh copy, the public path as anyone would ask.
    for request in seen:
        fresh = CACHE_BUST in request.query
        assert ("cache-control" in request.headers) == fresh == ("pragma" in request.headers)
    assert sorted(r.path for r in seen if CACHE_BUST in r.query) == sorted(
        r.path for r in seen if CACHE_BUST not in r.query
    )


def test_a_release_long_past_due_is_warned_about_and_the_rest_are_watched(
    tmp_path: Path,
    smtp: tuple[int, Inbox],  # noqa: F811
) -> None:
    port, inbox = smtp
    now = datetime.now(UTC)
    stale_due = now - timedelta(days=8, hours=1)  # last week's date, never updated
    due = now - timedelta(minutes=6)  # the first chain step has fired
    weekly = publication("Deaths registered weekly", stale_due + timedelta(seconds=3))

    def route(h: Handler) -> None:
        if h.route_path == "/government/statistics/weekly-deaths":
            h.reply(200, weekly, HTML)
        else:
            h.reply(404, b"<h1>Page not found</h1>", HTML)

    with loopback_server(route) as server:
        config = tmp_path / "releasewatch.yaml"
        config.write_text(
            CONTACTS
            + f"""\
releases:
  - {{id: weekly-deaths, title: "Deaths registered weekly",
      url: "{server.url("/government/statistics/weekly-deaths")}", due: "{local(stale_due)}"}}
  - {{id: prices, title: "Producer prices",
      url: "{server.url("/government/statistics/prices")}", due: "{local(due)}"}}
"""
        )
        db = tmp_path / "rw.db"
        args = ("run", "--config", str(config), "--db", str(db), "--once")
        smtp_args = ("--smtp", f"127.0.0.1:{port}")
        first = releasewatch(*args, *smtp_args, env=SMTP_ENV)
        # The config starts: the stale release is named and left out, the other is chased.
        assert first.returncode == 0, first.stderr
        warned = [line for line in first.stderr.splitlines() if "more than 7 days" in line]
        assert len(warned) == 1 and "weekly-deaths" in warned[0], first.stderr
        assert "watching 1 release(s)" in first.stdout
        keys = sorted(key(message_from_bytes(m)) for m in inbox.messages)
        assert keys == ["prices|alert|0|0|team|email"]
        with SQLiteStore(db) as store:
            assert [r.id for r in store.all_releases()] == ["prices"]

        # Last week the same config was valid and the release was watched: it went live on
        # time. A restart today keeps that record as it is.
        db2 = tmp_path / "restarted.db"
        with SQLiteStore(db2) as store:
            last_week = load_config(config, now=stale_due - timedelta(hours=1))
            watched = [r for r in last_week.releases if r.id == "weekly-deaths"]
            store.apply_releases(watched, stale_due - timedelta(hours=1))
            record = store.get_release("weekly-deaths")
            assert record is not None
            live_at = stale_due + timedelta(seconds=3)
            store.update_release(
                record.model_copy(update={"state": ReleaseState.LIVE, "live_at": live_at})
            )
            went_live = Event(
                release_id="weekly-deaths",
                at=live_at + timedelta(seconds=20),
                kind=EventKind.STATE_CHANGED,
                detail={"from": "scheduled", "to": "live"},
            )
            store.add_event(went_live)
        before = len(inbox.messages)
        args2 = ("run", "--config", str(config), "--db", str(db2), "--once")
        again = releasewatch(*args2, *smtp_args, env=SMTP_ENV)
    assert again.returncode == 0, again.stderr
    assert "watching 2 release(s)" in again.stdout
    with SQLiteStore(db2) as store:
        kept = store.get_release("weekly-deaths")
        events = store.events("weekly-deaths")
    assert kept is not None and (kept.state, kept.live_at) == (ReleaseState.LIVE, live_at)
    assert went_live in events
    assert not [e for e in events if e.kind is EventKind.REMOVED]  # not dropped as removed
    status = releasewatch("status", "--db", str(db2), "--all")
    (line,) = [s for s in status.stdout.splitlines() if s.startswith("weekly-deaths")]
    assert "Live, on time" in line
    new = sorted(key(message_from_bytes(m)) for m in inbox.messages[before:])
    assert new == ["prices|alert|0|0|team|email"]  # nothing about last week's release


@pytest.mark.slow
def test_an_ons_release_page_is_not_live_until_it_says_published(
    tmp_path: Path,
    smtp: tuple[int, Inbox],  # noqa: F811
) -> None:
    port, inbox = smtp
    due = datetime.now(UTC) - timedelta(minutes=11)  # the first chain step has fired
    title = "Labour market overview, UK: July 2026"  # as the fixture pages show it
    slug = "labourmarketoverviewukjuly2026"
    page = {"now": "release-upcoming", "listed": True}

    def route(h: Handler) -> None:
        if h.route_path == "/ons/v1/search/releases":
            upcoming = h.query.get("release-type") == ["type-upcoming"] and page["listed"]
            when = due.isoformat().replace("+00:00", "Z")
            found = [ons_release(slug, title, when)] if upcoming else []
            body = {"releases": found, "breakdown": {"total": len(found)}}
            h.reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
        elif h.route_path == f"/ons-site/releases/{slug}":
            h.reply(200, (ONS / f"{page['now']}.html").read_bytes(), HTML)
        else:
            h.reply(404, b"Not found", HTML)

    with loopback_server(route) as server:
        base = server.url("").rstrip("/")
        config = tmp_path / "releasewatch.yaml"
        config.write_text(
            CONTACTS
            + f"""\
defaults: {{chain: default, cadence: {{hot: 1s}}}}  # re-probed a second later
releases: []
calendars:
  - ons: {{base_url: {base}/ons, site_url: {base}/ons-site}}
"""
        )
        db = tmp_path / "rw.db"
        args = ("run", "--config", str(config), "--db", str(db), "--once")
        smtp_args = ("--smtp", f"127.0.0.1:{port}")
        first = releasewatch(*args, *smtp_args, env=SMTP_ENV)
        # Before publication the page answers 200 with the title: not live, chased as late.
        assert first.returncode == 0, first.stderr
        rid = f"ons-{slug}"
        assert f"{rid}: not live" in first.stdout and f"{rid}: LIVE" not in first.stdout
        keys = [key(message_from_bytes(m)) for m in inbox.messages]
        assert keys == [f"{rid}|alert|0|0|team|email"]
        assert "This release is not yet published" in plain_text(inbox.messages[0])
        # Published (and so no longer in the calendar's upcoming list): live, and the chain ends.
        page["now"] = "release-published"
        page["listed"] = False
        time.sleep(1.2)  # the next probe is due a second later (cadence hot: 1s)
        again = releasewatch(*args, *smtp_args, env=SMTP_ENV)
    assert again.returncode == 0, again.stderr
    assert f"{rid}: LIVE" in again.stdout
    new = sorted(key(message_from_bytes(m)) for m in inbox.messages[1:])
    # Truly late (seen unpublished after its due time): resolved, and the draft breach report.
    assert [k.split("|")[1] for k in new] == ["report", "resolved"], new
    status = releasewatch("status", "--db", str(db)).stdout
    assert "Live, 11 min late" in status


# Loaded by the `releasewatch run` under test (PYTHONPATH): the ONS website's name resolves to
# the loopback server, and the test CA that signed its certificate is trusted beside the usual
# ones, so a release written by hand with its real https://www.ons.gov.uk address is probed
# there as it would be on the web.
ONS_ON_LOOPBACK = """\
import os
import socket

import certifi

_resolve = socket.getaddrinfo


def getaddrinfo(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if isinstance(name, str) and name.lower().rstrip(".") in {"www.ons.gov.uk", "ons.gov.uk"}:
        host = "127.0.0.1"
    return _resolve(host, *args, **kwargs)


socket.getaddrinfo = getaddrinfo
certifi.where = lambda: os.environ["TEST_CA_BUNDLE"]
"""


@pytest.mark.slow
def test_an_ons_release_page_written_by_hand_gets_the_ons_rule(
    tmp_path: Path,
    smtp: tuple[int, Inbox],  # noqa: F811
) -> None:
    """No calendar, no rule in the config: a release whose address is an ONS release page is
    judged by the ONS rule, so the page ONS serves before publication (200, with the title) is
    not taken for the publication."""
    import certifi

    port, inbox = smtp
    due = datetime.now(UTC) - timedelta(minutes=11)
    slug = "labourmarketoverviewukjuly2026"
    page = {"now": "release-upcoming"}

    def route(h: Handler) -> None:
        if h.route_path == f"/releases/{slug}" and h.headers.get("Host", "").startswith(
            "www.ons.gov.uk:"
        ):
            h.reply(200, (ONS / f"{page['now']}.html").read_bytes(), HTML)
        else:
            h.reply(404, b"Not found", HTML)

    resolver = tmp_path / "resolver"
    resolver.mkdir()
    (resolver / "sitecustomize.py").write_text(ONS_ON_LOOPBACK)
    ca, cert, cert_key = make_ca_and_certificate(tmp_path, "www.ons.gov.uk")
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes() + ca.read_bytes())
    env = {**SMTP_ENV, "PYTHONPATH": str(resolver), "TEST_CA_BUNDLE": str(bundle)}
    with loopback_server(route, tls=(cert, cert_key)) as server:
        url = f"https://www.ons.gov.uk:{server.port}/releases/{slug}"
        config = tmp_path / "releasewatch.yaml"
        config.write_text(
            CONTACTS
            + f"""\
defaults: {{chain: default, cadence: {{hot: 1s}}}}
releases:
  - id: lmo
    title: "Labour market overview, UK: July 2026"
    url: {url}
    due: {due.astimezone(LONDON):%Y-%m-%d %H:%M:%S}
"""
        )
        db = tmp_path / "rw.db"
        args = ("run", "--config", str(config), "--db", str(db), "--once")
        smtp_args = ("--smtp", f"127.0.0.1:{port}")
        first = releasewatch(*args, *smtp_args, env=env)
        assert first.returncode == 0, first.stderr
        assert "lmo: not live" in first.stdout and "lmo: LIVE" not in first.stdout
        assert [key(message_from_bytes(m)) for m in inbox.messages] == ["lmo|alert|0|0|team|email"]
        assert "This release is not yet published" in plain_text(inbox.messages[0])
        page["now"] = "release-published"
        time.sleep(1.2)  # the next probe is due a second later (cadence hot: 1s)
        again = releasewatch(*args, *smtp_args, env=env)
    assert again.returncode == 0, again.stderr
    assert "lmo: LIVE" in again.stdout
    new = sorted(key(message_from_bytes(m)) for m in inbox.messages[1:])
    assert [k.split("|")[1] for k in new] == ["report", "resolved"], new
