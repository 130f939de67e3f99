"""Load CloudFormation/SAM YAML into plain dicts, expanding intrinsic short tags to their long forms.

PyYAML alone rejects `!Ref` and friends, and its YAML 1.1 rules would turn `2010-09-09` into a date;
CloudFormation treats both as plain data. Duplicate keys are an error here because CloudFormation
rejects them too, while PyYAML would silently keep the last one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

try:
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # PyYAML built without libyaml: same behaviour, slower parser
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"

# Short tag -> long form key; `!Ref` and `!Condition` keep their names, the rest become `Fn::<Name>`.
_INTRINSIC_KEYS: dict[str, str] = {
    "!Ref": "Ref",
    "!Condition": "Condition",
    **{
        f"!{name}": f"Fn::{name}"
        for name in (
            "Sub",
            "GetAtt",
            "Join",
            "If",
            "Equals",
            "Not",
            "And",
            "Or",
            "Select",
            "Split",
            "FindInMap",
            "ImportValue",
            "Base64",
            "Cidr",
            "GetAZs",
            "Transform",
        )
    },
}

_SCALAR_ONLY_TAGS = {"!Ref", "!Condition"}


class TemplateLoadError(ValueError):
    """The template file cannot be read as CloudFormation YAML/JSON."""


class _CfnLoader(_BaseLoader):
    """SafeLoader that speaks CloudFormation: intrinsic tags, no timestamps, no duplicate keys."""


_CfnLoader.yaml_implicit_resolvers = {
    first_char: [(tag, pattern) for tag, pattern in resolvers if tag != _TIMESTAMP_TAG]
    for first_char, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: _CfnLoader, node: MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            raise ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                f"found duplicate key {key!r}",
                key_node.start_mark,
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


def _construct_node(loader: _CfnLoader, node: Node) -> Any:
    if isinstance(node, ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, SequenceNode):
        return loader.construct_sequence(node, deep=True)
    if isinstance(node, MappingNode):
        return _construct_mapping(loader, node)
    raise ConstructorError(None, None, f"unexpected node {node.tag}", node.start_mark)


def _construct_get_att(loader: _CfnLoader, node: Node) -> list[Any]:
    if isinstance(node, ScalarNode):
        logical_id, dot, attribute = loader.construct_scalar(node).partition(".")
        if not dot or not logical_id or not attribute:
            raise ConstructorError(
                None, None, f"!GetAtt needs 'Resource.Attribute', got {node.value!r}", node.start_mark
            )
        return [logical_id, attribute]
    value = _construct_node(loader, node)
    if not isinstance(value, list) or len(value) != 2:
        raise ConstructorError(None, None, "!GetAtt list form needs [Resource, Attribute]", node.start_mark)
    return value


def _construct_intrinsic(loader: _CfnLoader, node: Node) -> dict[str, Any]:
    key = _INTRINSIC_KEYS[node.tag]
    if node.tag == "!GetAtt":
        return {key: _construct_get_att(loader, node)}
    if node.tag in _SCALAR_ONLY_TAGS and not isinstance(node, ScalarNode):
        raise ConstructorError(None, None, f"{node.tag} takes a single name", node.start_mark)
    return {key: _construct_node(loader, node)}


_CfnLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
for _tag in _INTRINSIC_KEYS:
    _CfnLoader.add_constructor(_tag, _construct_intrinsic)


def _one_line(path: Path, error: yaml.YAMLError) -> str:
    """`file:line:col: problem`, which editors and CI logs link to, instead of PyYAML's multi-line text."""
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{path}:{mark.line + 1}:{mark.column + 1}: {error.problem}"
    return f"{path}: {error}"


def load_template(path: Path | str) -> dict[str, Any]:
    """Read a CloudFormation/SAM template (YAML or JSON) into plain dicts with long-form intrinsics."""
    template_path = Path(path)
    try:
        text = template_path.read_text(encoding="utf-8")
    except OSError as error:
        raise TemplateLoadError(f"{template_path}: cannot read: {error.strerror}") from error
    try:
        document = yaml.load(text, Loader=_CfnLoader)
    except yaml.YAMLError as error:
        raise TemplateLoadError(_one_line(template_path, error)) from error
    if not isinstance(document, dict):
        raise TemplateLoadError(f"{template_path}: a template must be a mapping at the top level")
    return document
