"""YAML text -> plain data, plus where every key and list item is, for error messages.

The loader is PyYAML's SafeLoader with two changes a strict config needs:

- YAML 1.2 scalars: only ``true``/``false`` are booleans (``subscribers: off`` stays the
  string ``"off"``, ``yes`` stays ``"yes"``), integers are plain decimals (``09`` or ``1:30``
  stay strings instead of octal or base 60), and dates stay strings.
- Keys are checked: a repeated key and a key that is not text are problems to report, where
  PyYAML would silently keep the last value.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

_YAML_TAG_PREFIX = "tag:yaml.org,2002:"
_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_DROPPED_TAGS = {
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:timestamp",
    "tag:yaml.org,2002:value",
}


class YamlSyntaxError(Exception):
    """The text is not YAML (or holds a value PyYAML cannot build): a message and its place."""

    def __init__(self, message: str, line: int | None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class KeyProblem:
    """A repeated or non-text key, found while loading."""

    line: int
    path: tuple[str | int, ...]
    message: str


@dataclass
class YamlDocument:
    """The loaded data, its node tree (None for an empty document) and the key problems."""

    data: Any
    root: Node | None
    problems: list[KeyProblem] = field(default_factory=list)

    def line_of(self, loc: Sequence[str | int]) -> int:
        """Line (1-based) of the deepest key or list item of ``loc`` present in the file."""
        node = self.root
        if node is None:
            return 1
        line = node.start_mark.line + 1
        for part in loc:
            if isinstance(node, MappingNode) and isinstance(part, str):
                pairs = [(k, v) for k, v in node.value if _is_text_key(k, part)]
                if not pairs:
                    break
                key_node, node = pairs[-1]
                line = key_node.start_mark.line + 1
            elif isinstance(node, SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    break
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line


def _is_text_key(node: Node, text: str) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _STR_TAG and node.value == text


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader with YAML 1.2 scalars that records key problems per mapping node."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.key_problems: list[tuple[MappingNode, tuple[str, ...], int, str]] = []

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ArithmeticError, LookupError, TypeError, ValueError) as exc:  # "!!int 09", "!!int"
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"cannot build the value tagged {node.tag.replace(_YAML_TAG_PREFIX, '!!')}",
                node.start_mark,
            ) from exc

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, str):
                self.key_problems.append((node, (), line, _non_text_key(key)))
            elif key in seen:
                message = f"duplicate key (first at line {seen[key]})"
                self.key_problems.append((node, (key,), line, message))
            else:
                seen[key] = line
        mapping = super().construct_mapping(node, deep=deep)
        return {k: v for k, v in mapping.items() if isinstance(k, str)}


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_StrictLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$"), list("-+0123456789")
)


def _non_text_key(key: Any) -> str:
    if key is None:
        return "a key is empty"
    if isinstance(key, bool | int | float):
        shown = str(key).lower() if isinstance(key, bool) else str(key)
        return f"key {shown} must be text (quote it: '{shown}')"
    return f"a key of type {type(key).__name__} must be text"


def load_yaml(text: str) -> YamlDocument:
    """Load one YAML document; raises YamlSyntaxError with the line and column of the fault."""
    loader: _StrictLoader | None = None
    try:
        loader = _StrictLoader(text)
        root = loader.get_single_node()
        data = None if root is None else loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = (mark.line + 1, mark.column + 1) if mark else (None, None)
        message = ", ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise YamlSyntaxError(message, *where) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        raise YamlSyntaxError(
            f"character #x{exc.character:04x} is not allowed in YAML", line
        ) from None
    except yaml.YAMLError:
        raise YamlSyntaxError("invalid YAML", None) from None
    except RecursionError:
        raise YamlSyntaxError("the YAML is nested too deeply", None) from None
    finally:
        if loader is not None:
            loader.dispose()
    document = YamlDocument(data, root)
    if loader.key_problems:
        paths = _mapping_paths(root)
        document.problems.extend(
            KeyProblem(line, (*paths.get(id(node), ()), *key), message)
            for node, key, line, message in loader.key_problems
        )
    return document


def _mapping_paths(root: Node | None) -> dict[int, tuple[str | int, ...]]:
    """Path of every mapping node (by id), the first one found where aliases share a node."""
    paths: dict[int, tuple[str | int, ...]] = {}
    stack: list[tuple[Node | None, tuple[str | int, ...]]] = [(root, ())]
    visited: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node is None or id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, MappingNode):
            paths[id(node)] = path
            stack.extend(
                (value, (*path, key.value))
                for key, value in node.value
                if isinstance(key, ScalarNode) and key.tag == _STR_TAG
            )
        elif isinstance(node, SequenceNode):
            stack.extend((item, (*path, i)) for i, item in enumerate(node.value))
    return paths
