"""No page shows a phone number or an email address, even when one is planted where people
type free text: the release title, the producer, a contact's name, a check's reason, an
event's detail (an SMTP or SES error quoting the recipient). `scrub` is the last line of
defence; with it switched off, these tests fail (no other page test ever rendered such data)."""

from __future__ import annotations

import re

import pytest

from releasewatch.local.loophealth import TickHealth
from releasewatch.model import Check, Contact, Event, EventKind
from releasewatch.web.scrub import scrub
from tests.factories import CONTACTS, make_release
from tests.unit.escalation_support import ID, Scenario, at

NUMBERS = ("+447700900123", "+44 7700 900124", "07700 900125", "07700900126")
ADDRESSES = ("leak@example.com", "Second.Leak+tag@sub.example.com")
PLANTED = " ".join(NUMBERS + ADDRESSES)


def leaks(html: str) -> list[str]:
    digits = re.sub(r"[\s-]", "", html)
    found = [a for a in ADDRESSES if a.lower() in html.lower()]
    found += [n for n in NUMBERS if re.sub(r"\D", "", n)[-9:] in digits]
    found += re.findall(r"[\w.+-]+@[\w-]+\.[\w.-]+", html)
    return found


@pytest.fixture
def planted() -> Scenario:
    contacts = dict(CONTACTS)
    wp = contacts["web_publisher"]
    contacts["web_publisher"] = Contact(
        id=wp.id, name=f"Alice {NUMBERS[0]}", role=wp.role, email=wp.email, phone=wp.phone
    )
    release = make_release(
        title=f"Labour market overview {PLANTED}",
        producer=f"Office for Example Statistics, call {PLANTED}",
        contacts=contacts,
    )
    s = Scenario(live=lambda now: False, release=release)
    s.run_until(at(9, 41))
    record = s.store.get_release(ID)
    assert record is not None
    check = Check(
        release_id=ID,
        at=at(9, 41),
        url=release.url,
        live=False,
        reason=f"status 404, expected 200; contact {PLANTED}",
        status=None,
        error=f"ConnectError: refused for {PLANTED}",
    )
    s.store.record_checks([check])
    s.store.update_release(record.model_copy(update={"last_check": check}))
    for kind in (EventKind.NOTIFICATION_FAILED, EventKind.PAGE_LOST):
        s.store.add_event(
            Event(
                release_id=ID,
                at=at(9, 41),
                kind=kind,
                contact_id="+447700900127",  # a contact id no longer in the config
                detail={"reason": f"550 5.1.1 <{ADDRESSES[0]}> rejected; SMS {PLANTED}"},
            )
        )
    return s


def test_dashboard_release_page_and_health_never_show_a_number_or_address(
    planted: Scenario,
) -> None:
    health = TickHealth()
    health.failed(at(9, 41), f"OperationalError: cannot write for {PLANTED}")
    planted.web.health = health
    paths = ("/", "/dashboard", f"/r/{ID}", "/health", f"/r/{NUMBERS[0]}", "/?view=week")
    board = ("/api/releases", f"/api/releases/{ID}", f"/r/{ID}/report.md")
    for path in paths + board:
        page = planted.open(path)
        assert page.status in (200, 404, 503), path
        assert leaks(page.text) == [], (path, leaks(page.text))
    # The pages still say what they are about: only the numbers and addresses are withheld
    release_page = planted.open(f"/r/{ID}").body
    assert "Labour market overview" in release_page and "withheld" in release_page
    assert "Office for Example Statistics" in release_page


def test_acknowledge_pages_never_show_a_number_or_address(planted: Scenario) -> None:
    link = planted.latest_link("web_publisher")
    pages_seen = [
        planted.open(link, "GET"),  # the confirmation form
        planted.open(link, "POST"),  # acknowledged
        planted.open(link, "POST"),  # already used
    ]
    other = planted.latest_link("web_publisher", "email")
    pages_seen.append(planted.open(other, "POST"))  # already acknowledged
    planted.run_until(at(9, 42))
    pages_seen.append(planted.open("/a/" + "x" * 40, "GET"))  # refused token
    for page in pages_seen:
        assert leaks(page.body) == [], leaks(page.body)
    assert "Alice" in pages_seen[0].body


@pytest.mark.parametrize("text", [*NUMBERS, *ADDRESSES, "+1 202 555 0143", "+33 6 12 34 56 78"])
def test_scrub_withholds_every_shape(text: str) -> None:
    assert leaks(scrub(f"<p>before {text} after</p>")) == []
    assert "withheld" in scrub(text)
    if "@" not in text:
        assert re.sub(r"\D", "", text)[-6:] not in re.sub(r"\D", "", scrub(text))


@pytest.mark.parametrize(
    "text",
    [
        "Labour market overview, UK: July 2025",
        "Due Thu 17 Jul 2025 09:30 BST; 1,234 checks; HTTP 404; 12:00:36",
        "release 2025-07-17T08:30:00+00:00",
    ],
)
def test_scrub_keeps_dates_times_and_counts(text: str) -> None:
    assert scrub(text) == text
