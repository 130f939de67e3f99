"""The fast YAML reader builds exactly what PyYAML's safe loader builds; key-shaped secrets are masked."""

from __future__ import annotations

import pytest
import yaml

from cmp.flows.base import Findings, common_path, warning_kind
from cmp.flows.safety import _ANCHOR, parse_document
from cmp.flows.secrets import secret_shape, warn_secrets

pytestmark = pytest.mark.unit

DOCUMENTS = {
    "plain": "openapi: 3.0.3\ninfo: {title: T, version: '1'}\npaths:\n  /a:\n    get: {operationId: a}\n",
    "scalars": "a: [1, -2, 0x1F, 1.5, .5, true, no, ~, null, '', 'quoted', \"d\"]\nb: 2024-01-01\n",
    "anchors": "base: &b {x: 1, y: [1, 2]}\nuse: *b\nlist: [*b, *b]\n",
    "merge": "base: &b {x: 1, y: 2}\nmerged: {<<: *b, y: 3, z: 4}\nmany: {<<: [*b, {w: 0}]}\n",
    "inline merge": "m: {<<: {x: 1}, y: 2}\n",
    "blocks": "text: |\n  line one\n  line two\nfolded: >-\n  a\n  b\n",
    "keys": "1: one\ntrue: yes\n2024-01-01: date\n",
    "R&D": "title: R&D budget & costs\nurl: https://x.example/?a=1&b=2\n",
}


def pyyaml(source: str) -> object:
    """What PyYAML's safe loader gives, with the timestamps kept as text and keys as written."""

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[str, object]:  # type: ignore[override]
            self.flatten_mapping(node)
            return {key.value: self.construct_object(value, deep=True) for key, value in node.value}

    Loader.add_constructor("tag:yaml.org,2002:timestamp", lambda loader, node: node.value)
    return yaml.load(source, Loader=Loader)


@pytest.mark.parametrize("source", DOCUMENTS.values(), ids=DOCUMENTS.keys())
def test_the_yaml_builder_matches_pyyaml(source: str) -> None:
    assert parse_document(source, prefer="yaml") == pyyaml(source)


@pytest.mark.parametrize(
    ("text", "may_have_anchor"),
    [
        ("a: &x 1", True),
        ("- &x 1", True),
        ("[&x 1, *x]", True),
        ('{"a":&x 1}', True),
        ("&x a: 1", True),
        ("R&D", False),
        ("price & currency", False),
        ("https://e.x/?a=1&b=2", False),
    ],
)
def test_text_that_may_hold_an_anchor_is_recognised(text: str, may_have_anchor: bool) -> None:
    assert bool(_ANCHOR.search(text)) is may_have_anchor


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("sk-proj-" + "a" * 40, "an OpenAI-style API key"),
        ("sk-ant-api03-" + "b" * 40, "an Anthropic API key"),
        ("ghp_" + "c" * 36, "a GitHub token"),
        ("xoxb-1234567890-abcdef", "a Slack token"),
        ("AKIA" + "D" * 16, "an AWS access key id"),
        ("AIza" + "e" * 35, "a Google API key"),
        ("hf_" + "f" * 34, "a Hugging Face token"),
        ("-----BEGIN RSA PRIVATE KEY-----\nabc", "a private key"),
        ("Bearer sk-" + "g" * 30, "an OpenAI-style API key"),
    ],
)
def test_well_known_key_shapes_are_recognised_and_masked(value: str, label: str) -> None:
    found = secret_shape(value)
    assert found is not None and found[0] == label
    assert found[1].endswith(" characters)") and value not in found[1]


@pytest.mark.parametrize(
    "value", ["OPENAI_API_KEY", "${API_KEY}", "sk-short", "a task-list", "risk-assessment"]
)
def test_ordinary_text_is_not_a_secret(value: str) -> None:
    assert secret_shape(value) is None


def test_secrets_are_found_anywhere_in_a_value_at_their_path() -> None:
    findings = Findings()
    value = {"headers": {"Authorization": "Bearer sk-" + "x" * 30}, "args": ["--key", "ghp_" + "y" * 36]}
    assert warn_secrets(value, "node.parameters", findings)
    assert [w.path for w in findings.warnings()] == [
        "node.parameters.headers.Authorization",
        "node.parameters.args[1]",
    ]


def test_warning_kinds_ignore_the_particulars() -> None:
    assert warning_kind("unknown node type 'a.b' imported as opaque step") == warning_kind(
        "unknown node type 'c' imported as opaque step"
    )
    assert warning_kind("holds a key (sk-p… (44 characters))") == warning_kind(
        "holds a key (sk-p… (51 characters))"
    )


@pytest.mark.parametrize(
    ("first", "second", "common"),
    [
        ("nodes[1].type", "nodes[12].type", "nodes"),
        ("paths.a.get", "paths.ab.get", "paths"),
        ("data.nodes[3]", "data.nodes[3].data", "data.nodes[3]"),
        ("x", "y", ""),
    ],
)
def test_the_common_path_stops_at_a_whole_key(first: str, second: str, common: str) -> None:
    assert common_path(first, second) == common
