"""'Later steps are held until HH:MM' is said only when a later alert step really falls inside the
hold, and never in the present tense once the page is live (the acknowledge pages, the release
page's acknowledgements and ladder)."""

from __future__ import annotations

import re
from datetime import timedelta

from releasewatch.model import Chain, Step
from tests.factories import make_release
from tests.unit.escalation_support import ID, Scenario, at

M = timedelta(minutes=1)
ONE_STEP = Chain(id="one", steps=(Step(after=5 * M, notify=("stats_team",), repeat=10 * M),))


def _acks(s: Scenario) -> str:
    body = s.open(f"/r/{ID}").body
    found = re.search(r'id="acknowledgements">(.*?)</div>', body, re.S)
    assert found is not None
    return found.group(1)


def test_a_chain_with_no_later_step_is_never_said_to_hold_one():
    # GIVEN a chain of one step (the stats team, reminded every 10 min)
    s = Scenario(live=lambda now: now >= at(9, 50), release=make_release(chain=ONE_STEP))
    s.run_until(at(9, 36))
    link = s.latest_link("stats_team", "email")
    # WHEN the stats team opens and presses the acknowledge link at 09:36
    preview = s.open(link, "GET").body
    assert "holds nothing else: no later alert step falls before 10:06 BST." in preview
    assert "held until" not in preview and "holds the later alert steps" not in preview
    assert "breach notice" not in preview  # the chain has no breach step
    done = s.open(link, "POST").body
    # THEN neither page says later steps are held: there are none
    assert "No later alert step falls before 10:06 BST, so nothing else is held." in done
    assert "held until" not in done
    # AND the release page lists the acknowledgement without a hold
    assert "held" not in _acks(s) and "Labour market statistics team at 09:36:00" in _acks(s)
    # AND once the page is live, still nothing is said to be held
    s.run_until(at(9, 51))
    assert "held" not in _acks(s)


def test_a_hold_is_in_the_past_tense_once_the_page_is_live():
    # GIVEN the default chain: Alice (step 2) acknowledges at 09:41; the lead official's step
    # (10:00) falls inside her hold (until 10:11), and the page goes live at 10:05
    s = Scenario(live=lambda now: now >= at(10, 5))
    s.run_until(at(9, 41))
    done = s.open(s.latest_link("web_publisher"), "POST").body
    assert "Later alert steps are held until 10:11 BST" in done
    assert "Alice Publisher at 09:41:00: later alerts held until 10:11:00" in _acks(s)
    s.run_until(at(10, 6))
    # THEN after it is live the page says what happened, not that alerts are held
    acks = _acks(s)
    assert "held until 10:11" not in acks
    assert "later alerts were held until the page went live at 10:05:00" in acks


def test_a_hold_that_held_nothing_before_the_page_went_live_is_not_mentioned():
    # GIVEN the same, but live at 09:55, before the lead official's 10:00 step was due
    s = Scenario(live=lambda now: now >= at(9, 55))
    s.run_until(at(9, 41))
    s.open(s.latest_link("web_publisher"), "POST")
    s.run_until(at(9, 56))
    # THEN nothing was held, and nothing is said to have been
    assert "held" not in _acks(s) and "Alice Publisher at 09:41:00" in _acks(s)


def test_the_ladder_does_not_hold_reminders_of_a_step_that_never_repeats():
    # GIVEN the default chain at 10:01: the lead official's step fired once at 10:00 (no
    # repeat); the stats team acknowledges, which holds every later alert step until 10:31
    s = Scenario(live=lambda now: False)
    s.run_until(at(10, 1))
    assert s.open(s.latest_link("stats_team", "email"), "POST").status == 200
    body = s.open(f"/r/{ID}").body
    ladder = body.split('id="ladder"', 1)[1].split("</table>", 1)[0]
    rows = ladder.split("<tr")[1:]
    lead = [r for r in rows if "Bob Lead" in r and "Alert" in r]
    # THEN the lead official's row says it was sent, and no reminders held (it has none)
    assert lead and all("Sent 10:00:00" in r and "reminders held" not in r for r in lead)
    # AND Alice's step, which repeats every 10 min, does say its reminders are held
    alice = [r for r in rows if "Alice Publisher" in r and "Sent" in r]
    assert alice and all("reminders held until 10:31:00" in r for r in alice)
