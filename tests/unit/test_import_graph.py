"""The package's shape: no import circle, no private name imported across modules, only the
shared core at the root, and every module importable on its own in a fresh interpreter.

The graph is read with `ast` from the source, so it counts every import statement wherever it
stands: at the top, inside a function (a late import still ties the two modules together) and
under `if TYPE_CHECKING:` (a circle there is still a circle in the design, only hidden from the
interpreter). An edge goes to the most specific module named: `from . import rota` is an edge
to rota; `from .probe import Prober` is one to probe/__init__.py.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "shared" / "releasewatch"

# What the whole product shares, and nothing else: each capability has a package of its own.
CORE = {
    "__init__",  # the version
    "bootstrap",  # the composition root
    "cli",  # the `releasewatch` command, dispatching to commands/
    "clock",
    "errors",
    "model",
    "policy",  # pure: what is due, decided from a release's record and its checks
    "service",  # the tick
    "timefmt",  # UK local time
}
PACKAGES = {
    "acks",  # acknowledging an alert: by link, by reply
    "aws",  # the Lambda side: settings, composition on DynamoDB/SES/SNS
    "calendar",  # release calendars imported as releases
    "commands",  # one module per CLI command
    "config",  # the YAML config file
    "links",  # the signed links in messages and on the board
    "local",  # the local run loop, its health, its printout, the demo
    "notify",  # channels and the wording of every message
    "probe",  # probing release pages
    "punctuality",  # the public punctuality record: verdicts, summaries, CSV, JSON, Atom
    "readiness",  # readiness the working day before, and the rotas
    "report",  # the breach report draft
    "store",  # where releases, checks, events and deliveries live
    "web",  # the board and the link pages
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(name: str) -> Iterator[tuple[str, list[str], int]]:
    """(module imported from, names imported, line) for every import in `name`'s source,
    relative ones resolved; `import a.b` gives ("a.b", [], line)."""
    path = MODULES[name]
    here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here[: len(here) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            yield source, [alias.name for alias in node.names], node.lineno


def known(name: str) -> str | None:
    """The releasewatch module `name` is, or lies in (a function or class of it)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {name: set() for name in MODULES}
    for name in MODULES:
        for source, names, _line in imports(name):
            targets = [
                known(f"{source}.{n}") if f"{source}.{n}" in MODULES else known(source)
                for n in names
            ] or [known(source)]
            edges[name] |= {t for t in targets if t is not None and t != name}
    return edges


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_graph_reader_sees_a_circle_when_there_is_one() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(edges) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_counts_late_and_type_checking_imports() -> None:
    # web/function_url.py imports lazily for the API function's cold start: web/status.py only
    # inside a function, clock.py only under TYPE_CHECKING; it depends on both all the same.
    edges = graph()["releasewatch.web.function_url"]
    assert {"releasewatch.web.status", "releasewatch.clock"} <= edges


def test_no_module_imports_itself_back_round_a_circle() -> None:
    cycle = find_cycle(graph())
    assert cycle is None, "import circle: " + " -> ".join(cycle or [])


def test_no_private_name_is_imported_from_another_module() -> None:
    """A `_name` is its module's own; a name two modules share is public (or moves down)."""
    found = [
        f"{MODULES[name].relative_to(PACKAGE.parent)}:{line} imports {n} from {source}"
        for name in MODULES
        for source, names, line in imports(name)
        if source.split(".")[0] == "releasewatch"
        for n in names
        if n.startswith("_") and not n.startswith("__")
    ]
    assert found == []


def test_the_package_root_holds_only_the_shared_core() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert modules - CORE == set(), "a capability's module belongs in its package"
    assert modules == CORE
    assert packages == PACKAGES


def test_every_package_says_what_it_holds() -> None:
    undocumented = [
        name
        for name, path in MODULES.items()
        if path.name == "__init__.py" and not ast.get_docstring(ast.parse(path.read_text()))
    ]
    assert undocumented == []


# Each module is imported first in a process of its own: forked from one interpreter that has
# loaded the third-party packages only (never a releasewatch module), so each child pays for
# our modules alone (~50 ms, not the ~300 ms of a fresh interpreter) and an import order that
# hides a circle among them still fails.
FORKING_IMPORTER = """
import importlib, json, os, sys
for lib in ("pydantic", "httpx", "boto3", "botocore.session", "yaml", "jinja2", "selectolax",
            "icalendar", "recurring_ical_events", "docx", "aws_lambda_powertools", "jwt",
            "cryptography"):
    try:
        importlib.import_module(lib)
    except ImportError:
        pass
assert not [m for m in sys.modules if m.split(".")[0] == "releasewatch"]
failed = {}
for name in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(name)
            code = 0
        except BaseException as exc:
            os.write(write, f"{type(exc).__name__}: {exc}".encode()[:2000])
            code = 1
        os._exit(code)
    os.close(write)
    why = b""
    while chunk := os.read(read, 4096):
        why += chunk
    os.close(read)
    _, status = os.waitpid(pid, 0)
    if status:
        failed[name] = why.decode() or f"exit status {status}"
print(json.dumps(failed))
"""


@pytest.mark.slow
def test_every_module_imports_first_in_a_fresh_interpreter() -> None:
    """Each module imported first, on its own: a circle hidden by import order (one that only
    works when another module happens to be imported before) fails here."""
    names = json.dumps(sorted(MODULES))
    done = subprocess.run(
        [sys.executable, "-c", FORKING_IMPORTER, names],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    failed = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(MODULES) > 100 and failed == {}
