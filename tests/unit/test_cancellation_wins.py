"""A cancellation seen by a probe wins, whenever it comes (issue 17): the watchdog in memory,
a fake clock, a prober whose announcement says "cancelled" from a given moment."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from releasewatch.model import Check, EventKind, Release, ReleaseState
from releasewatch.service import Watchdog
from tests.factories import DUE, make_release
from tests.fakes import FixedClock, InMemoryStore, RecordingNotifier

M = timedelta(minutes=1)
REASON = "Merged into the quarterly release of 12 August 2025."


class AnnouncementProber:
    """The announcement: in place until `cancelled_at`, then cancelled with GOV.UK's reason;
    with `gone_at`, a 404 from then on instead."""

    def __init__(
        self,
        clock: FixedClock,
        cancelled_at: datetime | None = None,
        gone_at: datetime | None = None,
    ) -> None:
        self.clock = clock
        self.cancelled_at = cancelled_at
        self.gone_at = gone_at
        self.calls = 0

    async def probe(self, release: Release) -> Check:
        now = self.clock.now()
        self.calls += 1
        cancelled = self.cancelled_at is not None and now >= self.cancelled_at
        gone = self.gone_at is not None and now >= self.gone_at
        return Check(
            release_id=release.id,
            at=now,
            url=release.url + "?rwcb=1",
            live=False,
            reason="content item not found (status 404)" if gone else "announcement in place",
            status=404 if gone else 200,
            cancellation=REASON if cancelled and not gone else None,
        )

    async def probe_many(self, releases: list[Release]) -> list[Check]:
        return [await self.probe(r) for r in releases]

    async def aclose(self) -> None:
        return None


def build(start: datetime, **prober: datetime | None):  # type: ignore[no-untyped-def]
    clock = FixedClock(start)
    store = InMemoryStore()
    release = make_release()
    store.apply_releases([release], clock.now())
    email, sms = RecordingNotifier(), RecordingNotifier()
    dog = Watchdog(store, AnnouncementProber(clock, **prober), {"email": email, "sms": sms}, clock)
    return clock, store, dog, email, sms, release


def run_until(clock, dog, end, step=timedelta(seconds=10)):  # type: ignore[no-untyped-def]
    while clock.now() < end:
        asyncio.run(dog.tick())
        clock.advance(step)


def kinds(*notifiers: RecordingNotifier) -> list[tuple[str, str]]:
    return sorted((m.contact_id, m.key.split("|")[1]) for n in notifiers for m in n.sent)


@pytest.mark.parametrize("before", [timedelta(days=1), timedelta(seconds=12)])
def test_a_cancellation_before_due_sends_one_notice_and_no_chain(before: timedelta) -> None:
    clock, store, dog, email, sms, _ = build(DUE - before - 30 * M, cancelled_at=DUE - before)
    run_until(clock, dog, DUE + 3 * 60 * M)
    # One notice each to the team (the chain's first step) and the head of profession; no
    # alert, no breach, no SMS at all.
    assert kinds(email, sms) == [
        ("head_of_profession", "cancel_notice"),
        ("stats_team", "cancel_notice"),
    ]
    assert sms.sent == []
    notice = email.sent[0]
    assert REASON in notice.text  # GOV.UK's reason, word for word
    assert "not live" not in notice.text.lower()
    assert "announcement" in notice.text
    record = store.get_release("lms-2025-07")
    assert record is not None and record.state == ReleaseState.CANCELLED
    assert record.release.cancelled and not record.active


def test_a_cancellation_after_the_chain_started_stops_it() -> None:
    clock, _store, dog, email, sms, _ = build(DUE - 5 * M, cancelled_at=DUE + 12 * M)
    run_until(clock, dog, DUE + 3 * 60 * M)
    sent = kinds(email, sms)
    assert ("stats_team", "alert") in sent  # 09:35, before the cancellation
    assert ("head_of_profession", "breach") not in sent  # 10:30: cancelled by then
    assert ("lead_official", "alert") not in sent  # 10:00: cancelled by then
    later = [m for m in email.sent + sms.sent if "|alert|" in m.key or "|breach|" in m.key]
    assert all(m.key.split("|")[1] == "alert" for m in later)
    assert ("head_of_profession", "cancel_notice") in sent


def test_an_announcement_that_disappears_is_not_a_cancellation_the_chain_goes_on() -> None:
    clock, store, dog, email, sms, _ = build(DUE - 5 * M, gone_at=DUE - M)
    run_until(clock, dog, DUE + 65 * M)
    sent = kinds(email, sms)
    assert ("head_of_profession", "breach") in sent
    assert not any(kind == "cancel_notice" for _, kind in sent)
    record = store.get_release("lms-2025-07")
    assert record is not None and record.state == ReleaseState.LATE


def test_a_restart_that_applies_the_config_again_keeps_the_release_cancelled() -> None:
    clock, store, dog, email, sms, release = build(DUE - 30 * M, cancelled_at=DUE - 20 * M)
    run_until(clock, dog, DUE - 10 * M)
    assert len(email.sent) == 2
    # `run` starts again: the config knows nothing of the cancellation and applies the release
    # as written. The recorded cancellation still holds: no chain, no second notice.
    store.apply_releases([release], clock.now())
    dog.prober.cancelled_at = None  # type: ignore[attr-defined]  # and the page now 404s
    dog.prober.gone_at = clock.now()  # type: ignore[attr-defined]
    run_until(clock, dog, DUE + 2 * 60 * M)
    assert kinds(email, sms) == [
        ("head_of_profession", "cancel_notice"),
        ("stats_team", "cancel_notice"),
    ]
    record = store.get_release("lms-2025-07")
    assert record is not None and record.state == ReleaseState.CANCELLED
    recorded = [e for e in store.events("lms-2025-07") if e.kind == EventKind.CALENDAR_CHANGED]
    assert len(recorded) == 1 and recorded[0].detail["source"] == "page"
