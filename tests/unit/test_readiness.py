"""Readiness, the working day before: remind at 14:00, escalate at 16:00, last call at 08:30,
a signed confirm link (GET looks, POST confirms once) that stops them all."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

import holidays

from releasewatch.links.tokens import TokenCodec
from releasewatch.links.urls import SignedLinks
from releasewatch.local.runner import seconds_until_next
from releasewatch.model import EventKind, Readiness, Release
from releasewatch.readiness.policy import day_phrase, working_day_before
from releasewatch.report.drafts import build_report_text
from releasewatch.service import Watchdog
from releasewatch.timefmt import LONDON
from releasewatch.web.app import WebApp
from tests.factories import make_release
from tests.fakes import FixedClock, InMemoryStore, ScriptedProber
from tests.unit.escalation_support import Sent, TimedNotifier

BASE = "https://rw.example.com"
SECRET = b"readiness-secret-0123456789abcdef"
READY = Readiness(notify=("stats_team", "web_publisher"), escalate_to=("lead_official",))


def uk_at(y: int, m: int, d: int, hh: int, mm: int) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=LONDON).astimezone(UTC)


# Monday 7 April 2025, 09:30 BST: its working day before is Friday 4 April.
MONDAY_DUE = uk_at(2025, 4, 7, 9, 30)


class World:
    def __init__(self, release: Release, start: datetime, *, add_at: datetime | None = None):
        self.release = release
        self.clock = FixedClock(start)
        self.store = InMemoryStore()
        self.store.apply_releases([release], add_at or start)
        self.log: list[Sent] = []
        self.codec = TokenCodec(SECRET)
        self.web = WebApp(self.store, self.codec, self.clock)
        self.dog = self.watchdog()

    def watchdog(self) -> Watchdog:
        return Watchdog(
            self.store,
            ScriptedProber(self.clock, lambda _t: False),
            {
                "email": TimedNotifier(self.clock, self.log),
                "sms": TimedNotifier(self.clock, self.log),
            },
            self.clock,
            links=SignedLinks(BASE, self.codec),
        )

    def tick_at(self, when: datetime) -> list[tuple[str, str, str]]:
        """Tick at `when`; the (contact, channel, kind) of what that tick sent."""
        self.clock.advance(when - self.clock.now())
        before = len(self.log)
        asyncio.run(self.dog.tick())
        return [
            (s.message.contact_id, s.message.channel, s.message.key.split("|")[1])
            for s in self.log[before:]
        ]

    def text_to(self, contact_id: str, kind: str) -> str:
        for s in self.log:
            if s.message.contact_id == contact_id and f"|{kind}|" in s.message.key:
                return s.message.subject + "\n" + s.message.text
        raise AssertionError(f"nothing of kind {kind} sent to {contact_id}")

    def confirm_path(self, contact_id: str) -> str:
        text = self.text_to(contact_id, "ready_remind")
        found = re.search(re.escape(BASE) + r"(/c/[A-Za-z0-9_-]+)", text)
        assert found, text
        return found.group(1)

    def snapshot(self) -> tuple[object, ...]:
        rid = self.release.id
        return (
            [r.model_dump_json() for r in self.store.all_releases()],
            [e.model_dump_json() for e in self.store.events(rid)],
            [d.model_dump_json() for d in self.store.deliveries(rid)],
        )


def monday_world(**kw: object) -> World:
    release = make_release(due=MONDAY_DUE, readiness=READY)
    return World(release, uk_at(2025, 4, 4, 13, 0), **kw)  # type: ignore[arg-type]


# -- the working day before ----------------------------------------------------------------------
def test_the_working_day_before_a_monday_is_the_friday() -> None:
    assert working_day_before(date(2025, 4, 7), "england") == date(2025, 4, 4)


def test_easter_in_england_and_in_scotland() -> None:
    # Good Friday (18 April 2025) is a bank holiday in both; Easter Monday (21 April) only in
    # England. So for Tuesday 22 April: Thursday 17 in England, Monday 21 in Scotland.
    eng = holidays.country_holidays("GB", subdiv="ENG", years=2025)
    sct = holidays.country_holidays("GB", subdiv="SCT", years=2025)
    assert date(2025, 4, 21) in eng and date(2025, 4, 21) not in sct
    assert date(2025, 4, 18) in eng and date(2025, 4, 18) in sct
    assert working_day_before(date(2025, 4, 22), "england") == date(2025, 4, 17)
    assert working_day_before(date(2025, 4, 22), "scotland") == date(2025, 4, 21)
    # A release on Easter Monday itself: Thursday, in both (Good Friday is a holiday in both).
    assert working_day_before(date(2025, 4, 21), "england") == date(2025, 4, 17)
    assert working_day_before(date(2025, 4, 21), "scotland") == date(2025, 4, 17)


def test_a_scottish_release_after_easter_is_asked_on_easter_monday() -> None:
    due = uk_at(2025, 4, 22, 9, 30)
    scottish = make_release(due=due, readiness=READY.model_copy(update={"nation": "scotland"}))
    english = make_release(id="eng", due=due, readiness=READY)
    for release, day in ((scottish, 21), (english, 17)):
        world = World(release, uk_at(2025, 4, 17, 13, 0))
        assert world.tick_at(uk_at(2025, 4, 17, 14, 0)) == ([] if day == 21 else _reminders())
        if day == 21:
            assert world.tick_at(uk_at(2025, 4, 21, 13, 59)) == []
            assert world.tick_at(uk_at(2025, 4, 21, 14, 0)) == _reminders()
            assert "due at 09:30 tomorrow" in world.text_to("web_publisher", "ready_remind")
        else:
            text = world.text_to("web_publisher", "ready_remind")
            assert "due at 09:30 on Tuesday 22 April" in text
            assert "tomorrow" not in text


def _reminders() -> list[tuple[str, str, str]]:
    return [("stats_team", "email", "ready_remind"), ("web_publisher", "email", "ready_remind")]


# -- the Friday before a Monday release ---------------------------------------------------------
def test_friday_reminder_escalation_and_monday_last_call() -> None:
    w = monday_world()
    assert w.tick_at(uk_at(2025, 4, 4, 13, 59)) == []
    assert w.tick_at(uk_at(2025, 4, 4, 14, 0)) == _reminders()
    assert w.tick_at(uk_at(2025, 4, 4, 14, 0)) == []  # the next tick in the same minute
    text = w.text_to("web_publisher", "ready_remind")
    assert "is due at 09:30 on Monday 7 April: confirm the page is uploaded and scheduled" in text
    assert "tomorrow" not in text
    assert "If nobody confirms by 16:00 today, Bob Lead will be told." in text
    assert "If nobody confirms by 08:30 on Monday 7 April" in text
    assert f"{BASE}/c/" in text
    assert w.tick_at(uk_at(2025, 4, 4, 15, 59)) == []
    assert w.tick_at(uk_at(2025, 4, 4, 16, 0)) == [("lead_official", "email", "ready_escalate")]
    escalated = w.text_to("lead_official", "ready_escalate")
    assert "Nobody has confirmed that Labour market overview" in escalated
    assert "were asked at 14:00 today" in escalated
    assert w.tick_at(uk_at(2025, 4, 5, 12, 0)) == []  # Saturday: nothing new
    assert w.tick_at(uk_at(2025, 4, 7, 8, 29)) == []
    # The chain's first step (the stats team, by email), early.
    assert w.tick_at(uk_at(2025, 4, 7, 8, 30)) == [("stats_team", "email", "ready_last_call")]
    assert "is due at 09:30 today" in w.text_to("stats_team", "ready_last_call")
    assert w.tick_at(uk_at(2025, 4, 7, 8, 31)) == []


def test_overlapping_ticks_send_each_reminder_once() -> None:
    w = monday_world()
    w.clock.advance(uk_at(2025, 4, 4, 14, 0) - w.clock.now())
    other = w.watchdog()

    async def both() -> None:
        await asyncio.gather(w.dog.tick(), other.tick(), w.dog.tick())

    asyncio.run(both())
    keys = [s.message.key for s in w.log]
    assert sorted(keys) == sorted(set(keys)) and len(keys) == 2


def test_tomorrow_only_when_it_is() -> None:
    thursday_for_friday = uk_at(2025, 4, 4, 9, 30)
    w = World(make_release(due=thursday_for_friday, readiness=READY), uk_at(2025, 4, 3, 13, 0))
    w.tick_at(uk_at(2025, 4, 3, 14, 0))
    assert "due at 09:30 tomorrow: confirm" in w.text_to("stats_team", "ready_remind")
    assert day_phrase(MONDAY_DUE, uk_at(2025, 4, 6, 23, 59)) == "tomorrow"
    assert day_phrase(MONDAY_DUE, uk_at(2025, 4, 7, 0, 1)) == "today"
    assert day_phrase(MONDAY_DUE, uk_at(2025, 4, 4, 14, 0)) == "on Monday 7 April"


# -- confirming -----------------------------------------------------------------------------------
def test_confirm_get_changes_nothing_post_records_and_stops_the_rest() -> None:
    w = monday_world()
    w.tick_at(uk_at(2025, 4, 4, 14, 0))
    path = w.confirm_path("web_publisher")
    w.clock.advance(timedelta(minutes=5))
    before = w.snapshot()
    page = w.web.handle("GET", path)
    assert page.status == 200 and "Confirm it is ready" in page.body
    assert "on Monday 7 April" in page.body
    assert w.snapshot() == before  # a mail scanner's GET confirms nothing

    done = w.web.handle("POST", path)
    assert done.status == 200 and "Thank you, Alice Publisher" in done.body
    events = [e for e in w.store.events(w.release.id) if e.kind == EventKind.READY_CONFIRMED]
    assert [(e.contact_id, e.at) for e in events] == [("web_publisher", uk_at(2025, 4, 4, 14, 5))]
    assert w.web.handle("POST", path).status == 409  # the same link again: replay refused
    # Another person's link after that: nothing new, and it says who confirmed.
    other = w.web.handle("POST", w.confirm_path("stats_team"))
    assert other.status == 200 and "already confirmed ready by Alice Publisher" in other.body
    assert (
        len([e for e in w.store.events(w.release.id) if e.kind == EventKind.READY_CONFIRMED]) == 1
    )

    assert w.tick_at(uk_at(2025, 4, 4, 16, 0)) == []  # no escalation
    assert w.tick_at(uk_at(2025, 4, 7, 8, 30)) == []  # no last call
    page = w.web.handle("GET", f"/r/{w.release.id}")
    assert "Readiness confirmed by Alice Publisher at" in page.body
    report = build_report_text(w.store, w.release.id)
    assert "Readiness confirmed by Alice Publisher" in report


def test_an_ack_link_is_not_a_confirm_link() -> None:
    w = monday_world()
    w.tick_at(uk_at(2025, 4, 4, 14, 0))
    path = w.confirm_path("web_publisher")
    assert w.web.handle("POST", "/a/" + path[3:]).status == 403
    assert not [e for e in w.store.events(w.release.id) if e.kind == EventKind.ACKNOWLEDGED]


def test_a_confirmation_after_escalation_stops_the_last_call() -> None:
    w = monday_world()
    w.tick_at(uk_at(2025, 4, 4, 14, 0))
    w.tick_at(uk_at(2025, 4, 4, 16, 0))
    w.clock.advance(timedelta(minutes=10))
    assert w.web.handle("POST", w.confirm_path("stats_team")).status == 200
    assert w.tick_at(uk_at(2025, 4, 7, 8, 30)) == []


# -- late arrivals, the run loop ----------------------------------------------------------------
def test_a_release_added_after_the_reminder_time_is_still_asked_but_not_escalated() -> None:
    w = monday_world()
    assert w.tick_at(uk_at(2025, 4, 4, 18, 0)) == _reminders()
    assert w.tick_at(uk_at(2025, 4, 4, 18, 1)) == []
    assert w.tick_at(uk_at(2025, 4, 7, 8, 30)) == [("stats_team", "email", "ready_last_call")]


def test_a_release_added_on_the_morning_itself_is_not_chased() -> None:
    w = monday_world()
    assert w.tick_at(uk_at(2025, 4, 7, 8, 40)) == []
    assert w.tick_at(uk_at(2025, 4, 7, 9, 0)) == []


def test_the_run_loop_wakes_for_readiness_times() -> None:
    w = monday_world()  # Friday 13:00; the release is three days away
    assert seconds_until_next(w.dog, w.clock.now(), timedelta(hours=6)) == 3600
    asleep = seconds_until_next(w.dog, uk_at(2025, 4, 4, 15, 0), timedelta(hours=6))
    assert asleep == 3600
    assert seconds_until_next(w.dog, uk_at(2025, 4, 7, 8, 0), timedelta(hours=6)) == 1800


def test_no_readiness_for_a_release_without_it() -> None:
    w = World(make_release(due=MONDAY_DUE), uk_at(2025, 4, 4, 13, 0))
    assert w.tick_at(uk_at(2025, 4, 4, 14, 0)) == []
    assert w.tick_at(uk_at(2025, 4, 7, 8, 30)) == []


def test_a_last_call_by_sms_fits_one_segment_and_keeps_the_link() -> None:
    from releasewatch.model import Chain, Step

    chain = Chain(
        id="sms-first",
        steps=(Step(after=timedelta(minutes=5), notify=("web_publisher",), channels=("sms",)),),
    )
    title = "A very long release title that goes on and on: " * 3
    release = make_release(due=MONDAY_DUE, readiness=READY, chain=chain, title=title.strip())
    w = World(release, uk_at(2025, 4, 4, 13, 0))
    w.tick_at(uk_at(2025, 4, 4, 14, 0))
    assert w.tick_at(uk_at(2025, 4, 7, 8, 30)) == [("web_publisher", "sms", "ready_last_call")]
    sms = w.log[-1].message.text
    assert len(sms) <= 160
    assert re.search(re.escape(BASE) + r"/c/[A-Za-z0-9_-]{44}$", sms), sms
    assert "due 09:30 today" in sms


def test_times_are_london_times_across_the_clock_change_and_before_an_early_release() -> None:
    from releasewatch.readiness.policy import schedule

    # Clocks go forward on Sunday 30 March 2025: Friday is GMT, Monday is BST.
    plan = schedule(make_release(due=uk_at(2025, 3, 31, 9, 30), readiness=READY))
    assert plan is not None
    assert plan.remind == datetime(2025, 3, 28, 14, 0, tzinfo=UTC)
    assert plan.escalate == datetime(2025, 3, 28, 16, 0, tzinfo=UTC)
    assert plan.last_call == datetime(2025, 3, 31, 7, 30, tzinfo=UTC)  # 08:30 BST
    # A 07:00 release: the last call comes before it is due (the start of its pre-window).
    early = schedule(make_release(due=uk_at(2025, 4, 7, 7, 0), readiness=READY))
    assert early is not None and early.last_call == uk_at(2025, 4, 7, 6, 45)


def test_the_release_page_says_when_readiness_is_asked() -> None:
    w = monday_world()
    assert "the team is asked at" in w.web.handle("GET", f"/r/{w.release.id}").body
    w.tick_at(uk_at(2025, 4, 4, 14, 0))
    # who was asked, from the reminder really sent (the latest, as the board shows it)
    assert "Readiness not confirmed yet: asked Alice Publisher by email at Fri 04 Apr 14:00." in (
        w.web.handle("GET", f"/r/{w.release.id}").body
    )


def test_a_release_added_after_its_reminder_time_was_asked_by_nobody() -> None:
    # GIVEN a Monday 09:30 release added on Monday at 08:45, after Friday's 14:00 reminder time
    # and the 08:30 last call, so no readiness message is ever sent for it
    w = World(make_release(due=MONDAY_DUE, readiness=READY), uk_at(2025, 4, 7, 8, 45))
    assert [s for s in w.tick_at(uk_at(2025, 4, 7, 8, 46)) if s[2].startswith("ready_")] == []
    page = w.web.handle("GET", f"/r/{w.release.id}").body
    # THEN the page does not say the team was asked on Friday: nobody was
    assert "was asked" not in page and "Fri 04 Apr" not in page
    assert "Readiness not confirmed yet: nobody has been asked." in page


# -- the date moves ------------------------------------------------------------------------------
def test_a_move_asks_again_for_the_new_date_and_shows_the_old_confirmation_as_the_old_dates() -> (
    None
):
    from releasewatch.calendar.changes import MOVED, Change, to_record

    w = monday_world()
    w.tick_at(uk_at(2025, 4, 4, 14, 0))
    w.clock.advance(timedelta(minutes=5))
    assert w.web.handle("POST", w.confirm_path("web_publisher")).status == 200

    # Friday 15:00: the calendar moves it from Monday to Wednesday 9 April (what a sync records).
    w.clock.advance(uk_at(2025, 4, 4, 15, 0) - w.clock.now())
    wednesday = uk_at(2025, 4, 9, 9, 30)
    w.release = w.release.model_copy(update={"due": wednesday})
    w.store.apply_releases([w.release], w.clock.now())
    change = Change(w.release.id, MOVED, MONDAY_DUE, wednesday)
    event = to_record(change, w.store.events(w.release.id), w.clock.now())
    assert event is not None
    w.store.add_event(event)

    def readiness_sent(when: datetime) -> list[tuple[str, str, str]]:
        return [s for s in w.tick_at(when) if s[2].startswith("ready_")]

    # Nothing for the old date: no escalation at 16:00, no last call on Monday morning.
    assert readiness_sent(uk_at(2025, 4, 4, 16, 0)) == []
    assert readiness_sent(uk_at(2025, 4, 7, 8, 30)) == []
    # Asked again on the working day before the new date: Friday's confirmation was for Monday.
    assert sorted(readiness_sent(uk_at(2025, 4, 8, 14, 0))) == [
        ("stats_team", "email", "ready_remind"),
        ("web_publisher", "email", "ready_remind"),
    ]
    page = w.web.handle("GET", f"/r/{w.release.id}").body
    assert (
        "Readiness was confirmed by Alice Publisher at Fri 04 Apr 2025 14:05 BST for the earlier "
        "due time Mon 07 Apr 2025 09:30 BST." in page
    )
    assert (
        "Readiness not confirmed yet for the new due time: asked Alice Publisher by email at "
        "Tue 08 Apr 14:00." in page
    )
    assert readiness_sent(uk_at(2025, 4, 8, 16, 0)) == [
        ("lead_official", "email", "ready_escalate")
    ]

    # The new reminder's link confirms for Wednesday; the report tells the two apart.
    new_link = [
        s.message.text
        for s in w.log
        if s.message.contact_id == "stats_team" and "|ready_remind|" in s.message.key
    ][-1]
    found = re.search(re.escape(BASE) + r"(/c/[A-Za-z0-9_-]+)", new_link)
    assert found
    assert w.web.handle("POST", found.group(1)).status == 200
    assert readiness_sent(uk_at(2025, 4, 9, 8, 30)) == []  # no last call: confirmed
    report = build_report_text(w.store, w.release.id)
    assert (
        "Readiness confirmed by Alice Publisher (web publisher) at Fri 04 Apr 2025 14:05:00 BST "
        "(for the earlier due time Mon 07 Apr 2025 09:30:00 BST)\n" in report
    )
    assert (
        "Readiness confirmed by Labour market statistics team (stats team) at "
        "Tue 08 Apr 2025 16:00:00 BST\n" in report
    )


def test_a_confirmation_recorded_without_its_due_time_counts_until_the_next_move() -> None:
    # Confirmations recorded before they carried their due time: the first move after one
    # says which date it was for.
    from releasewatch.calendar.changes import MOVED, Change
    from releasewatch.model import Event
    from releasewatch.readiness.policy import confirmation

    monday, wednesday = MONDAY_DUE, uk_at(2025, 4, 9, 9, 30)
    old = Event(
        release_id="r",
        at=uk_at(2025, 4, 4, 14, 5),
        kind=EventKind.READY_CONFIRMED,
        contact_id="web_publisher",
        detail={"token_id": "t1", "via": "link"},
    )
    assert confirmation([old], monday) is not None
    moved = Change("r", MOVED, monday, wednesday).event(uk_at(2025, 4, 4, 15, 0), "x")
    assert confirmation([old, moved], wednesday) is None
    assert confirmation([old, moved], monday) is not None  # it was Monday's


def test_a_due_date_edited_in_the_config_asks_again_for_the_new_date() -> None:
    # No calendar here: someone edits the YAML from Monday to Wednesday after Friday's
    # reminder was answered. That confirmation was for Monday; Wednesday is asked again.
    w = monday_world()
    w.tick_at(uk_at(2025, 4, 4, 14, 0))
    w.clock.advance(timedelta(minutes=5))
    assert w.web.handle("POST", w.confirm_path("web_publisher")).status == 200

    w.clock.advance(uk_at(2025, 4, 4, 15, 0) - w.clock.now())
    w.release = w.release.model_copy(update={"due": uk_at(2025, 4, 9, 9, 30)})
    w.store.apply_releases([w.release], w.clock.now())

    def readiness_sent(when: datetime) -> list[tuple[str, str, str]]:
        return [s for s in w.tick_at(when) if s[2].startswith("ready_")]

    assert readiness_sent(uk_at(2025, 4, 4, 16, 0)) == []  # nothing more for Monday
    assert readiness_sent(uk_at(2025, 4, 7, 8, 30)) == []
    assert sorted(readiness_sent(uk_at(2025, 4, 8, 14, 0))) == [
        ("stats_team", "email", "ready_remind"),
        ("web_publisher", "email", "ready_remind"),
    ]
    (latest,) = [
        s.message
        for s in w.log
        if s.message.contact_id == "stats_team" and "|ready_remind|" in s.message.key
    ][-1:]
    assert "is due at 09:30 tomorrow" in latest.text  # on Tuesday: Wednesday's release
    # ...once: the next ticks that day send nothing more until the escalation time
    assert readiness_sent(uk_at(2025, 4, 8, 14, 10)) == []
    assert readiness_sent(uk_at(2025, 4, 8, 16, 0)) == [
        ("lead_official", "email", "ready_escalate")
    ]


def test_a_reminder_time_changed_in_the_config_asks_nobody_twice() -> None:
    w = monday_world()
    assert len(w.tick_at(uk_at(2025, 4, 4, 14, 0))) == 2
    # the config's remind_at moves from 14:00 to 15:00 the same afternoon
    later = READY.model_copy(update={"remind_at": READY.remind_at.replace(hour=15)})
    w.release = w.release.model_copy(update={"readiness": later})
    w.store.apply_releases([w.release], w.clock.now())
    assert [s for s in w.tick_at(uk_at(2025, 4, 4, 15, 0)) if s[2] == "ready_remind"] == []
