"""The report drafts the service and the commands ask for: built from the store and rendered in
one call."""

from __future__ import annotations

from ..notify.base import Attachment
from ..store.base import Store
from .build import build_report
from .render import DOCX_TYPE, render_docx, render_text


def build_report_text(store: Store, release_id: str) -> str:
    """The plain-text draft without contact details (for terminals)."""
    return render_text(build_report(store, release_id))


def build_report_for_email(store: Store, release_id: str) -> tuple[str, tuple[Attachment, ...]]:
    """The service's report_builder: the text inline, the Word form attached, both with the
    contact details filled in (the email goes to the head of profession and lead official)."""
    report = build_report(store, release_id, contact_details=True)
    attachment = Attachment(f"breach-report-{release_id}.docx", DOCX_TYPE, render_docx(report))
    return render_text(report), (attachment,)
