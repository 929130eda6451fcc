"""Rotas on every store: a release that names an iCal rota carries the shifts within a month of
its due time (model.ROTA_WINDOW; a repeating event expands to years of them), and the store
gives them back as written, so the poller resolves who is on call from the table as `run` does
from its config. On DynamoDB a release over 64 KB of JSON is kept compressed, under the
400 KB item limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from releasewatch.model import ROTA_WINDOW, Chain, Contact, Release, Step
from releasewatch.readiness.rota import MAX_OCCURRENCES, ics, on_call
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
# Twenty-minute shifts rotating between three people, from three weeks before the due date:
# ~3,700 shifts inside the window, a record far above DynamoDB's 400 KB item limit.
DENSE = b"""\
BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//example//rota//EN
BEGIN:VEVENT
UID:a@example.com
SUMMARY:web_publisher
DTSTART:20250626T000000Z
DTEND:20250626T002000Z
RRULE:FREQ=HOURLY
END:VEVENT
BEGIN:VEVENT
UID:b@example.com
SUMMARY:lead_official
DTSTART:20250626T002000Z
DTEND:20250626T004000Z
RRULE:FREQ=HOURLY
END:VEVENT
BEGIN:VEVENT
UID:c@example.com
SUMMARY:stats_team
DTSTART:20250626T004000Z
DTEND:20250626T010000Z
RRULE:FREQ=HOURLY
END:VEVENT
END:VCALENDAR
"""


def _release(calendar: bytes) -> Release:
    contacts = CONTACTS | {"oncall": Contact(id="oncall", name="On call", rota=ics(calendar))}
    chain = Chain(
        id="rota",
        steps=(
            Step(after=timedelta(minutes=5), notify=("stats_team",)),
            Step(after=timedelta(minutes=10), notify=("oncall",), channels=("sms",)),
        ),
    )
    return make_release(chain=chain, contacts=contacts)


def test_a_release_keeps_the_rota_shifts_of_the_month_around_its_due_time(
    store: Store,
) -> None:
    full = ics(DAILY)
    assert len(full.shifts) == 2 * MAX_OCCURRENCES  # ~5 years of days and nights
    release = _release(DAILY)
    rota = release.contacts["oncall"].rota
    assert rota is not None
    assert 2 * 60 <= len(rota.shifts) <= 2 * 64  # a month either side, not 5 years
    assert all(s.end > DUE - ROTA_WINDOW and s.start < DUE + ROTA_WINDOW for s in rota.shifts)  # type: ignore[operator]
    store.apply_releases([release], NOW)
    record = store.get_release("lms-2025-07")
    assert record is not None and record.release == release
    stored = record.release.contacts["oncall"].rota
    assert stored is not None
    assert on_call(stored, DUE + timedelta(minutes=10)) == ("web_publisher",)  # 09:40 BST
    assert on_call(stored, DUE + timedelta(hours=12)) == ("lead_official",)
    # two years on, nobody: the step goes to the chain's first step instead (rota.reach)
    assert on_call(stored, datetime(2027, 7, 17, 9, 0, tzinfo=UTC)) == ()


def test_a_release_naming_a_dense_rota_is_stored_whole_and_survives_updates(
    store: Store,
) -> None:
    release = _release(DENSE)
    rota = release.contacts["oncall"].rota
    assert rota is not None and len(rota.shifts) > 3500
    store.apply_releases([release], NOW)
    record = store.get_release("lms-2025-07")
    assert record is not None and record.release == release
    updated = store.update_release(record.model_copy(update={"updated_at": DUE}))
    (active,) = store.active_releases()
    assert active.release == release and active.version == updated.version
    stored = active.release.contacts["oncall"].rota
    assert stored is not None
    assert on_call(stored, DUE) == ("lead_official",)  # 08:30 UTC
    assert on_call(stored, DUE + timedelta(minutes=10)) == ("stats_team",)  # 08:40 UTC
    assert on_call(stored, DUE + timedelta(minutes=35)) == ("web_publisher",)  # 09:05 UTC
