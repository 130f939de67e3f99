"""Malformed and hostile input ends in a domain error with a path, never in another exception or a hang."""

from __future__ import annotations

import copy
import json
import random
import time
from pathlib import Path
from typing import Any

import pytest

from cmp.errors import DomainError, PayloadTooLarge, ValidationFailed
from cmp.flows import (
    MAX_COMPONENTS,
    MAX_DOCUMENT_VALUES,
    MAX_IMPORT_BYTES,
    MAX_NESTING_DEPTH,
    import_flow,
)
from cmp.flows.base import MAX_WARNINGS, WARNINGS_SHOWN_PER_KIND, Findings

pytestmark = pytest.mark.unit


def rejected(content: Any, source_format: str | None = None, filename: str | None = None) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        import_flow(content, source_format, filename)
    assert caught.value.errors, "a rejection must say where the problem is"
    return caught.value


def paths_of(error: ValidationFailed) -> list[str]:
    return [field_error.path for field_error in error.errors]


def n8n_workflow(*nodes: object, **extra: Any) -> dict[str, Any]:
    return {"name": "Workflow", "nodes": list(nodes), "connections": {}, **extra}


def n8n_node(name: str, node_type: str = "n8n-nodes-base.set", **extra: Any) -> dict[str, Any]:
    return {"id": name, "name": name, "type": f"{node_type}", "typeVersion": 1, "parameters": {}, **extra}


# --- size -------------------------------------------------------------------------------------------


def test_bytes_over_the_limit_are_refused_before_parsing() -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        import_flow(b"{" + b" " * MAX_IMPORT_BYTES)
    assert caught.value.status == 413
    assert caught.value.errors[0].path == "content"


def test_text_over_the_limit_in_utf8_bytes_is_refused() -> None:
    two_byte_characters = "é" * (MAX_IMPORT_BYTES // 2 + 1)
    with pytest.raises(PayloadTooLarge):
        import_flow(two_byte_characters)


def test_a_document_of_exactly_the_limit_is_accepted() -> None:
    skeleton = {"tools": [{"name": "pad", "inputSchema": {}, "description": ""}]}
    padding = MAX_IMPORT_BYTES - len(json.dumps(skeleton).encode())
    skeleton["tools"][0]["description"] = "x" * padding
    content = json.dumps(skeleton).encode()
    assert len(content) == MAX_IMPORT_BYTES
    assert import_flow(content).format == "mcp"


# --- parsing ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content", [b"", "", "   \n\t  ", b"\xef\xbb\xbf"], ids=["bytes", "text", "blank", "bom"]
)
def test_empty_content_is_rejected(content: bytes | str) -> None:
    assert paths_of(rejected(content)) == ["content"]


@pytest.mark.parametrize("content", ["{}", "[]", "null", "42", '"flow"', "name: just a mapping"])
def test_documents_of_no_known_format_name_what_was_expected(content: str) -> None:
    error = rejected(content)
    assert paths_of(error) == ["format"]
    assert "Langflow" in error.errors[0].message and "OpenAPI" in error.errors[0].message


def test_binary_garbage_is_rejected_as_not_text() -> None:
    garbage = random.Random(7).randbytes(4096)
    error = rejected(garbage)
    assert paths_of(error) == ["content"]
    assert "offset" in error.errors[0].message


