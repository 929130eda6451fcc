"""The breach report's three renderings of one `BreachReport` (build.py): plain text (the email
body and the terminal), Markdown, and Word (.docx, the form's own format, which the head of
profession completes and sends on)."""

from __future__ import annotations

import io
from typing import Literal

from ..timefmt import uk_datetime_seconds
from .build import BLANK, BreachReport
from .code_of_practice import practice_for

DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

Format = Literal["txt", "md", "docx"]
FORMATS: tuple[Format, ...] = ("md", "txt", "docx")


# -- rendering -----------------------------------------------------------------------------------
def _heading(report: BreachReport) -> str:
    return f"Breach report (draft): {report.title}"


def _preamble(report: BreachReport) -> list[str]:
    return [
        "A draft for the breach report form (Code of Practice for Statistics, "
        f"{practice_for(report.due).short}), built by releasewatch from its records. "
        "Complete every item marked " + BLANK + ".",
        "Times are UK local time, with the zone (BST or GMT) named.",
    ]


def render_text(report: BreachReport) -> str:
    lines = [_heading(report), "=" * len(_heading(report)), *_preamble(report), ""]
    for number, f in enumerate(report.fields, 1):
        lines.append(f"{number}. {f.label}")
        lines.extend(f"   {line}" for line in f.lines)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def render_markdown(report: BreachReport) -> str:
    lines = [f"# {_heading(report)}", "", *(f"_{p}_" for p in _preamble(report)), ""]
    for number, f in enumerate(report.fields, 1):
        lines += [f"## {number}. {f.label}", ""]
        if f.key == "account":
            lines += [*report.account, ""]
            lines += ["| Time (UK) | What happened |", "|---|---|"]
            lines += [
                f"| {uk_datetime_seconds(e.at)} | {_md_cell(e.what)} |" for e in report.timeline
            ]
        elif f.key == "output":
            lines.append(f"[{report.title}]({report.url})")
        else:
            lines += [f"{line}  " for line in f.lines]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_docx(report: BreachReport) -> bytes:
    """The form as a Word document, fields in the form's order: one table row per field, the
    account (narrative and timeline) under its own heading between fields 8 and 10, blanks
    highlighted."""
    from docx import Document  # python-docx: only needed for this rendering
    from docx.enum.text import WD_COLOR_INDEX

    document = Document()
    document.add_heading(_heading(report), level=1)
    for paragraph in _preamble(report):
        document.add_paragraph().add_run(paragraph).italic = True
    table = None  # the current run of field rows; the account interrupts it
    for number, f in enumerate(report.fields, 1):
        if f.key == "account":
            table = None
            document.add_heading(f"{number}. {f.label}", level=2)
            for paragraph in report.account:
                run = document.add_paragraph().add_run(paragraph)
                if BLANK[:-1] in paragraph:
                    run.font.highlight_color = WD_COLOR_INDEX.YELLOW
            timeline = document.add_table(rows=1, cols=2)
            timeline.style = "Table Grid"
            timeline.rows[0].cells[0].text = "Time (UK)"
            timeline.rows[0].cells[1].text = "What happened"
            for entry in report.timeline:
                cells = timeline.add_row().cells
                cells[0].text = uk_datetime_seconds(entry.at)
                cells[1].text = entry.what
            continue
        if table is None:
            if number > 1:
                document.add_paragraph()  # keeps the two tables apart in Word
            table = document.add_table(rows=0, cols=2)
            table.style = "Table Grid"
        row = table.add_row().cells
        row[0].text = f"{number}. {f.label}"
        row[1].text = ""
        for i, line in enumerate(f.lines):
            par = row[1].paragraphs[0] if i == 0 else row[1].add_paragraph()
            run = par.add_run(line)
            if BLANK[:-1] in line:
                run.font.highlight_color = WD_COLOR_INDEX.YELLOW
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def render(report: BreachReport, fmt: Format) -> bytes:
    if fmt == "docx":
        return render_docx(report)
    if fmt == "md":
        return render_markdown(report).encode()
    return render_text(report).encode()
