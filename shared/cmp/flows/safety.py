"""Turns uploaded bytes into a plain JSON-compatible document, refusing hostile input before it costs much.

Every limit here protects the Lambda that runs the import and the `jsonb` column that stores the result:
size is checked before decoding, YAML aliases are measured on the node graph before anything is built
(a "billion laughs" file is a few hundred bytes that expand to gigabytes), and the final walk is iterative
so no document can exhaust the interpreter stack.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, Literal

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from cmp.errors import FieldError, PayloadTooLarge, ValidationFailed
from cmp.flows.base import child_path, type_name
from cmp.json_input import MAX_INTEGER_DIGITS, MAX_NESTING_DEPTH, NumberRejected, loads
from cmp.text import with_article

MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_DOCUMENT_VALUES = 1_000_000
"""Values (objects, arrays and scalars) a document may hold once YAML aliases are expanded."""
MAX_REPORTED_VALUES = 100
"""Unstorable values one refusal lists at most (the rest are found once these are fixed)."""


Syntax = Literal["json", "yaml"]

_BYTE_ORDER_MARKS: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
_UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")
_CONTENT = "content"


def parse_document(content: bytes | str, *, prefer: Syntax | None = None) -> Any:
    """The document as dicts, lists and JSON scalars; raises a domain error for anything else.

    Text that starts like JSON is read as JSON (the stricter parser, with the clearer errors); with
    `prefer="yaml"` a failure there falls back to YAML, whose flow style also starts with `{`.
    Everything else is YAML.
    """
    source = _decode(content)
    if not source.strip():
        raise _content_error("The file is empty", "empty; expected a JSON or YAML document")
    if source.lstrip()[:1] in ("{", "["):
        try:
            document = _parse_json(source)
        except ValidationFailed:
            if prefer != "yaml":
                raise
            document = _parse_yaml(source)
    else:
        document = _parse_yaml(source)
    check_document(document)
    return document


def _content_error(message: str, detail: str) -> ValidationFailed:
    return ValidationFailed(message, errors=[FieldError(_CONTENT, detail)])


def _too_large(size_hint: str) -> PayloadTooLarge:
    limit = f"{MAX_IMPORT_BYTES // (1024 * 1024)} MiB"
    return PayloadTooLarge(
        f"Import files are limited to {limit}",
        errors=[FieldError(_CONTENT, f"{size_hint}; the limit is {limit} ({MAX_IMPORT_BYTES} bytes)")],
    )


def _decode(content: object) -> str:
    if isinstance(content, str):
        if len(content) > MAX_IMPORT_BYTES:
            raise _too_large(f"{len(content)} characters")
        try:
            size = len(content.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise _content_error(
                "The text is not valid Unicode",
                f"character {exc.start} is an unpaired UTF-16 surrogate; the text cannot be stored",
            ) from None
        if size > MAX_IMPORT_BYTES:
            raise _too_large(f"{size} bytes")
        return content.removeprefix("\ufeff")
    if isinstance(content, bytes | bytearray | memoryview):
        raw = bytes(content)
        if len(raw) > MAX_IMPORT_BYTES:
            raise _too_large(f"{len(raw)} bytes")
        codec = next((name for bom, name in _BYTE_ORDER_MARKS if raw.startswith(bom)), "utf-8-sig")
        try:
            return raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise _content_error(
                "The file is not text",
                f"not {codec.removesuffix('-sig').upper()} text: byte 0x{raw[exc.start]:02x} at offset "
                f"{exc.start} cannot be decoded; upload the JSON or YAML file exactly as exported",
            ) from None
    raise _content_error(
        "The file content is missing",
        f"expected the file content as bytes or text, got {type(content).__name__}",
    )


def _parse_json(source: str) -> Any:
    try:
        return loads(source)
    except json.JSONDecodeError as exc:
        raise _content_error(
            "The file is not valid JSON",
            f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
        ) from None
    except NumberRejected as exc:
        raise _content_error("The file is not valid JSON", f"not valid JSON: {exc}") from None
    except RecursionError:
        raise _nested_too_deep(_CONTENT) from None


class _SafeYamlLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe tags only, string keys only, and YAML-only scalars (timestamps) kept as the text written.

    libyaml (CSafeLoader) also caps nesting at 1000 levels while scanning, so deep input fails early.
    """

    def resolve(self, kind: type[Node], value: Any, implicit: tuple[bool, bool]) -> str:
        """PyYAML's resolution without its per-call list building: called once per node while composing.

        Exact for the implicit resolvers; should path resolvers ever be registered, PyYAML's own runs.
        """
        if self.yaml_path_resolvers:
            return str(super().resolve(kind, value, implicit))
        if kind is ScalarNode:
            if implicit[0]:
                for tag, pattern in _IMPLICIT_RESOLVERS.get(value[:1], _WILDCARD_RESOLVERS):
                    if pattern.match(value):
                        return tag
            return str(self.DEFAULT_SCALAR_TAG)
        if kind is SequenceNode:
            return str(self.DEFAULT_SEQUENCE_TAG)
        return str(self.DEFAULT_MAPPING_TAG)

    def construct_mapping(self, node: Node, deep: bool = False) -> dict[str, Any]:
        if not isinstance(node, MappingNode):
            raise ConstructorError(
                None, None, f"expected a mapping, found a {type(node).__name__}", node.start_mark
            )
        self.flatten_mapping(node)
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    "found a key that is not text",
                    key_node.start_mark,
                )
            mapping[key_node.value] = self.construct_object(value_node, deep=deep)
        return mapping


