"""Re-fetch the GOV.UK Design System's compiled CSS for the board, pinned to one version.

    python tools/fetch_govuk_frontend.py 5.14.0

Runs `npm pack govuk-frontend@<version>` in a temporary folder (npm's registry, no install),
and writes into shared/releasewatch/web/static/:
  govuk-frontend.min.css          dist/govuk/govuk-frontend.min.css, with every @font-face rule
                                  removed and "GDS Transport" dropped from each font-family
  govuk-frontend.LICENSE.txt      its MIT licence: the package's LICENSE file when the tarball
                                  has one (5.x has none: the text of the repository's
                                  LICENSE.txt, once package.json confirms the licence is MIT)
  govuk-frontend.VERSION          the version, shown in the page source and in tests
The GDS Transport font and the crown are restricted to GOV.UK services: the board uses Arial,
as the design system allows, and draws no crown.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "shared" / "releasewatch" / "web" / "static"
CSS_IN_PACKAGE = "package/dist/govuk/govuk-frontend.min.css"
LICENSES = ("package/LICENSE.txt", "package/LICENSE", "package/LICENSE.md")

# alphagov/govuk-frontend LICENSE.txt, for versions whose npm tarball leaves it out.
MIT_LICENSE = """The MIT License (MIT)

Copyright (C) 2017 Crown Copyright (Government Digital Service)

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""

_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}")
_GDS_FONT = re.compile(r"""font-family:\s*(?:"GDS Transport"|'GDS Transport'|GDS Transport)\s*,""")
_SOURCE_MAP = re.compile(r"/\*# sourceMappingURL=[^*]*\*/\s*")  # the map is not shipped


def strip_restricted_font(css: str) -> str:
    """No @font-face (the GDS Transport files are not ours to serve) and Arial first wherever
    the design system names GDS Transport."""
    css = _SOURCE_MAP.sub("", _FONT_FACE.sub("", css))
    return _GDS_FONT.sub("font-family:", css)


def _license(tar: tarfile.TarFile, names: set[str], version: str) -> str:
    name = next((n for n in LICENSES if n in names), None)
    member = tar.extractfile(name) if name else None
    if member is not None:
        return member.read().decode()
    meta = tar.extractfile("package/package.json")
    declared = json.loads(meta.read()).get("license") if meta else None
    if declared != "MIT":
        raise SystemExit(f"govuk-frontend@{version} has no LICENSE and declares {declared!r}")
    return MIT_LICENSE


def fetch(version: str, dest: Path = STATIC) -> None:
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise SystemExit(f"expected a version like 5.14.0, not {version!r}")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(  # noqa: S603 - fixed arguments, the version checked above
            ["npm", "pack", f"govuk-frontend@{version}", "--silent"],  # noqa: S607
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"npm pack govuk-frontend@{version} failed:\n{done.stderr}")
        tarball = Path(tmp) / done.stdout.strip().splitlines()[-1]
        with tarfile.open(tarball) as tar:
            names = set(tar.getnames())
            css_member = tar.extractfile(CSS_IN_PACKAGE)
            if css_member is None:
                raise SystemExit(f"{CSS_IN_PACKAGE} is not in govuk-frontend@{version}")
            css = css_member.read().decode()
            license_text = _license(tar, names, version)
    dest.mkdir(parents=True, exist_ok=True)
    stripped = strip_restricted_font(css)
    if "GDS Transport" in stripped:
        raise SystemExit("GDS Transport is still named in the CSS: the strip rules need updating")
    (dest / "govuk-frontend.min.css").write_text(stripped)
    (dest / "govuk-frontend.LICENSE.txt").write_text(license_text)
    (dest / "govuk-frontend.VERSION").write_text(version + "\n")
    print(f"govuk-frontend {version}: {len(stripped):,} bytes of CSS written to {dest}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("version", help="govuk-frontend version, e.g. 5.14.0")
    fetch(parser.parse_args(argv).version)
    return 0


if __name__ == "__main__":
    sys.exit(main())
