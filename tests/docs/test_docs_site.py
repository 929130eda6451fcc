"""The documentation a person finds: the MkDocs site builds in strict mode (a broken link or
anchor between pages fails), and every relative link in README.md reaches a file and, with an
anchor, a heading of that file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

# [text](target) and ![alt](target); a title after the target ("...") is not used here.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
CUSTOM_ID = re.compile(r"\s*\{:?\s*#([\w-]+)[^}]*\}\s*$")


def slugify(text: str) -> str:
    """The id MkDocs' toc extension gives a heading (Python-Markdown's default slugify): the
    rendered text, ASCII only, punctuation dropped, lower case, runs of spaces and hyphens as
    one hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link keeps its text
    text = text.replace("`", "").replace("*", "")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(markdown: str) -> set[str]:
    """Every heading id in a Markdown file, outside code blocks; a repeated id gets _1, _2 as
    the toc extension numbers it."""
    seen: set[str] = set()
    in_fence = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if not match:
            continue
        title = match.group(2)
        custom = CUSTOM_ID.search(title)
        slug = custom.group(1) if custom else slugify(title)
        unique, n = slug, 0
        while unique in seen:
            n += 1
            unique = f"{slug}_{n}"
        seen.add(unique)
    return seen


def relative_links(markdown: str) -> list[str]:
    links = []
    in_fence = False
    for line in markdown.splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        for target in LINK.findall(line):
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # not https:, mailto:
                links.append(target)
    return links


def broken_links(source: Path) -> list[str]:
    text = source.read_text(encoding="utf-8")
    problems = []
    for target in relative_links(text):
        path, _, anchor = target.partition("#")
        file = (source.parent / path).resolve() if path else source
        if not file.is_file():
            problems.append(f"{source.name}: link {target!r}: no file {path!r}")
        elif anchor and file.suffix == ".md":
            found = anchors(file.read_text(encoding="utf-8"))
            if anchor not in found:
                problems.append(
                    f"{source.name}: link {target!r}: {file.relative_to(ROOT)} has no heading "
                    f"with the anchor #{anchor} (it has: {', '.join(sorted(found))})"
                )
    return problems


def test_the_documentation_site_builds_in_strict_mode(tmp_path: Path) -> None:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        f"mkdocs build --strict failed (a broken link or anchor, or a page missing from the "
        f"nav):\n{result.stdout}\n{result.stderr}"
    )
    assert (tmp_path / "site" / "getting-started" / "index.html").is_file()


def test_every_relative_link_in_the_readme_reaches_a_file_and_heading() -> None:
    links = relative_links(README.read_text(encoding="utf-8"))
    assert any(link.startswith("docs/") for link in links), "the README links to no docs page"
    assert broken_links(README) == []


def test_slugs_match_mkdocs_toc() -> None:
    # The ids the toc extension gives these headings in the built site.
    assert slugify("When the watchdog's own store fails") == "when-the-watchdogs-own-store-fails"
    assert slugify("Browser tests (`tests/browser`)") == "browser-tests-testsbrowser"
    assert slugify("GOV.UK mode: finding the publication") == "govuk-mode-finding-the-publication"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a_1"}
