"""Choosing the format: from structure, from the caller, and what happens when they disagree."""

from __future__ import annotations

import json

import pytest

from cmp.errors import ValidationFailed
from cmp.flows import SUPPORTED_FORMATS, import_flow

pytestmark = pytest.mark.unit

LANGFLOW = json.dumps(
    {"name": "Flow", "data": {"nodes": [{"id": "ChatInput-a1b2c", "data": {"type": "ChatInput"}}]}}
)
N8N = json.dumps(
    {"name": "Wf", "nodes": [{"name": "Go", "type": "n8n-nodes-base.manualTrigger"}], "connections": {}}
)
OPENAPI_YAML = "openapi: 3.1.0\ninfo: {title: Tiny}\npaths:\n  /a: {get: {operationId: getA}}\n"
MCP_TOOLS = json.dumps({"tools": [{"name": "echo", "inputSchema": {}}]})


def test_the_four_formats_are_supported() -> None:
    assert SUPPORTED_FORMATS == ("langflow", "n8n", "openapi", "mcp")


@pytest.mark.parametrize(
    ("content", "expected"),
    [(LANGFLOW, "langflow"), (N8N, "n8n"), (OPENAPI_YAML, "openapi"), (MCP_TOOLS, "mcp")],
)
def test_formats_are_recognised_from_structure(content: str, expected: str) -> None:
    assert import_flow(content).format == expected
    assert import_flow(content.encode()).format == expected


@pytest.mark.parametrize("source_format", ["openapi", "OpenAPI", " openapi "])
def test_a_chosen_format_is_case_and_space_insensitive(source_format: str) -> None:
    assert import_flow(OPENAPI_YAML, source_format).format == "openapi"


@pytest.mark.parametrize("source_format", [None, ""])
def test_no_format_or_a_blank_one_means_detect(source_format: str | None) -> None:
    assert import_flow(N8N, source_format).format == "n8n"


@pytest.mark.parametrize("source_format", ["zapier", "json", "langflow2", "x" * 500])
def test_an_unknown_format_is_rejected_listing_the_supported_ones(source_format: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        import_flow(N8N, source_format)
    error = caught.value.errors[0]
    assert error.path == "format"
    assert "langflow, n8n, openapi, mcp" in error.message
    assert len(error.message) < 200


def test_a_chosen_format_that_contradicts_the_document_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        import_flow(N8N, "langflow")
    assert caught.value.errors[0].path == "format"
    assert "'n8n'" in caught.value.errors[0].message


def test_a_chosen_format_is_trusted_when_the_document_matches_nothing() -> None:
    with pytest.raises(ValidationFailed) as caught:
        import_flow(json.dumps({"nodes": "oops"}), "n8n")
    assert [e.path for e in caught.value.errors] == ["nodes"]


def test_a_yaml_file_name_reads_json_looking_yaml_as_yaml() -> None:
    flow_yaml = "{openapi: 3.0.0, info: {title: Flow style}, paths: {}}"
    assert import_flow(flow_yaml, filename="spec.yaml").name == "Flow style"


def test_a_json_document_named_yaml_still_imports() -> None:
    assert import_flow(MCP_TOOLS, filename="tools.yml").format == "mcp"


def test_the_file_name_breaks_ties_between_matching_formats() -> None:
    langflow_nodes = {"nodes": [{"id": "ChatInput-a1b2c", "data": {"type": "ChatInput"}}]}
    both = json.dumps({**json.loads(N8N), "data": langflow_nodes})
    assert import_flow(both, filename="support-n8n-export.json").format == "n8n"
    assert import_flow(both).format == "langflow"


def test_a_file_name_that_is_not_text_is_ignored() -> None:
    assert import_flow(MCP_TOOLS, filename=123).format == "mcp"  # type: ignore[arg-type]


@pytest.mark.parametrize("source_format", ["langflow", "n8n", "openapi"])
def test_a_bare_array_for_an_object_format_is_rejected_at_the_root(source_format: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        import_flow("[1, 2, 3]", source_format)
    assert [e.path for e in caught.value.errors] == ["content"]
