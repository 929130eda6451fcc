"""Hostile or broken YAML: every case a located error (file, line) and exit 2, found quickly
and in little memory, never a traceback."""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest

from releasewatch.cli import main
from releasewatch.config.load import load_config
from releasewatch.errors import ConfigError

# 381 bytes that expand to 10^9 values: PyYAML itself took 1.8 GB and minutes.
BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""

CASES = {
    "billion_laughs": (BILLION_LAUGHS.encode(), 6, "once aliases are expanded"),
    "recursive_anchor": (b"contacts: {}\nchains:\n  a: &a [1, *a]\n", 3, "inside its own anchor"),
    "recursive_mapping": (b"releases:\n  - &r\n    id: x\n    self: *r\n", 4, "its own anchor"),
    "deep_flow": (b"releases: " + b"[" * 100_000 + b"]" * 100_000 + b"\n", 1, "levels deep"),
    "deep_block": (
        b"".join(b"  " * i + b"k:\n" for i in range(300)) + b"  " * 300 + b"v\n",
        51,
        "levels deep",
    ),
    "not_utf8": (b"contacts:\n  a: {name: \xe9quipe, email: a@example.com}\n", 2, "not UTF-8"),
    "utf16": ("contacts: {}\n".encode("utf-16"), 1, "not UTF-8"),
    "nul_char": (b'contacts:\n  a: {name: "x\x00y"}\n', 2, "not allowed in YAML"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_yaml_is_a_located_error_with_exit_2(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, line, words = CASES[name]
    path = tmp_path / "bad.yaml"
    path.write_bytes(data)
    tracemalloc.start()
    started = time.perf_counter()
    try:
        code = main(["validate", str(path)])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    elapsed = time.perf_counter() - started
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"{path}:{line}: " in err and words in err, err
    assert "Traceback" not in err
    assert elapsed < 10, elapsed
    assert peak < 100 * 1024 * 1024, peak  # the deep flow file alone is 200 KB


def test_run_and_push_refuse_a_yaml_bomb_the_same_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(BILLION_LAUGHS)
    assert main(["run", "--config", str(path), "--db", str(tmp_path / "rw.db"), "--once"]) == 2
    assert main(["push", "--config", str(path), "--table", "t"]) == 2
    err = capsys.readouterr().err
    assert err.count(f"{path}:6: ") == 2 and "Traceback" not in err
    assert not (tmp_path / "rw.db").exists()


def test_aliases_within_bounds_still_work() -> None:
    text = """\
contacts:
  team: &who {name: Stats team, email: team@example.com}
  copy: *who
chains:
  default: &steps [{after: 5m, notify: [team, copy]}]
releases:
  - {id: a, title: A, url: "https://www.gov.uk/a", due: "2025-07-17 09:30"}
"""
    from releasewatch.config.load import parse_config

    config = parse_config(text)
    assert set(config.releases[0].contacts) == {"team", "copy"}


def test_a_utf8_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "infra" / "releasewatch.example.yaml"
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + example.read_bytes())
    assert len(load_config(path).releases) == 2


def test_an_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"# " + b"x" * (6 * 1024 * 1024) + b"\n")
    with pytest.raises(ConfigError, match="larger than 5 MB"):
        load_config(path)


def test_a_huge_flat_file_is_refused_by_its_value_count(tmp_path: Path) -> None:
    path = tmp_path / "flat.yaml"
    path.write_text("releases:\n" + "  - 1\n" * 150_000)
    with pytest.raises(ConfigError, match=r"flat.yaml:\d+: more than 100,000 values \(far"):
        load_config(path)
