"""The oracle: every claim a rendered message, board line, release page or breach report makes is
checked against what happened (the event log, the checks, the messages really sent) and the
chain as configured. It recomputes the facts its own way (occurrences by enumeration, lateness
from the checks) rather than calling the code under test."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from releasewatch.model import Check, EventKind, Release, ReleaseState, Step
from releasewatch.report.build import BLANK, build_report
from releasewatch.timefmt import delay_text, uk_time
from releasewatch.web.views.board import late_text
from releasewatch.web.views.words import clock_time, day_time
from tests.property.truth_history import History, Seen, Sent

_ESCALATION = ("alert", "breach")
# A delay as timefmt.delay_text writes it: '40 s', '12 min', '1 h 30 min', '35 days 17 h'
DELAY = r"(\d+ (?:days?|h|min|s)(?: \d+ (?:h|min|s))*)"


@dataclass(frozen=True)
class Ack:
    contact_id: str
    step: int
    at: datetime


@dataclass
class Facts:
    h: History
    release: Release
    live_at: datetime | None
    checks: list[Check]
    acks: list[Ack]

    @classmethod
    def of(cls, h: History) -> Facts:
        store = h.store
        record = store.get_release(h.release.id)
        assert record is not None
        acks = sorted(
            (
                Ack(e.contact_id, int(e.detail["step"]), e.at)
                for e in store.events(h.release.id)
                if e.kind == EventKind.ACKNOWLEDGED and e.contact_id
            ),
            key=lambda a: a.at,
        )
        return cls(h, h.release, record.live_at, store.checks(h.release.id), acks)

    @property
    def due(self) -> datetime:
        return self.release.due

    def cancelled_by(self, when: datetime) -> bool:
        return self.h.cancelled_at is not None and self.h.cancelled_at <= when

    def live_by(self, when: datetime) -> bool:
        return self.live_at is not None and self.live_at <= when

    def proven_late(self) -> bool:
        """Late by the definition: live after due + grace, with a check in between that saw
        it not live (the scripted page gives no GOV.UK date)."""
        end = self.due + self.release.grace
        if self.live_at is None or self.live_at <= end:
            return False
        return any(not c.live and end < c.at <= self.live_at for c in self.checks)

    def name(self, contact_id: str) -> str:
        return self.release.contacts[contact_id].name

    def occurrences(self, step: Step, until: datetime) -> list[datetime]:
        out, t = [], self.due + step.after
        while t < until:
            out.append(t)
            if step.repeat is None:
                break
            t += step.repeat
        return out

    def holds_something(self, ack: Ack, end: datetime) -> bool:
        """A later alert step fires between the ack and `end`."""
        return any(
            index > ack.step
            and step.kind == "alert"
            and any(ack.at <= t for t in self.occurrences(step, end))
            for index, step in enumerate(self.release.chain.steps)
        )

    def sent_before(self, index: int) -> list[Sent]:
        return self.h.log[:index]

    def reports(self) -> set[str]:
        return {s.message.contact_id for s in self.h.log if s.kind == "report"}


def check_history(h: History) -> None:
    facts = Facts.of(h)
    for index, sent in enumerate(h.log):
        _check_message(facts, index, sent)
    for seen in h.seen:
        _check_page(facts, seen)
    _check_report(facts)


# -- messages ------------------------------------------------------------------------------------
def _check_message(f: Facts, index: int, sent: Sent) -> None:
    words, at, kind = sent.words(), sent.at, sent.kind
    where = f"{kind} to {sent.message.contact_id} by {sent.message.channel} at {clock_time(at)}"
    late_phrases = re.findall(r"(?:is not live: |, )(\d[^,()]*?) late(?: at|\))", words)
    for phrase in late_phrases:
        if kind in _ESCALATION:
            assert at > f.due + f.release.grace, f"{where}: called late inside the grace: {phrase}"
            assert phrase == delay_text(at - f.due), f"{where}: late by {phrase}"
            assert not f.live_by(at), f"{where}: 'late' but live at {f.live_at}"
    for phrase in re.findall(r"not live (\d[^,()]*?) after its due time", words):
        assert at <= f.due + f.release.grace, f"{where}: 'after its due time' past the grace"
        assert phrase == delay_text(at - f.due)
    if kind in _ESCALATION:
        _check_escalation(f, index, sent, where)
    if kind in ("resolved", "early"):
        _check_resolution(f, sent, where)
    if kind == "ack_notice":
        _check_ack_notice(f, sent, where)
    if kind != "report":  # the report's form has a "Head of Profession or lead official" field
        _check_breach_names(f, words, where)


def _check_escalation(f: Facts, index: int, sent: Sent, where: str) -> None:
    words, at, me = sent.words(), sent.at, sent.message.contact_id
    earlier = [
        s
        for s in f.sent_before(index)
        if s.kind in _ESCALATION
        and s.message.contact_id == me
        and (s.step, s.occurrence) != (sent.step, sent.occurrence)
    ]
    count = len({(s.step, s.occurrence) for s in earlier})
    found = re.search(r"STILL NOT LIVE \(reminder (\d+)\)", words)
    if found:
        assert int(found.group(1)) == count > 0, f"{where}: reminder {found.group(1)}, {count}"
    found = re.search(r"you were first alerted at (\d\d:\d\d [A-Z]+)\.", words)
    if found:
        assert earlier and found.group(1) == uk_time(min(s.at for s in earlier)), where
    found = re.search(r"Also told: (.+?)\.\n", words)
    if found and sent.message.channel == "email":
        others = {
            s.message.contact_id
            for s in f.sent_before(index)
            if s.kind in _ESCALATION and s.message.contact_id != me
        }
        told = found.group(1)
        for cid in f.release.contacts:
            if cid != me:
                assert (f.name(cid) in told) == (cid in others), f"{where}: also told '{told}'"
        assert (told == "nobody else yet") == (not others), where
    found = re.search(r"Next: (.+?) at (\d\d:\d\d [A-Z]+) if still not live\.", words)
    if found:
        who, when = found.groups()
        candidates = set()
        for i, step in enumerate(f.release.chain.steps):
            if {f.name(c) for c in step.notify} != set(who.split(", ")):
                continue
            candidates.add(f.due + step.after)
            for ack in f.acks:
                if ack.at <= at and i > ack.step and step.kind == "alert":
                    candidates.add(ack.at + f.release.ack_timeout)
        assert any(c > at and uk_time(c) == when for c in candidates), f"{where}: {found[0]}"
    later = [s for s in f.release.chain.steps if f.due + s.after > at]
    if "(the chain has no later step)" in words:
        assert not later, f"{where}: says no later step, but {len(later)} to come"
        step = f.release.chain.steps[sent.step or 0]
        every = re.search(r"a reminder to you every (.+?) until", words)
        assert (every is not None) == (step.repeat is not None), where
        if every and step.repeat is not None:
            assert every.group(1) == delay_text(step.repeat), where


def _check_resolution(f: Facts, sent: Sent, where: str) -> None:
    words, text = sent.words(), sent.message.text
    assert f.live_at is not None and f.live_by(sent.at), f"{where}: resolved before live"
    delay = f.live_at - f.due
    found = re.search(r"is live, (.+?) late", words)
    if found:
        assert f.proven_late(), f"{where}: 'late' without evidence"
        assert found.group(1) == delay_text(delay), where
    if "is live on time" in words:
        assert timedelta(0) <= delay <= f.release.grace, where
    if re.search(r"first checked .+? after due", words):
        assert delay > f.release.grace and not f.proven_late(), where
    if re.search(r"is live, .+? early", words) or sent.kind == "early":
        assert delay < timedelta(0), f"{where}: early, but live {delay} after due"
    reports = f.reports()
    found = re.search(r"(?:: |\. )([^.:]*?) receives? a draft breach report", text)
    if found:
        named = found.group(1)
        for cid, contact in f.release.contacts.items():
            said = contact.name in named
            assert said == (cid in reports), f"{where}: report to '{named}', sent to {reports}"
    if "No draft breach report is sent" in text:
        assert not reports, f"{where}: says no report, but {reports} got one"
    if "draft breach report" in text and not found:
        assert "No draft breach report is sent" in text, f"{where}: report to whom?"
    if ". Report to follow." in words:
        assert reports, f"{where}: a report to follow, but none was sent"


def _check_ack_notice(f: Facts, sent: Sent, where: str) -> None:
    words, at = sent.words(), sent.at
    ack = f.acks[sent.step or 0]
    hold = ack.at + f.release.ack_timeout
    found = re.search(r"(.+?) acknowledged the alert for '.*' at (\d\d:\d\d [A-Z]+)", words)
    if found:
        assert found.group(1) in (f.name(ack.contact_id), f"Someone in {f.name(ack.contact_id)}")
        assert found.group(2) == uk_time(ack.at), where
    held = f.holds_something(ack, hold)
    if re.search(r"are held until|were held until|Alerts held to|Hold ended", words):
        assert held, f"{where}: says later steps are held, but none falls before {hold}"
        assert re.search(rf"held (?:until|to) {re.escape(uk_time(hold)[:5])}", words) or (
            f"Hold ended {uk_time(hold)[:5]}" in words
        ), where
        # ...and they really were: no later alert step's message inside the hold
        for s in f.h.log:
            if s.kind == "alert" and (s.step or 0) > ack.step and ack.at <= s.at < hold:
                raise AssertionError(f"{where}: held, yet step {s.step} sent at {s.at}")
    if "were held until" in words:
        assert at >= hold and not f.live_by(hold), where
    if "No later alert step falls between" in words:
        assert not held, f"{where}: says nothing is held, but a later step falls before {hold}"


def _check_breach_names(f: Facts, words: str, where: str) -> None:
    breach = {c for s in f.release.chain.steps if s.kind == "breach" for c in s.notify}
    for found in re.findall(r"Breach notices to (.+?) are never held", words) + re.findall(
        r"The breach notice to (.+?) is never held", words
    ):
        for cid in f.release.contacts:
            assert (f.name(cid) in found) == (cid in breach), f"{where}: breach notice to {found}"
    if "head of profession" in words and "head_of_profession" not in f.release.contacts:
        assert "names no head of profession" in words, f"{where}: names a head of profession"
    if "lead official" in words and "lead_official" not in f.release.contacts:
        assert "or lead official with an email" in words, f"{where}: names a lead official"


# -- the board line and the release page ---------------------------------------------------------
def _check_page(f: Facts, seen: Seen) -> None:
    page, now = seen.page, seen.at
    where = f"release page at {clock_time(now)}"
    tag = page.tag.text
    # live once a check saw it: a look before the tick at `now` has not seen that tick's check
    live = f.live_at is not None and (f.live_at <= now if seen.after_tick else f.live_at < now)
    if tag.startswith("Late — "):
        assert not live and now > f.due + f.release.grace, f"{where}: {tag}"
        assert tag == f"Late — {late_text(now - f.due)}", f"{where}: {tag}"
    if tag.startswith("Live, ") and tag.endswith(" late"):
        assert live and f.proven_late() and f.live_at is not None, f"{where}: {tag}"
        assert tag == f"Live, {delay_text(f.live_at - f.due)} late", where
    if tag == "Live, on time":
        assert live and f.live_at is not None
        assert timedelta(0) <= f.live_at - f.due <= f.release.grace, where
    if tag.startswith("Live — first seen"):
        assert live and not f.proven_late(), where
    if tag == "Early — breach":
        assert f.live_at is not None and f.live_at < f.due, where
    if tag == "Cancelled":
        assert f.cancelled_by(now), where
    for line in page.acknowledgements:
        ack = next(a for a in f.acks if a.at == line.at and f.name(a.contact_id) == line.who)
        hold = ack.at + f.release.ack_timeout
        found = re.search(r"later alerts held until (\S+)$", line.text)
        if found:
            assert not live and not f.cancelled_by(now) and now < hold, f"{where}: {line.text}"
            assert found.group(1) == clock_time(hold) and f.holds_something(ack, hold), where
        found = re.search(r"were held until the page went live at (\S+)$", line.text)
        if found:
            assert f.live_at is not None and live and found.group(1) == clock_time(f.live_at)
            assert f.holds_something(ack, min(hold, f.live_at)), f"{where}: {line.text}"
        found = re.search(r"were held until the release was cancelled at (\S+)$", line.text)
        if found:
            stopped = f.h.cancelled_at
            assert stopped is not None and f.cancelled_by(now), f"{where}: {line.text}"
            assert stopped < hold and found.group(1) == clock_time(stopped), f"{where}: {line.text}"
            assert f.holds_something(ack, stopped), f"{where}: {line.text}"
        found = re.search(r"later alerts were held until (\d\d:\d\d:\d\d)$", line.text)
        if found:
            assert found.group(1) == clock_time(hold) and now >= hold, f"{where}: {line.text}"
            assert f.holds_something(ack, hold), f"{where}: {line.text}"
        if "held" not in line.text:
            stop = min(hold, now, f.live_at or hold, f.h.cancelled_at or hold)
            assert not f.holds_something(ack, stop), f"{where}: '{line.text}' hides a hold"
    _check_readiness(f, page.readiness, now, where)
    step = page.next_step
    if step is not None:
        assert not live and not f.cancelled_by(now) and step.at > now, where
        candidates = set()
        for i, s in enumerate(f.release.chain.steps):
            if {f.name(c) for c in s.notify} == set(step.who):
                candidates.add(f.due + s.after)
                for ack in f.acks:
                    if ack.at <= now and i > ack.step and s.kind == "alert":
                        candidates.add(ack.at + f.release.ack_timeout)
        assert step.at in candidates, f"{where}: next step {step.who} at {step.time}"


def _check_readiness(f: Facts, line: str, now: datetime, where: str) -> None:
    asked = [s for s in f.h.log if s.kind.startswith("ready_") and s.at <= now]
    found = re.search(r"(?:asked|escalated to|last call to) (.+?) by (\w+) at (.+?)\.$", line)
    if found:
        who, _how, when = found.groups()
        assert any(f.name(s.message.contact_id) == who and day_time(s.at) == when for s in asked), (
            f"{where}: '{line}' but no such readiness message"
        )
    if "nobody has been asked" in line:
        assert not asked, f"{where}: '{line}' but {len(asked)} readiness messages went"
    found = re.search(r"Readiness confirmed by (.+?) at", line)
    if found:
        confirmed = [
            e
            for e in f.h.store.events(f.release.id)
            if e.kind == EventKind.READY_CONFIRMED and e.contact_id
        ]
        assert any(f.name(e.contact_id or "") == found.group(1) for e in confirmed), where


# -- the breach report ---------------------------------------------------------------------------
def _check_report(f: Facts) -> None:
    record = f.h.store.get_release(f.release.id)
    assert record is not None
    if record.state not in (ReleaseState.LIVE_LATE, ReleaseState.EARLY):
        return
    report = build_report(f.h.store, f.release.id)
    assert f.live_at is not None
    account = " ".join(report.account)
    for phrase in re.findall(DELAY + r" late\b", account):
        assert f.proven_late(), f"report: '{phrase} late' without evidence"
        assert phrase == delay_text(f.live_at - f.due), f"report: {phrase} late"
    head = report.field("head").lines[0]
    contacts = f.release.contacts
    want = contacts.get("head_of_profession") or contacts.get("lead_official")
    if want is None:
        assert head.startswith(BLANK), f"report: head field '{head}' names nobody real"
    else:
        assert head.startswith(want.name), f"report: head field '{head}'"
