"""Guards for lines whose loss would go unnoticed (issue 17): each test here fails when the
line it names is broken (each was broken once and seen to fail).

- policy.lateness_unproven: `end < c.at` (a not-live check from before due is no proof of
  lateness) and the line crediting GOV.UK's first_published_at as proof;
- policy.decide: the sweep that cancels a readiness message waiting on a retry;
- policy._held: `step > ack.step` (an ack holds later steps and the acknowledger's own
  repeats, not colleagues' repeats on the same step);
- tokens.TokenCodec._mac: the contact id in the MAC input (a colliding contact ref never binds).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pytest

from releasewatch import policy
from releasewatch.links.tokens import TokenCodec, TokenForged, ref
from releasewatch.model import (
    Chain,
    Check,
    Delivery,
    DeliveryStatus,
    NotificationKind,
    Readiness,
    Release,
    ReleaseRecord,
    Step,
)
from releasewatch.service import Watchdog
from tests.factories import CONTACTS, DUE, make_check, make_notification, make_release
from tests.fakes import FixedClock, InMemoryStore, RecordingNotifier

M = timedelta(minutes=1)


class PageProber:
    """A page scripted by the clock: `script(now)` is (live, GOV.UK's first_published_at)."""

    def __init__(
        self, clock: FixedClock, script: Callable[[datetime], tuple[bool, datetime | None]]
    ) -> None:
        self.clock, self.script = clock, script

    async def probe(self, release: Release) -> Check:
        now = self.clock.now()
        live, published = self.script(now)
        return make_check(release.id, now, live=live, published_at=published)

    async def probe_many(self, releases: Sequence[Release]) -> list[Check]:
        return [await self.probe(r) for r in releases]

    async def aclose(self) -> None:
        return None


def down_across_due(published: datetime | None) -> list[str]:
    """Watched until 09:25 (not live), down until 10:30, then one tick: live. The text of
    each report (breach report email) sent."""
    clock = FixedClock(DUE - 20 * M)
    store = InMemoryStore()
    store.apply_releases([make_release()], clock.now())
    email = RecordingNotifier()
    sms = RecordingNotifier()
    live_from = DUE + 60 * M
    prober = PageProber(clock, lambda now: (now >= live_from, published))
    dog = Watchdog(store, prober, {"email": email, "sms": sms}, clock)
    while clock.now() <= DUE - 5 * M:
        asyncio.run(dog.tick())
        clock.advance(timedelta(seconds=30))
    clock.set(live_from)  # the watchdog was down across 09:30
    asyncio.run(dog.tick())
    return [m.text for m in email.sent if "|report|" in m.key]


def test_a_not_live_check_before_due_is_no_proof_of_lateness_after_downtime() -> None:
    # guards `end < c.at` in policy.lateness_unproven
    reports = down_across_due(published=None)
    assert reports  # the head of profession and the lead official each get the draft
    for text in reports:
        assert "it may have been released on time" in text
        assert "discard the draft if it was on time" in text
        assert "was not released at its announced time" not in text


def test_govuks_first_published_at_proves_a_delay_seen_only_after_downtime() -> None:
    # guards the line crediting check.published_at in policy.lateness_unproven: GOV.UK says it
    # went out at 10:20, 50 minutes late; nobody checked in between, but that is proof enough.
    reports = down_across_due(published=DUE + 50 * M)
    assert reports
    for text in reports:
        assert "was not released at its announced time" in text
        assert "may have been released on time" not in text
        assert "discard the draft" not in text


def readiness_record() -> ReleaseRecord:
    release = make_release(readiness=Readiness(notify=("stats_team",)))
    return ReleaseRecord(release=release)


@pytest.mark.parametrize("how", ["confirmed", "live"])
def test_a_readiness_reminder_waiting_on_a_retry_is_cancelled_not_sent(how: str) -> None:
    # guards the sweep in policy.decide that cancels readiness kinds no longer wanted
    reminder = make_notification(
        kind=NotificationKind.READY_REMIND, step=None, due_at=DUE - timedelta(hours=19)
    )
    waiting = Delivery(notification=reminder, status=DeliveryStatus.RETRY, attempts=1)
    now = DUE - timedelta(hours=18)
    check = make_check(at=now, live=True) if how == "live" else None
    decision = policy.decide(
        readiness_record(), check, now, [waiting], ready_confirmed=how == "confirmed"
    )
    assert reminder.key in decision.cancel
    assert reminder.key not in [n.key for n in decision.due]


def test_one_persons_ack_does_not_hold_colleagues_repeats_on_the_same_step() -> None:
    # guards `step > ack.step` in policy._held
    chain = Chain(
        id="shared-step",
        steps=(
            Step(after=5 * M, notify=("stats_team", "web_publisher"), repeat=10 * M),
            Step(after=30 * M, notify=("lead_official",)),
        ),
    )
    release = make_release(chain=chain, contacts=CONTACTS)
    ack = policy.Ack("stats_team", 0, DUE + 6 * M)
    now = DUE + 32 * M  # step 0 (third time, 09:55) and step 1 (10:00) have fired
    fired = policy.escalation(release, now, [ack])
    who = sorted({(n.contact_id, n.step) for n in fired})
    # The colleague on the same step still hears the repeat; the acknowledger does not, and
    # the later step is held too (until the ack timeout).
    assert who == [("web_publisher", 0)]


def colliding_contacts() -> tuple[str, str]:
    """Two contact ids with the same 3-byte reference (a birthday search, ~5,000 hashes)."""
    seen: dict[bytes, str] = {}
    for n in itertools.count():
        cid = f"contact-{n}"
        short = hashlib.sha256(cid.encode()).digest()[:3]
        if short in seen:
            assert ref(cid) == ref(seen[short])
            return seen[short], cid
        seen[short] = cid
    raise AssertionError("unreachable")


def test_a_token_never_binds_to_another_contact_whose_reference_collides() -> None:
    # guards the contact id in the MAC input (tokens.TokenCodec._mac)
    mine, theirs = colliding_contacts()
    codec = TokenCodec(b"k" * 32)
    token = codec.issue("lms-2025-07", mine, 0, DUE)
    with pytest.raises(TokenForged):
        codec.verify(token, DUE, [("lms-2025-07", theirs)])
    # With both as candidates, whichever comes first, it binds to its own contact only.
    both = [("lms-2025-07", theirs), ("lms-2025-07", mine)]
    for candidates in (both, both[::-1]):
        assert codec.verify(token, DUE, candidates).contact_id == mine