def test_a_png_upload_is_rejected_as_not_text() -> None:
    assert paths_of(rejected(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")) == ["content"]


def test_invalid_json_reports_line_and_column() -> None:
    error = rejected('{\n  "nodes": [1, 2,,]\n}')
    assert paths_of(error) == ["content"]
    assert "line 2, column" in error.errors[0].message


def test_invalid_yaml_reports_line_and_column() -> None:
    error = rejected("openapi: 3.0.0\ninfo: [unclosed\npaths: {}\n")
    assert paths_of(error) == ["content"]
    assert "line " in error.errors[0].message and "column " in error.errors[0].message


def test_several_yaml_documents_in_one_file_are_rejected() -> None:
    assert paths_of(rejected("openapi: 3.0.0\n---\nopenapi: 3.1.0\n")) == ["content"]


@pytest.mark.parametrize(
    "literal",
    ["NaN", "Infinity", "-Infinity", "1e400", "1" * 5000],
    ids=["nan", "inf", "-inf", "overflow", "digits"],
)
def test_json_numbers_postgres_cannot_store_are_rejected(literal: str) -> None:
    error = rejected('{"tools": [{"name": "t", "inputSchema": {"default": ' + literal + "}}]}")
    assert paths_of(error) == ["content"]


def test_yaml_numbers_postgres_cannot_store_are_rejected() -> None:
    assert (
        rejected("tools:\n- name: t\n  inputSchema: {maximum: .inf}\n").errors[0].path.startswith("tools[0]")
    )
    assert paths_of(rejected(f"tools:\n- name: t\n  inputSchema: {{maximum: {'9' * 5000}}}\n")) == ["content"]


def test_nul_characters_are_rejected_at_their_path() -> None:
    error = rejected('{"tools": [{"name": "bad\\u0000name", "inputSchema": {}}]}')
    assert paths_of(error) == ["tools[0].name"]


def test_unpaired_surrogates_are_rejected() -> None:
    assert paths_of(rejected('{"tools": [{"name": "\\ud800", "inputSchema": {}}]}')) == ["tools[0].name"]
    assert paths_of(rejected("\ud800")) == ["content"]


@pytest.mark.parametrize("content", [None, 42, {"nodes": []}, ["x"]], ids=["none", "int", "dict", "list"])
def test_content_that_is_not_bytes_or_text_is_rejected(content: object) -> None:
    assert paths_of(rejected(content)) == ["content"]


def test_utf16_files_with_a_byte_order_mark_are_read() -> None:
    document = {"tools": [{"name": "echo", "inputSchema": {"type": "object"}}]}
    assert import_flow(json.dumps(document).encode("utf-16")).components[0]["id"] == "echo"


# --- nesting ----------------------------------------------------------------------------------------


def nested(depth: int) -> dict[str, Any]:
    """A valid MCP tools list whose input schema nests `depth` levels from the document root."""
    schema: dict[str, Any] = {}
    for _ in range(depth - 4):
        schema = {"a": schema}
    return {"tools": [{"name": "deep", "inputSchema": schema}]}


def test_nesting_at_the_limit_is_accepted() -> None:
    assert import_flow(json.dumps(nested(MAX_NESTING_DEPTH))).components[0]["id"] == "deep"


def test_nesting_past_the_limit_is_rejected_with_its_path() -> None:
    error = rejected(json.dumps(nested(MAX_NESTING_DEPTH + 1)))
    assert error.errors[0].path.startswith("tools[0].inputSchema.a.a")
    assert str(MAX_NESTING_DEPTH) in error.errors[0].message


@pytest.mark.parametrize("depth", [1_000, 100_000, 1_000_000])
def test_json_deeper_than_the_parser_can_go_is_rejected(depth: int) -> None:
    assert "nested" in rejected("[" * depth + "]" * depth).errors[0].message


@pytest.mark.parametrize("depth", [200, 5_000])
def test_deep_yaml_is_rejected(depth: int) -> None:
    rejected("tools:\n" + "- " * depth + "x\n")


# --- YAML tricks ------------------------------------------------------------------------------------

BILLION_LAUGHS = "\n".join(
    ["a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["tools: *i"]
)

MERGE_KEY_BOMB = "\n".join(
    ["l0: &l0 {a: 1, b: 2}"]
    + [f"l{i}: &l{i} {{<<: [*l{i - 1}, *l{i - 1}], k{i}: [*l{i - 1}, *l{i - 1}]}}" for i in range(1, 40)]
    + ["openapi: 3.0.0", "paths: {}"]
)


@pytest.mark.parametrize("bomb", [BILLION_LAUGHS, MERGE_KEY_BOMB], ids=["billion-laughs", "merge-keys"])
def test_alias_bombs_are_rejected_quickly(bomb: str) -> None:
    started = time.monotonic()
    error = rejected(bomb, filename="bomb.yaml")
    assert time.monotonic() - started < 2
    assert str(MAX_DOCUMENT_VALUES) in error.errors[0].message


def test_recursive_aliases_are_rejected() -> None:
    assert "itself" in rejected("tools: &loop [*loop]\n").errors[0].message


def test_a_few_aliases_are_fine() -> None:
    spec = """
openapi: 3.0.3
info: {title: Aliased, version: '1'}
x-common: &common {responses: {'200': {description: ok}}}
paths:
  /a: {get: {operationId: getA, <<: *common}}
  /b: {get: {operationId: getB, <<: *common}}
"""
    assert [c["id"] for c in import_flow(spec).components] == ["getA", "getB"]


@pytest.mark.parametrize(
    "payload",
    [
        "!!python/object/apply:os.system ['echo pwned']",
        "tools: !!python/name:os.system",
        "openapi: !!python/object/new:str ['3.0.0']",
        "openapi: !Ref Version",
    ],
)
def test_unsafe_yaml_tags_are_rejected(payload: str) -> None:
    assert paths_of(rejected(payload, filename="evil.yaml")) == ["content"]


@pytest.mark.parametrize(
    "payload", ["tools: !!binary aGVsbG8=", "tools: !!set {a, b}", "tools: !!omap [a: 1]"]
)
def test_yaml_values_without_a_json_equivalent_are_rejected(payload: str) -> None:
    rejected(payload)


def test_yaml_timestamps_and_numeric_keys_stay_json() -> None:
    spec = """
openapi: 3.0.0
info: {title: Dated, version: 2024-01-01}
paths:
  /x:
    get:
      operationId: getX
      responses:
        200: {description: ok, content: {application/json: {example: {when: 2024-05-06T07:08:09Z}}}}
"""
    result = import_flow(spec)
    responses = result.flow_definition["paths"]["/x"]["get"]["responses"]
    assert responses["200"]["content"]["application/json"]["example"]["when"] == "2024-05-06T07:08:09Z"
    assert result.flow_definition["info"]["version"] == "2024-01-01"
    json.dumps(result.to_dict(), allow_nan=False)


def test_non_scalar_yaml_keys_are_rejected() -> None:
    assert paths_of(rejected("? [a, b]\n: value\n")) == ["content"]


# --- too many components ----------------------------------------------------------------------------


def test_too_many_n8n_nodes_are_rejected() -> None:
    nodes = [n8n_node(f"n{i}") for i in range(MAX_COMPONENTS + 1)]
    error = rejected(json.dumps(n8n_workflow(*nodes)))
    assert paths_of(error) == ["nodes"]
    assert str(MAX_COMPONENTS + 1) in error.errors[0].message


def test_too_many_langflow_nodes_are_rejected() -> None:
    nodes = [{"id": f"n{i}", "data": {"type": "ChatInput"}} for i in range(MAX_COMPONENTS + 1)]
    assert paths_of(rejected(json.dumps({"data": {"nodes": nodes, "edges": []}}))) == ["data.nodes"]


def test_too_many_openapi_operations_are_rejected() -> None:
    paths = {f"/r{i}": {"get": {"operationId": f"op{i}"}} for i in range(MAX_COMPONENTS + 1)}
    assert paths_of(rejected(json.dumps({"openapi": "3.0.0", "info": {"title": "Big"}, "paths": paths}))) == [
        "paths"
    ]


def test_too_many_mcp_tools_are_rejected() -> None:
    tools = [{"name": f"t{i}", "inputSchema": {}} for i in range(MAX_COMPONENTS + 1)]
    assert paths_of(rejected(json.dumps({"tools": tools}))) == ["tools"]


def test_too_many_values_are_rejected() -> None:
    flat = "[" + ",".join(["null"] * (MAX_DOCUMENT_VALUES + 1)) + "]"
    assert paths_of(rejected(flat)) == ["content"]


# --- wrong types ------------------------------------------------------------------------------------


@pytest.mark.parametrize("nodes", ["not a list", 7, None, {"a": 1}])
def test_n8n_nodes_of_the_wrong_type_are_rejected(nodes: object) -> None:
    error = rejected(json.dumps({"nodes": nodes, "connections": {}}))
    assert paths_of(error) == ["nodes"]


def test_langflow_nodes_of_the_wrong_type_are_rejected() -> None:
    error = rejected(json.dumps({"name": "Flow", "data": {"nodes": "oops", "edges": []}}))
    assert paths_of(error) == ["data.nodes"]
    assert "string" in error.errors[0].message


def test_langflow_data_of_the_wrong_type_is_rejected() -> None:
    assert paths_of(rejected(json.dumps({"data": ["nodes"]}), "langflow")) == ["data"]


def test_a_node_that_is_a_list_is_skipped_with_a_warning() -> None:
    workflow = n8n_workflow(n8n_node("Start", "n8n-nodes-base.manualTrigger"), ["not", "a", "node"])
    result = import_flow(json.dumps(workflow))
    assert [w.path for w in result.warnings] == ["nodes[1]"]
    assert [c["name"] for c in result.components] == ["Start"]


def test_missing_edges_are_a_warning_when_the_nodes_are_usable() -> None:
    flow = {"name": "No edges", "data": {"nodes": [{"id": "ChatInput-abcde", "data": {"type": "ChatInput"}}]}}
    result = import_flow(json.dumps(flow))
    assert "data.edges" in [w.path for w in result.warnings]
    assert result.proposed_capabilities["interfaces"]["chat"]["enabled"] is True


def test_nothing_usable_is_an_error_listing_every_problem() -> None:
    flow = {"name": "Broken", "data": {"nodes": [["x"], "y", {"id": "n", "data": 3}], "edges": []}}
    error = rejected(json.dumps(flow))
    assert paths_of(error) == ["data.nodes"]


def test_openapi_paths_of_the_wrong_type_are_rejected() -> None:
    error = rejected(json.dumps({"openapi": "3.1.0", "info": {"title": "T"}, "paths": ["/a", "/b"]}))
    assert paths_of(error) == ["paths"]


def test_mcp_tools_of_the_wrong_type_are_rejected() -> None:
    assert paths_of(rejected(json.dumps({"tools": "all of them"}), "mcp")) == ["tools"]


# --- robustness: mutated real exports ----------------------------------------------------------------

_REPLACEMENTS: list[object] = [
    None,
    "",
    "x",
    0,
    -1,
    3.5,
    True,
    [],
    {},
    [None],
    {"": None},
    ["a", 1],
    {"id": []},
]


def _mutate(document: object, rng: random.Random) -> object:
    """Replaces one random value near the top of the document (where structure lives) with another type."""
    max_depth = rng.randint(1, 6)
    containers: list[tuple[dict[str, Any] | list[Any], Any]] = []
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        current, depth = stack.pop()
        if depth > max_depth:
            continue
        if isinstance(current, dict):
            containers.extend((current, key) for key in current)
            stack.extend((child, depth + 1) for child in current.values())
        elif isinstance(current, list):
            containers.extend((current, index) for index in range(len(current)))
            stack.extend((child, depth + 1) for child in current)
    if containers:
        container, key = rng.choice(containers)
        container[key] = copy.deepcopy(rng.choice(_REPLACEMENTS))
    return document


def test_randomly_damaged_exports_never_raise_anything_but_domain_errors(import_fixtures_dir: Path) -> None:
    rng = random.Random(20240601)
    sources = sorted(p for p in import_fixtures_dir.glob("*/*.json"))
    assert sources, "no JSON fixtures to damage"
    outcomes = {"imported": 0, "rejected": 0}
    for source in sources:
        original = source.read_text(encoding="utf-8")
        for _ in range(25):
            document = json.loads(original)
            for _ in range(rng.randint(1, 4)):
                document = _mutate(document, rng)
            damaged = json.dumps(document)
            try:
                result = import_flow(damaged, filename=source.name)
            except DomainError:
                outcomes["rejected"] += 1
                continue
            json.dumps(result.to_dict(), allow_nan=False)
            outcomes["imported"] += 1
    assert outcomes["imported"] > outcomes["rejected"], outcomes


@pytest.mark.parametrize(
    "document",
    [
        {
            "data": {
                "nodes": [{"id": 1, "data": {"type": ["ChatInput"], "node": "x"}}],
                "edges": [[], {"source": 2}],
            }
        },
        {"data": {"nodes": [{"data": {"type": "Agent", "node": {"template": []}}}], "edges": None}},
        {"nodes": [{"type": {"x": 1}, "name": 3}], "connections": {"3": {"main": [[{"node": None}]]}}},
        {"nodes": [{"type": "n8n-nodes-base.set", "name": "A"}], "connections": {"A": {"main": "x"}}},
        {"openapi": 3.1, "info": "x", "paths": {"/a": {"get": [], "post": {"tags": "t"}}}, "servers": "s"},
        {"openapi": "3.0.0", "paths": {}, "components": {"securitySchemes": {"a": [], "b": {"type": None}}}},
        {"$schema": "https://static.modelcontextprotocol.io/schemas/x/server.schema.json", "packages": "p"},
        {
            "name": "s",
            "packages": [None, {"transport": "stdio"}],
            "remotes": [{"url": 5}, {"url": "http://[::1"}],
        },
        {"mcpServers": {"a": [], "b": {"command": "npx", "env": {"API_KEY": 5}}}},
    ],
)
def test_wrongly_typed_sections_do_not_crash(document: dict[str, Any]) -> None:
    try:
        result = import_flow(json.dumps(document))
    except DomainError:
        return
    json.dumps(result.to_dict(), allow_nan=False)


# --- report size ------------------------------------------------------------------------------------


def test_repeated_warnings_are_grouped_by_kind_with_a_count() -> None:
    nodes = [n8n_node("Start", "n8n-nodes-base.manualTrigger")]
    nodes += [n8n_node(f"n{i}", "n8n-nodes-acme.unknown") for i in range(MAX_WARNINGS + 100)]
    nodes.append(n8n_node("Last", "n8n-nodes-base.cron"))
    warnings = import_flow(json.dumps(n8n_workflow(*nodes))).warnings
    unknown = [w for w in warnings if w.message.startswith("unknown node type")]
    assert len(unknown) == WARNINGS_SHOWN_PER_KIND
    summary = next(w for w in warnings if "more warnings like this" in w.message)
    assert (summary.path, summary.message) == (
        "nodes",
        f"{MAX_WARNINGS + 100 - WARNINGS_SHOWN_PER_KIND} more warnings like this ({MAX_WARNINGS + 100} in all):"
        " unknown node type '…' imported as opaque step",
    )
    assert any(w.path == f"nodes[{MAX_WARNINGS + 101}].type" and "retired" in w.message for w in warnings)


def test_warnings_of_many_kinds_are_capped_with_a_count_of_the_rest() -> None:
    findings = Findings()
    for index in range(MAX_WARNINGS + 100):
        findings.warn(f"nodes[{index}]", f"problem kind {'x' * (index % 7)}{index}-{'y' * (index // 7)}")
    warnings = findings.warnings()
    assert len(warnings) == MAX_WARNINGS + 1
    assert (warnings[-1].path, warnings[-1].message) == ("warnings", "100 more warnings not shown")


def test_huge_keys_are_cut_short_in_warning_paths() -> None:
    spec = {
        "openapi": "3.0.0",
        "info": {"title": "Keys"},
        "paths": {"k" * 100_000: {"get": {"operationId": "a"}}},
    }
    warning = import_flow(json.dumps(spec)).warnings[0]
    assert warning.path.startswith('paths["kkk') and len(warning.path) < 200