def _implicit_resolvers(loader: type[Any]) -> dict[str, tuple[tuple[str, re.Pattern[str]], ...]]:
    """Implicit scalar resolvers by first character, the wildcard ones appended once instead of per call."""
    table: dict[Any, list[tuple[str, re.Pattern[str]]]] = loader.yaml_implicit_resolvers
    wildcard = table.get(None, [])
    return {first: tuple(resolvers + wildcard) for first, resolvers in table.items() if first is not None}


def _construct_scalar_text(loader: SafeConstructor, node: ScalarNode) -> str:
    return str(loader.construct_scalar(node))


def _construct_bounded_int(loader: SafeConstructor, node: ScalarNode) -> int:
    literal = str(loader.construct_scalar(node))
    if len(literal) > MAX_INTEGER_DIGITS:
        raise ConstructorError(
            None, None, f"integer longer than {MAX_INTEGER_DIGITS} digits", node.start_mark
        )
    return int(loader.construct_yaml_int(node))


_IMPLICIT_RESOLVERS = _implicit_resolvers(_SafeYamlLoader)
_WILDCARD_RESOLVERS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    _SafeYamlLoader.yaml_implicit_resolvers.get(None, [])
)
_SafeYamlLoader.add_constructor("tag:yaml.org,2002:timestamp", _construct_scalar_text)
_SafeYamlLoader.add_constructor("tag:yaml.org,2002:int", _construct_bounded_int)


_ANCHOR = re.compile(r"(?<!\w)&[^\s,\[\]{}]")
"""Where an anchor could start: a YAML token never starts right after a letter or digit, so `R&D` is
text; over-matching (`a & b`) only costs the alias check. Without an anchor there is no alias, so the
node graph is a tree and cannot expand."""

_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_SCALAR_BUILDERS: dict[str, Callable[[_SafeYamlLoader, ScalarNode], Any]] = {
    "tag:yaml.org,2002:null": lambda loader, node: None,
    "tag:yaml.org,2002:bool": lambda loader, node: loader.construct_yaml_bool(node),
    "tag:yaml.org,2002:int": _construct_bounded_int,
    "tag:yaml.org,2002:float": lambda loader, node: loader.construct_yaml_float(node),
    "tag:yaml.org,2002:timestamp": lambda loader, node: node.value,
}


def _parse_yaml(source: str) -> Any:
    loader = _SafeYamlLoader(source)
    try:
        root = loader.get_single_node()
        if root is None:
            raise _content_error("The file is empty", "no YAML document found")
        if _ANCHOR.search(source):
            _check_alias_expansion(root)
        return _build(loader, root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = " ".join(part for part in (exc.context, exc.problem) if part)
        raise _content_error("The file is not valid YAML", f"not valid YAML: {problem}{where}") from None
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise _content_error("The file is not valid YAML", f"not valid YAML: {detail}") from None
    except RecursionError:
        raise _nested_too_deep(_CONTENT) from None
    except (ValueError, TypeError, OverflowError) as exc:
        raise _content_error(
            "The file is not valid YAML", f"not valid YAML: a value cannot be read ({exc})"
        ) from None
    finally:
        loader.dispose()


def _build(loader: _SafeYamlLoader, root: Node) -> Any:
    """The document from its node graph, iteratively: plain mappings, sequences and JSON scalars are
    built here (several times faster than PyYAML's generic constructor); any other tag goes through
    the loader, which refuses unsafe tags. An alias reuses the object already built for its node.
    """
    built: dict[int, Any] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if not children_done and (key in built or key in open_nodes):
            if key in open_nodes:
                raise _content_error(
                    "The YAML refers to itself",
                    f"an alias at line {node.start_mark.line + 1} contains itself; recursive documents "
                    "cannot be imported",
                )
            continue
        if isinstance(node, ScalarNode):
            tag_builder = _SCALAR_BUILDERS.get(node.tag)
            if node.tag == _STR_TAG:
                built[key] = node.value
            elif tag_builder is not None:
                built[key] = tag_builder(loader, node)
            else:
                built[key] = loader.construct_document(node)
        elif isinstance(node, MappingNode) and node.tag == _MAP_TAG:
            if not children_done:
                loader.flatten_mapping(node)
                open_nodes.add(key)
                stack.append((node, True))
                stack.extend((value, False) for _, value in node.value)
                continue
            mapping: dict[str, Any] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    raise ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        "found a key that is not text",
                        key_node.start_mark,
                    )
                mapping[key_node.value] = built[id(value_node)]
            built[key] = mapping
            open_nodes.discard(key)
        elif isinstance(node, SequenceNode) and node.tag == _SEQ_TAG:
            if not children_done:
                open_nodes.add(key)
                stack.append((node, True))
                stack.extend((item, False) for item in node.value)
                continue
            built[key] = [built[id(item)] for item in node.value]
            open_nodes.discard(key)
        else:
            built[key] = loader.construct_document(node)
    return built[id(root)]


