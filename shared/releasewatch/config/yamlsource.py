"""YAML loading that remembers where every value came from, so errors can name a line.

PyYAML's `compose` keeps a mark on every node; we build plain Python values from the nodes
ourselves, which also lets us refuse duplicate keys (PyYAML silently keeps the last one).

Before composing, one pass over the parser's events (a flat stream, no recursion) bounds what
the file may become: at most MAX_DEPTH levels of nesting and MAX_VALUES values once aliases
are expanded, and no alias inside its own anchor. A 381-byte "billion laughs" file would
otherwise expand to a billion values, and a recursive anchor or very deep nesting would end in
RecursionError; each is instead a located ConfigError, found in time and memory proportional
to the file's size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import ConfigError, ConfigProblem

Path = tuple[str | int, ...]


MAX_BYTES = 5 * 1024 * 1024  # a config of 1,000 releases is ~300 KB
MAX_DEPTH = 50  # the format needs 6 levels
MAX_VALUES = 100_000  # after alias expansion; 1,000 releases are ~30,000


@dataclass
class YamlDocument:
    data: Any
    file: str
    lines: dict[Path, int] = field(default_factory=dict)
    # Problems found while building (duplicate keys): reported with the config's own, so
    # that one pass lists every mistake.
    problems: list[ConfigProblem] = field(default_factory=list)

    def line_of(self, path: Path) -> int | None:
        """The line of `path`, or of its nearest ancestor that has one."""
        probe = tuple(path)
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            probe = probe[:-1]
        return self.lines.get((), None)


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


_SCALAR_TYPES: dict[str, Callable[[str], Any]] = {
    "tag:yaml.org,2002:null": lambda v: None,
    "tag:yaml.org,2002:bool": lambda v: v.lower() in ("true", "yes", "on", "y"),
    "tag:yaml.org,2002:int": lambda v: int(v.replace("_", ""), 0),
    "tag:yaml.org,2002:float": float,
}


def decode(data: bytes, file: str) -> str:
    """A config file's bytes as text: UTF-8 (a BOM is allowed), at most MAX_BYTES."""
    if len(data) > MAX_BYTES:
        raise ConfigError(
            [ConfigProblem("", f"file is larger than {MAX_BYTES // (1024 * 1024)} MB", file=file)]
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        message = f"not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8"
        raise ConfigError([ConfigProblem("", message, file=file, line=line)]) from None


def load_yaml(text: str, file: str) -> YamlDocument:
    """Parse `text`; raises ConfigError (located) for invalid or unbounded YAML. Duplicate keys
    are returned in `problems` (the first value is kept) so the caller can report them too."""
    try:
        _check_bounds(text, file)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(exc, text, file)]) from None
    except RecursionError:  # not expected after _check_bounds; never a traceback all the same
        raise ConfigError([ConfigProblem("", "nested too deeply", file=file)]) from None
    doc = YamlDocument(data=None, file=file)
    if root is not None:
        doc.data = _build(root, (), doc, doc.problems)
    return doc


def _yaml_problem(exc: yaml.YAMLError, text: str, file: str) -> ConfigProblem:
    mark = getattr(exc, "problem_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(exc, "problem", None) or str(exc)
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow
        line = text.count("\n", 0, exc.position) + 1
        problem = f"character U+{exc.character:04X} is not allowed in YAML ({exc.reason})"
    return ConfigProblem("", f"not valid YAML: {problem}", file=file, line=line)


def _check_bounds(text: str, file: str) -> None:
    """Walk the parser's events once: depth, expanded size and alias cycles, before composing."""
    sizes: dict[str, int] = {}  # anchor -> values it expands to
    stack: list[tuple[str | None, list[int]]] = []  # open collections: (anchor, [size])
    total = 0

    def fail(event: yaml.Event, message: str) -> ConfigError:
        line = event.start_mark.line + 1 if event.start_mark is not None else None
        return ConfigError([ConfigProblem("", message, file=file, line=line)])

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.DocumentStartEvent):
            sizes.clear()
            continue
        if isinstance(event, yaml.CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise fail(event, f"nested more than {MAX_DEPTH} levels deep")
            stack.append((event.anchor, [1]))
            size = 1
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, (size,) = stack.pop()
            if anchor is not None:
                sizes[anchor] = size
            if stack:
                stack[-1][1][0] += size
            continue
        elif isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for anchor, _ in stack):
                raise fail(event, f"alias *{event.anchor} is inside its own anchor (recursive)")
            size = sizes.get(str(event.anchor), 1)  # an undefined alias: compose reports it
            if stack:
                stack[-1][1][0] += size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            if event.anchor is not None:
                sizes[event.anchor] = 1
            if stack:
                stack[-1][1][0] += 1
        else:
            continue
        total += size
        if total > MAX_VALUES:
            raise fail(
                event,
                f"more than {MAX_VALUES:,} values once aliases are expanded "
                "(aliases repeating aliases: an expansion bomb?)"
                if sizes
                else f"more than {MAX_VALUES:,} values (far more than any config needs)",
            )


def _build(node: yaml.Node, path: Path, doc: YamlDocument, problems: list[ConfigProblem]) -> Any:
    doc.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in out:
                problems.append(
                    ConfigProblem(
                        format_path((*path, key)),
                        "duplicate key (each key may appear once)",
                        file=doc.file,
                        line=key_node.start_mark.line + 1,
                    )
                )
                continue
            out[key] = _build(value_node, (*path, key), doc, problems)
            # Point errors about a key at the key's own line, not its value's.
            doc.lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(item, (*path, i), doc, problems) for i, item in enumerate(node.value)]
    value = str(node.value)
    if (
        isinstance(node, yaml.ScalarNode) and node.style is None
    ):  # only plain scalars get implicit types; quoted ones stay text
        convert = _SCALAR_TYPES.get(node.tag)
        if convert is not None:
            try:
                return convert(value)
            except ValueError:
                return value
    return value
