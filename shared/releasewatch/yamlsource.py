"""YAML loading that remembers where every value came from, so errors can name a line.

PyYAML's `compose` keeps a mark on every node; we build plain Python values from the nodes
ourselves, which also lets us refuse duplicate keys (PyYAML silently keeps the last one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import ConfigError, ConfigProblem

Path = tuple[str | int, ...]


@dataclass
class YamlDocument:
    data: Any
    file: str
    lines: dict[Path, int] = field(default_factory=dict)

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


def load_yaml(text: str, file: str) -> YamlDocument:
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            [ConfigProblem("", f"not valid YAML: {problem}", file=file, line=line)]
        ) from None
    doc = YamlDocument(data=None, file=file)
    problems: list[ConfigProblem] = []
    if root is not None:
        doc.data = _build(root, (), doc, problems)
    if problems:
        raise ConfigError(problems)
    return doc


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