def _children(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    if isinstance(node, SequenceNode):
        return list(node.value)
    return []


def _check_alias_expansion(root: Node) -> None:
    """Counts the values the node graph expands to, before any object is built.

    An alias is the same node object reached twice, so memoised sizes add up exactly what construction
    and any later walk would produce. A node reached again while still open is a recursive alias.
    """
    expanded: dict[int, int] = {}
    open_nodes: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            size = 1 + sum(expanded[id(child)] for child in _children(node))
            if size > MAX_DOCUMENT_VALUES:
                raise _content_error(
                    "The YAML expands to too many values",
                    f"aliases expand this document past {MAX_DOCUMENT_VALUES} values "
                    f"(line {node.start_mark.line + 1}); anchors and aliases must not multiply content",
                )
            expanded[key] = size
            open_nodes.discard(key)
            continue
        if key in expanded:
            continue
        open_nodes.add(key)
        stack.append((node, True))
        for child in _children(node):
            if id(child) in open_nodes:
                raise _content_error(
                    "The YAML refers to itself",
                    f"an alias at line {child.start_mark.line + 1} contains itself; recursive documents "
                    "cannot be imported",
                )
            if id(child) not in expanded:
                stack.append((child, False))


def _nested_too_deep(path: str) -> ValidationFailed:
    return ValidationFailed(
        "The document is nested too deeply",
        errors=[FieldError(path, f"nested deeper than {MAX_NESTING_DEPTH} levels")],
    )


_Trail = tuple["_Trail | None", str | int]


def _trail_path(trail: _Trail | None, root: str = _CONTENT) -> str:
    keys: list[str | int] = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    path = ""
    for key in reversed(keys):
        path = child_path(path, key)
    return path[:300] or root


def check_document(document: object, root: str = _CONTENT) -> None:
    """Rejects what cannot be stored as `jsonb`: deep nesting, huge size, NUL, lone surrogates, NaN.

    A problem is reported at its value's path (`plans[0].name`), or at `root` for the document itself.
    Nesting and size end the walk at the first problem; every unstorable value is listed, in document
    order (at most `MAX_REPORTED_VALUES` of them).
    """
    stack: list[tuple[object, int, _Trail | None]] = [(document, 1, None)]
    problems: list[FieldError] = []
    visited = 0
    while stack and len(problems) < MAX_REPORTED_VALUES:
        value, depth, trail = stack.pop()
        visited += 1
        if visited > MAX_DOCUMENT_VALUES:
            raise _content_error(
                "The document holds too many values", f"more than {MAX_DOCUMENT_VALUES} values"
            )
        if isinstance(value, dict):
            if depth > MAX_NESTING_DEPTH:
                raise _nested_too_deep(_trail_path(trail, root))
            children: list[tuple[object, int, _Trail | None]] = []
            for key, child in value.items():
                if not isinstance(key, str):
                    problems.append(_unstorable(trail, root, f"key of type {type(key).__name__} is not text"))
                    continue
                problems += _text_problems(key, trail, root)
                children.append((child, depth + 1, (trail, key)))
            stack.extend(reversed(children))
        elif isinstance(value, list):
            if depth > MAX_NESTING_DEPTH:
                raise _nested_too_deep(_trail_path(trail, root))
            stack.extend((value[i], depth + 1, (trail, i)) for i in range(len(value) - 1, -1, -1))
        elif isinstance(value, str):
            problems += _text_problems(value, trail, root)
        elif isinstance(value, float):
            if not math.isfinite(value):
                problems.append(_unstorable(trail, root, f"{value} is not a JSON number"))
        elif not (value is None or isinstance(value, bool | int)):
            problems.append(
                _unstorable(trail, root, f"{with_article(type_name(value))} value has no JSON equivalent")
            )
    if problems:
        raise ValidationFailed(
            "The document holds a value that cannot be stored", errors=problems[:MAX_REPORTED_VALUES]
        )


def _text_problems(value: str, trail: _Trail | None, root: str) -> list[FieldError]:
    found = _UNSTORABLE_CHARACTERS.search(value)
    if found is None:
        return []
    if found.group() == "\x00":
        return [_unstorable(trail, root, "contains a NUL character, which cannot be stored")]
    return [_unstorable(trail, root, "contains an unpaired UTF-16 surrogate (a broken \\u escape)")]


def _unstorable(trail: _Trail | None, root: str, detail: str) -> FieldError:
    return FieldError(_trail_path(trail, root), detail)
