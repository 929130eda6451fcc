"""The breach named is the one in the Code of Practice in force on the due date: T3.6 under
edition 2.x, Standard 3 under edition 3.0 (launched 4 November 2025)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from releasewatch.model import NotificationKind
from releasewatch.notify.messages import render
from releasewatch.report.code_of_practice import EDITION_3_FROM, practice_for
from tests.unit.test_messages import M, ctx

DEC_2026 = datetime(2026, 12, 10, 9, 30, tzinfo=UTC)


def test_the_edition_changes_on_4_november_2025_london_time() -> None:
    assert datetime(2025, 11, 4, 0, 0, tzinfo=UTC) == EDITION_3_FROM  # GMT: UTC+0
    assert practice_for(EDITION_3_FROM - timedelta(seconds=1)).short.startswith("T3.6")
    assert practice_for(EDITION_3_FROM).short.startswith("Standard 3")
    assert "T3.6" not in practice_for(DEC_2026).full


def test_a_breach_notice_for_a_2026_release_names_standard_3_not_t36() -> None:
    context = ctx(NotificationKind.BREACH, step=3, now=DEC_2026 + 60 * M)
    release = context.release.model_copy(update={"due": DEC_2026})
    m = render(context.__class__(**{**context.__dict__, "release": release}))
    assert "Standard 3, orderly release" in m.text
    assert "T3.6" not in m.text


def test_an_early_notice_for_a_2026_release_names_standard_3() -> None:
    context = ctx(NotificationKind.EARLY, live_at=DEC_2026 - 10 * M, now=DEC_2026 - 10 * M)
    release = context.release.model_copy(update={"due": DEC_2026})
    m = render(context.__class__(**{**context.__dict__, "release": release}))
    assert "Standard 3, orderly release" in m.text and "T3.6" not in m.text


def test_the_breach_report_for_a_2026_release_cites_edition_3(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from releasewatch.report.build import build_report
    from releasewatch.report.render import render_text
    from releasewatch.store.memory import InMemoryStore
    from tests.factories import make_release

    store = InMemoryStore()
    release = make_release(due=DEC_2026)
    store.apply_releases([release], DEC_2026 - timedelta(hours=1))
    record = store.get_release(release.id)
    assert record is not None
    store.update_release(record.model_copy(update={"live_at": DEC_2026 + 90 * M}))
    text = render_text(build_report(store, release.id, DEC_2026 + 2 * 60 * M))
    assert "edition 3.0), Standard 3" in text
    assert "T3.6" not in text
