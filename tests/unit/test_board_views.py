"""The board's view models, without HTML: what a statistics team reads at 09:42 on release
day, computed from the store by the same code the pages and /api/releases use."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta

import pytest

from releasewatch.errors import SendError
from releasewatch.model import Check, ReleaseState
from releasewatch.web.views.board import in_view
from releasewatch.web.views.load import load_board, load_release
from releasewatch.web.views.problems import Health, health_problems
from releasewatch.web.views.timeline import EN_DASH, TIMES, collapse
from releasewatch.web.views.words import age
from tests.factories import DUE, make_release
from tests.unit.escalation_support import ID, Scenario, at

NO_HEALTH = Health()


def late_at(hh: int, mm: int, **kw: object) -> Scenario:
    s = Scenario(live=lambda now: False, **kw)  # type: ignore[arg-type]
    s.run_until(at(hh, mm))
    return s


def test_a_late_release_at_plus_12_min_reads_late_12_min_with_the_last_check() -> None:
    # GIVEN a release due 09:30 that is still not live at 09:42
    s = late_at(9, 42)
    # WHEN the board is built
    board = load_board(s.store, s.clock.now(), "today", NO_HEALTH)
    # THEN one row: late, 12 minutes, last check a 404 a few seconds ago
    (row,) = board.rows
    assert row.tag.state == "late" and row.tag.text == "Late — 12 min"
    assert row.minutes_late == 12
    assert row.due_text == "09:30" and board.zone == "BST"
    assert row.last_check is not None
    assert row.last_check.verdict == "Not live: HTTP 404 (status 404, expected 200)"
    assert row.last_check.age == "10 s ago"
    assert board.updated == "09:42:00"
    # AND a minute later the minutes count up, before any tick has run
    later = load_board(s.store, s.clock.now() + timedelta(minutes=1), "today", NO_HEALTH)
    assert later.rows[0].minutes_late == 13 and later.rows[0].tag.text == "Late — 13 min"


def test_states_in_plain_words() -> None:
    s = late_at(9, 20)
    now = s.clock.now()
    record = s.store.get_release(ID)
    assert record is not None

    def tag(**update: object) -> str:
        rec = record.model_copy(update=update)
        from releasewatch.web.views.board import state_tag

        return state_tag(rec, [], now + timedelta(hours=3)).text

    assert tag(live_at=DUE + timedelta(minutes=1), state=ReleaseState.LIVE) == "Live, on time"
    assert (
        tag(live_at=DUE + timedelta(hours=2, minutes=30), state=ReleaseState.LIVE_LATE)
        == "Live, 2 h 30 min late"
    )
    assert tag(live_at=DUE - timedelta(minutes=3), state=ReleaseState.EARLY) == "Early — breach"
    cancelled = record.release.model_copy(update={"cancelled": True})
    assert tag(release=cancelled) == "Cancelled"
    assert load_board(s.store, now, "today", NO_HEALTH).rows[0].tag.text == "Not due yet"
    fresh = record.model_copy(update={"last_check": None})
    from releasewatch.web.views.board import state_tag

    assert state_tag(fresh, [], DUE - timedelta(minutes=5)).text == "Not yet checked"


def test_views_today_tomorrow_and_the_next_7_days_in_due_order() -> None:
    s = Scenario(live=lambda now: False, release=make_release("a-today"))
    releases = [
        make_release("b-today", due=DUE + timedelta(hours=1)),
        s.release,
        make_release("tomorrow", due=DUE + timedelta(days=1)),
        make_release("in-5-days", due=DUE + timedelta(days=5)),
        make_release("in-9-days", due=DUE + timedelta(days=9)),
    ]
    s.store.apply_releases(releases, s.clock.now())
    now = s.clock.now()
    ids = {v: [r.release_id for r in load_board(s.store, now, v, NO_HEALTH).rows]
           for v in ("today", "tomorrow", "week")}  # fmt: skip
    assert ids["today"] == ["a-today", "b-today"]
    assert ids["tomorrow"] == ["tomorrow"]
    assert ids["week"] == ["a-today", "b-today", "tomorrow", "in-5-days"]
    # yesterday's release still not live stays on today's board
    record = s.store.get_release("a-today")
    assert record is not None
    assert in_view(record, "today", now + timedelta(days=1))


def test_the_ladder_at_plus_12_min_shows_who_was_told_how_and_the_next_step() -> None:
    s = late_at(9, 42)
    page = load_release(s.store, ID, s.clock.now(), NO_HEALTH)
    assert page is not None
    rows = [(r.step, r.who, r.channel, r.delivery, r.text) for r in page.ladder]
    assert rows[:3] == [
        (1, "Labour market statistics team", "Email", "sent", "Sent 09:35:00"),
        (2, "Alice Publisher", "SMS", "sent", "Sent 09:40:00"),
        (2, "Alice Publisher", "Email", "sent", "Sent 09:40:00"),
    ]
    assert rows[3][:4] == (3, "Bob Lead", "Email", "pending")
    assert rows[3][4] == "Not yet: at 10:00:00 if the page is still not live"
    assert rows[4][:4] == (4, "Charlie Head", "Email", "pending")
    assert page.ladder[4].kind == "Breach notice"
    assert page.next_step is not None
    assert (page.next_step.time, page.next_step.who) == ("10:00:00", ("Bob Lead",))
    assert page.next_step.within == "in 18 min"


def test_a_failed_sms_says_why_and_what_happened_instead_and_is_a_problem() -> None:
    def refuse(message: object) -> SendError:
        return SendError("the number is not a mobile number", permanent=True)

    s = late_at(9, 42, sms_fail=refuse)
    page = load_release(s.store, ID, s.clock.now(), NO_HEALTH)
    assert page is not None
    sms = next(r for r in page.ladder if r.channel == "SMS")
    assert sms.delivery == "failed"
    assert sms.text.startswith("Failed at 09:40:00: the number is not a mobile number")
    board = load_board(s.store, s.clock.now(), "today", NO_HEALTH)
    kinds = [p.kind for p in board.problems]
    assert "failed-send" in kinds
    failed = next(p for p in board.problems if p.kind == "failed-send")
    assert "SMS to Alice Publisher failed at 09:40:00" in failed.text
    assert failed.href == f"r/{ID}"
    # her email went, so she is not unreachable
    assert "unreachable" not in kinds


def test_a_contact_no_channel_reached_is_unreachable() -> None:
    def refuse(message: object) -> SendError:
        return SendError("mailbox unavailable", permanent=True)

    s = Scenario(live=lambda now: False)
    s.dog.notifiers["email"] = s.dog.notifiers["sms"] = type(
        "Refusing", (), {"send": staticmethod(lambda m: (_ for _ in ()).throw(refuse(m)))}
    )()
    s.run_until(at(9, 36))
    board = load_board(s.store, s.clock.now(), "today", NO_HEALTH)
    unreachable = [p for p in board.problems if p.kind == "unreachable"]
    assert len(unreachable) == 1
    assert "Labour market statistics team could not be reached (email failed)" in (
        unreachable[0].text
    )


def test_an_acknowledgement_holds_the_later_steps_and_is_listed() -> None:
    s = late_at(9, 41)
    assert s.open(s.latest_link("web_publisher"), "POST").status == 200
    s.run_until(at(9, 52))
    page = load_release(s.store, ID, s.clock.now(), NO_HEALTH)
    assert page is not None
    (ack,) = page.acknowledgements
    assert ack.who == "Alice Publisher" and ack.time == "09:41:00"
    bob = next(r for r in page.ladder if r.who == "Bob Lead")
    assert bob.delivery == "held"  # its 10:00 falls inside the hold
    assert bob.text == "Held until 10:11:00: Alice Publisher acknowledged at 09:41:00"
    sms = next(r for r in page.ladder if r.channel == "SMS")
    assert sms.delivery == "sent" and "reminders held until 10:11:00" in sms.text
    assert page.next_step is not None and page.next_step.time == "10:11:00"
    assert page.next_step.held


def test_the_timeline_collapses_runs_and_marks_due_and_go_live() -> None:
    s = Scenario(live=lambda now: now >= at(9, 34, 5))
    s.run_until(at(9, 36))
    page = load_release(s.store, ID, s.clock.now(), NO_HEALTH)
    assert page is not None
    entries = [(e.kind, e.text, e.span) for e in page.timeline]
    assert ("due", "Due", "09:30:00") in entries
    assert ("live", "Went live", "09:34:10") in entries
    before_due = entries[entries.index(("due", "Due", "09:30:00")) - 1]
    assert before_due[1].startswith(f"404 {TIMES} ")
    assert before_due[2].endswith(f"{EN_DASH}09:29:50")
    after_due = entries[entries.index(("due", "Due", "09:30:00")) + 1]
    assert after_due[1] == f"404 {TIMES} 25"
    assert after_due[2] == f"09:30:00{EN_DASH}09:34:00"
    assert page.tag.text == "Live, 4 min late"
    assert page.live_text == "09:34:10"
    assert any(link.href == f"r/{ID}/report.docx" for link in page.links)
    assert [(h.name, h.value) for h in page.cache_headers] == [("age", "0"), ("x-cache", "MISS")]
    assert page.next_step is None and page.next_step_text == "No next step: the page is live."


def test_collapse_keeps_one_check_alone_and_marks_due_after_the_last_check() -> None:
    check = Check(release_id=ID, at=DUE - timedelta(minutes=1), url="u", live=False,
                  reason="status 404, expected 200", status=404)  # fmt: skip
    entries = collapse([check], DUE, None)
    assert [(e.kind, e.text, e.span) for e in entries] == [
        ("checks", "404", "09:29:00"),
        ("due", "Due", "09:30:00"),
    ]


def test_the_watchdog_unhealthy_in_words() -> None:
    now = DUE
    problems = health_problems(
        Health(
            store_failing="database or disk is full (the disk holding the database is full)",
            store_failing_since=now - timedelta(minutes=2),
            store_attempts=4,
            sync_failing={"ons-feed": "HTTP 503", "(the sync)": "OSError: disk"},
            last_tick=now - timedelta(minutes=7),
            expect_ticks=True,
        ),
        now,
    )
    texts = [p.text for p in problems]
    assert all(p.kind == "unhealthy" for p in problems) and len(problems) == 4
    assert texts[0].startswith("The watchdog is failing since Thu 17 Jul 09:28")
    assert texts[1] == (
        "The calendar source ons-feed is failing: HTTP 503. The releases already imported stay."
    )
    assert texts[2].startswith("The calendar sync is failing")
    assert texts[3].startswith("The watchdog last ran at 09:23:00, 7 min ago")
    assert (
        health_problems(Health(last_tick=now - timedelta(minutes=2), expect_ticks=True), now) == []
    )


def test_no_internal_wording_anywhere_in_the_view_models() -> None:
    def refuse(message: object) -> SendError:
        return SendError("unknown subscriber", permanent=True)

    s = late_at(9, 42, sms_fail=refuse)
    s.open(s.latest_link("web_publisher", "email"), "POST")
    s.run_until(at(11, 0))
    now = s.clock.now()
    models = [
        load_board(s.store, now, "today", NO_HEALTH),
        load_release(s.store, ID, now, NO_HEALTH),
    ]
    text = json.dumps([dataclasses.asdict(m) for m in models], default=str)  # type: ignore[call-overload]
    for internal in ("live_late", "step 0", "permanent", "notification_", "ack_notice"):
        # (machine states stay in the `state` fields: the words people read never hold them)
        words = [v for k, v in _texts(json.loads(text)) if k != "state"]
        assert not [w for w in words if internal in w], internal


def _texts(obj: object, key: str = "") -> list[tuple[str, str]]:
    if isinstance(obj, dict):
        return [t for k, v in obj.items() for t in _texts(v, k)]
    if isinstance(obj, list):
        return [t for v in obj for t in _texts(v, key)]
    return [(key, obj)] if isinstance(obj, str) else []


def test_a_delivery_receipt_shows_delivered_and_its_time() -> None:
    # GOV.UK Notify's receipt gives the time it reached the phone: the ladder then says
    # "Delivered", and "Sent" while only sent_at is known (SES, SNS and SMTP send none).
    from releasewatch.web.views.ladder import _sent_text

    s = late_at(9, 41)
    (sent,) = [d for d in s.store.deliveries(ID) if d.notification.channel == "sms"]
    assert _sent_text(sent) == ("sent", "Sent 09:40:00")
    assert s.store.record_receipt(sent.key, "p", "delivered", at(9, 40, 4)) is False
    assert sent.provider_id is not None
    assert s.store.record_receipt(sent.key, sent.provider_id, "delivered", at(9, 40, 4))
    (receipt,) = [d for d in s.store.deliveries(ID) if d.notification.channel == "sms"]
    assert _sent_text(receipt) == ("delivered", "Delivered 09:40:04")


def test_a_rota_step_names_who_is_on_call_and_for_which_rota() -> None:
    from releasewatch.model import Chain, Contact, Rota, Shift, Step
    from tests.factories import CONTACTS

    on_call = Contact(
        id="publishers",
        name="Web publishers",
        rota=Rota(
            source="ics",
            shifts=(Shift(contact="web_publisher", start=at(6, 0), end=at(18, 0)),),
        ),
    )
    chain = Chain(
        id="rota",
        steps=(
            Step(after=timedelta(minutes=5), notify=("stats_team",)),
            Step(after=timedelta(minutes=10), notify=("publishers",), channels=("sms",)),
        ),
    )
    release = make_release(contacts=CONTACTS | {"publishers": on_call}, chain=chain)
    s = Scenario(live=lambda now: False, release=release)
    s.run_until(at(9, 41))
    page = load_release(s.store, ID, s.clock.now(), NO_HEALTH)
    assert page is not None
    sms = page.ladder[1]
    assert (sms.who, sms.channel, sms.delivery) == (
        "Alice Publisher (on call for Web publishers)",
        "SMS",
        "sent",
    )


def test_a_page_first_seen_live_after_due_with_no_check_between_is_not_called_late() -> None:
    # The watchdog started at 10:30 (added late, or down across 09:30): it cannot tell when
    # the page went live, so the board must not say "Live, 1 h late"; the messages and the
    # report already say only "first seen live" (policy.lateness_unproven).
    s = Scenario(live=lambda now: True, start=at(10, 30))
    s.run_until(at(10, 31))
    board = load_board(s.store, at(10, 31), "today", NO_HEALTH)
    (row,) = board.rows
    assert row.tag.state == ReleaseState.LIVE_LATE
    assert row.tag.text == "Live — first seen 1 h after due"
    assert row.live_text == "First seen 10:30:00; when it went live is unknown"
    page = load_release(s.store, ID, at(10, 31), NO_HEALTH)
    assert page is not None and page.tag.text == "Live — first seen 1 h after due"
    assert page.live_text.startswith("First seen 10:30:00")

    # With a check after the grace that saw it not live, lateness is proven: "late" it is.
    p = Scenario(live=lambda now: now >= at(10, 30))
    p.run_until(at(10, 31))
    (proven,) = load_board(p.store, at(10, 31), "today", NO_HEALTH).rows
    assert proven.tag.text == "Live, 1 h late" and proven.live_text == "10:30:00"


@pytest.mark.parametrize(
    ("ago", "text"),
    [
        (timedelta(seconds=45), "45 s ago"),
        (timedelta(hours=2, minutes=30), "2 h 30 min ago"),
        (timedelta(hours=48), "48 h ago"),  # up to two days: hours still read well
        (timedelta(hours=48, minutes=1), "2 days ago"),
        (timedelta(hours=857, minutes=9), "35 days 17 h ago"),  # not '857 h 9 min ago'
    ],
)
def test_a_long_time_ago_is_said_in_days(ago: timedelta, text: str) -> None:
    assert age(DUE - ago, DUE) == text


def test_status_says_the_states_in_the_boards_words_not_internal_names() -> None:
    from releasewatch.commands.status import release_rows

    waiting = late_at(9, 20)
    ((_, _, state, seen),) = release_rows(waiting.store, waiting.store.all_releases(), at(9, 20))[
        1:
    ]
    assert state == "Not due yet" and "scheduled" not in state and "watching" not in state
    assert seen.endswith(": Not live: HTTP 404 (status 404, expected 200)")

    late = Scenario(live=lambda now: now >= at(9, 34))
    late.run_until(at(9, 35))
    ((_, _, state, seen),) = release_rows(late.store, late.store.all_releases(), at(9, 35))[1:]
    (row,) = load_board(late.store, at(9, 35), "today", NO_HEALTH).rows
    assert state == row.tag.text == "Live, 4 min late"  # not 'live_late'
    assert seen.endswith(": Live: HTTP 200")


@pytest.mark.parametrize(
    ("status", "error", "origin"),
    [(503, None, "HTTP 503"), (None, "timeout", "timed out")],
)
def test_a_check_live_by_the_public_path_says_so_not_the_origins_status(
    status: int | None, error: str | None, origin: str
) -> None:
    from releasewatch.model import PublicCopy
    from releasewatch.web.views.words import check_verdict

    public = PublicCopy(url="https://www.gov.uk/x", live=True, reason="ok", status=200)
    check = Check(
        release_id=ID, at=DUE, url="https://www.gov.uk/x?rwcb=1", live=True,
        reason="the public path serves it", status=status, error=error, public=public,
    )  # fmt: skip
    assert check_verdict(check) == f"Live: public path HTTP 200 (origin {origin})"
