"""Rotas on every store: a release that names an iCal rota carries its shifts (up to
rota.MAX_OCCURRENCES per repeating event), and the store gives them back as written, so the
poller resolves who is on call from the table as `run` does from its config. On DynamoDB such a
release is far above 64 KB of JSON: it is kept compressed, under the 400 KB item limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from releasewatch.model import Chain, Contact, Step
from releasewatch.rota import MAX_OCCURRENCES, ics, on_call
from releasewatch.store.base import Store
from tests.factories import CONTACTS, DUE, make_release

NOW = DUE - timedelta(days=3)
DAILY = b"""\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//example//rota//EN
BEGIN:VEVENT
UID:days@example.com
SUMMARY:[L1] web_publisher
DTSTART;TZID=Europe/London:20250101T080000
DTEND;TZID=Europe/London:20250101T200000
RRULE:FREQ=DAILY
END:VEVENT
BEGIN:VEVENT
UID:nights@example.com
SUMMARY:[L2] lead_official
DTSTART;TZID=Europe/London:20250101T200000
DTEND;TZID=Europe/London:20250102T080000
RRULE:FREQ=DAILY
END:VEVENT
END:VCALENDAR
"""


def _release_with_a_long_rota() -> object:
    rota = ics(DAILY)
    assert len(rota.shifts) == 2 * MAX_OCCURRENCES  # every shift of ~5 years, both events
    contacts = CONTACTS | {"oncall": Contact(id="oncall", name="On call", rota=rota)}
    chain = Chain(
        id="rota",
        steps=(
            Step(after=timedelta(minutes=5), notify=("stats_team",)),
            Step(after=timedelta(minutes=10), notify=("oncall",), channels=("sms",)),
        ),
    )
    return make_release(chain=chain, contacts=contacts)


def test_a_release_naming_a_long_ical_rota_is_stored_whole(store: Store) -> None:
    release = _release_with_a_long_rota()
    store.apply_releases([release], NOW)  # type: ignore[list-item]
    record = store.get_release("lms-2025-07")
    assert record is not None and record.release == release
    rota = record.release.contacts["oncall"].rota
    assert rota is not None
    assert on_call(rota, DUE + timedelta(minutes=10)) == ("web_publisher",)  # 09:40 BST
    assert on_call(rota, datetime(2027, 1, 5, 23, 0, tzinfo=UTC)) == ("lead_official",)
    # ...and survives a state update (the poller's every write) and the active query
    updated = store.update_release(record.model_copy(update={"updated_at": DUE}))
    (active,) = store.active_releases()
    assert active.release == release and active.version == updated.version
