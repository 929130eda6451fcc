"""The incident's breach report, field by field against the form (../shared/GOVUK.md):
title and link; producer; person dealing with it (name, contact); head of profession or lead
official (name, contact); link to a published statement; date of report; principle(s) and
practice(s); date of occurrence; account with roles, dates and times; impact inside and
outside; corrective actions, short and long term."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from docx import Document

from releasewatch.model import Check
from releasewatch.report.build import BLANK, FIELDS, build_report
from releasewatch.report.drafts import build_report_for_email
from releasewatch.report.render import render_docx, render_markdown, render_text
from tests.unit.escalation_support import ID, Scenario, at


@pytest.fixture(scope="module")
def incident():  # type: ignore[no-untyped-def]
    s = Scenario(live=lambda now: now >= at(12, 0))
    s.run_until(at(11, 40, 5))
    s.open(s.latest_link("web_publisher"), "POST")
    s.run_until(at(12, 5))
    # GOV.UK's first_published_at, as the probe reads it from the Content API
    record = s.store.get_release(ID)
    assert record is not None and record.live_at == at(12, 0)
    live_check = Check(
        release_id=ID,
        at=at(12, 0),
        url="u",
        live=True,
        reason="publication",
        status=200,
        published_at=at(11, 59, 31),
    )
    s.store.record_checks([live_check])
    return s


def test_the_form_has_every_field_in_order(incident):  # type: ignore[no-untyped-def]
    report = build_report(incident.store, ID, at(12, 30))
    assert [f.label for f in report.fields] == [label for _, label in FIELDS]
    assert len(report.fields) == 11


def test_each_field_is_filled_from_the_store_or_marked_blank(incident):  # type: ignore[no-untyped-def]
    report = build_report(incident.store, ID, at(12, 30), contact_details=True)
    f = {x.key: x.lines for x in report.fields}
    assert f["output"] == (
        "Labour market overview, UK: July 2025",
        "https://stats.example.com/releases/lms-2025-07",
    )
    assert f["producer"] == ("Office for Example Statistics",)
    assert f["handler"] == ("Bob Lead (lead official)", "bob.lead@example.com, +447700900102")
    assert f["head"] == (
        "Charlie Head (head of profession)",
        "charlie.head@example.com, +447700900103",
    )
    assert f["statement"][0].startswith(BLANK)
    assert f["report_date"] == (
        "Thursday 17 July 2025 (draft generated Thu 17 Jul 2025 12:30:00 BST)",
    )
    assert "T3.6" in f["practices"][0] and "Orderly release" in f["practices"][0]
    assert f["occurred"] == ("Thursday 17 July 2025",)
    assert f["impact"][0].startswith(BLANK) and "inside" in f["impact"][0]
    assert f["impact"][1].startswith(BLANK) and "outside" in f["impact"][1]
    assert f["corrective"][0].startswith(BLANK) and "short-term" in f["corrective"][0]
    assert f["corrective"][1].startswith(BLANK) and "long-term" in f["corrective"][1]


def test_the_account_gives_due_time_first_failure_sends_ack_live_and_delay(incident):  # type: ignore[no-untyped-def]
    report = build_report(incident.store, ID, at(12, 30))
    account = " ".join(report.account)
    assert "pre-announced for release at Thu 17 Jul 2025 09:30 BST" in account
    assert "The first check after the due time, at Thu 17 Jul 2025 09:30:00 BST, found it not " \
        "live: HTTP 404" in account  # fmt: skip
    assert (
        "Alice Publisher (web publisher) acknowledged the alert at Thu 17 Jul 2025 11:40:10 BST"
        in account
    )
    assert "confirmed live at Thu 17 Jul 2025 12:00:00 BST, 2 h 30 min late" in account
    assert "GOV.UK gives first_published_at Thu 17 Jul 2025 11:59:31 BST" in account
    assert report.delay == timedelta(hours=2, minutes=30)
    whats = [e.what for e in report.timeline]
    sent = [w for w in whats if " sent by " in w]
    events_sent = [e for e in incident.store.events(ID) if e.kind.value == "notification_sent"]
    assert len(sent) == len(events_sent)  # every notification sent is listed
    assert "GOV.UK first_published_at (publication time)" in whats


def test_times_are_uk_local_with_the_zone_named(incident):  # type: ignore[no-untyped-def]
    text = render_text(build_report(incident.store, ID, at(12, 30)))
    assert "09:30:00 BST" in text and "UTC" not in text and "+00:00" not in text


def test_no_contact_details_unless_asked(incident):  # type: ignore[no-untyped-def]
    text = render_text(build_report(incident.store, ID, at(12, 30)))
    assert "@" not in text and "+4477" not in text


def test_markdown_and_docx_carry_the_same_fields(incident):  # type: ignore[no-untyped-def]
    report = build_report(incident.store, ID, at(12, 30))
    md = render_markdown(report)
    for number, (_, label) in enumerate(FIELDS, 1):
        assert f"## {number}. {label}" in md
    assert "| Thu 17 Jul 2025 11:40:10 BST | Acknowledged by Alice Publisher" in md
    doc = Document(io.BytesIO(render_docx(report)))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    for number, (key, label) in enumerate(FIELDS, 1):
        if key != "account":
            assert f"{number}. {label}" in cells
    assert any("Acknowledged by Alice Publisher" in c for c in cells)
    headings = [p.text for p in doc.paragraphs]
    assert "9. Account of what happened (roles, dates and times)" in headings


def test_the_report_email_has_the_text_inline_and_the_word_form_attached(incident):  # type: ignore[no-untyped-def]
    text, attachments = build_report_for_email(incident.store, ID)
    assert "1. Title and link to the statistical output" in text
    (docx,) = attachments
    assert docx.filename == "breach-report-lms-2025-07.docx"
    assert docx.data[:2] == b"PK"


def test_the_report_email_sent_at_resolution_is_the_draft(incident):  # type: ignore[no-untyped-def]
    reports = [x.message for x in incident.log if x.message.key.split("|")[1] == "report"]
    assert {m.contact_id for m in reports} == {"lead_official", "head_of_profession"}
    for m in reports:
        assert "Account of what happened" in m.text
        assert [a.filename for a in m.attachments] == ["breach-report-lms-2025-07.docx"]


def test_unknown_release_raises_key_error(incident):  # type: ignore[no-untyped-def]
    with pytest.raises(KeyError):
        build_report(incident.store, "nope")


def test_the_word_report_keeps_the_forms_field_order(incident):  # type: ignore[no-untyped-def]
    """Read the document top to bottom, as its reader does: fields 1 to 11, in order."""
    doc = Document(io.BytesIO(render_docx(build_report(incident.store, ID, at(12, 30)))))
    labels = [f"{n}. {label}" for n, (_, label) in enumerate(FIELDS, 1)]
    seen = []
    for block in doc.element.body.iterchildren():
        if block.tag.endswith("}p"):
            texts = ["".join(t.text or "" for t in block.iter() if t.tag.endswith("}t"))]
        elif block.tag.endswith("}tbl"):
            texts = [
                "".join(t.text or "" for t in row[0].iter() if t.tag.endswith("}t"))
                for row in (r.findall("./{*}tc") for r in block.findall("./{*}tr"))
                if row
            ]
        else:
            continue
        seen += [text for text in texts if text in labels]
    assert seen == labels


def test_the_account_says_between_which_two_checks_it_went_live() -> None:
    # The lateness is measured to the check that confirmed it: the check before bounds it,
    # so the head of profession does not report a minute more than they can stand behind.
    s = Scenario(live=lambda now: now >= at(11, 59, 30))
    s.run_until(at(12, 5))
    account = " ".join(build_report(s.store, ID, at(12, 30)).account)
    assert (
        "It was confirmed live at Thu 17 Jul 2025 12:00:00 BST, 2 h 30 min late. The check "
        "before, at Thu 17 Jul 2025 11:59:00 BST, found it not live: it went live between the "
        "two."
    ) in account
