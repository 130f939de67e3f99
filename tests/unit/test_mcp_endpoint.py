"""`cmp.mcp_endpoint`: one MCP POST in stateless JSON mode, served by the `mcp` package with the two tools."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cmp.errors import Forbidden
from cmp.mcp_endpoint import AgentTools, McpReply, handle

pytestmark = pytest.mark.unit

HEADERS = {
    "content-type": "application/json",
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-06-18",
}


def _tools(calls: list[tuple[str, tuple[Any, ...]]]) -> AgentTools:
    def ask(question: str, session_id: str | None, language: str | None) -> dict[str, Any]:
        calls.append(("ask", (question, session_id, language)))
        return {"answer": "Puede devolverlo en 30 días.", "language": "es", "citations": [{"index": 1}]}

    def search(query: str, top_k: int, method: str) -> dict[str, Any]:
        calls.append(("search", (query, top_k, method)))
        raise Forbidden("this call needs the scope knowledge:read")

    return AgentTools(ask=ask, search=search)


def _post(message: dict[str, Any], tools: AgentTools, headers: dict[str, str] = HEADERS) -> McpReply:
    return handle(json.dumps(message).encode(), headers, tools)


def test_initialize_and_list_the_two_tools() -> None:
    tools = _tools([])
    init = _post(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        tools,
    )
    assert init.status == 200 and init.headers["content-type"].startswith("application/json")
    assert json.loads(init.body)["result"]["serverInfo"]["name"] == "cmp-agent"
    listed = json.loads(_post({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, tools).body)
    names = {tool["name"]: tool for tool in listed["result"]["tools"]}
    assert sorted(names) == ["ask", "search"]
    assert names["ask"]["inputSchema"]["required"] == ["question"]
    assert set(names["search"]["inputSchema"]["properties"]) == {"query", "top_k", "method"}


def test_ask_passes_its_arguments_and_returns_the_answer_as_structured_content() -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = []
    reply = _post(
        {
            "jsonrpc": "2.0",
            "id": 3,
            "method": "tools/call",
            "params": {"name": "ask", "arguments": {"question": "¿Devoluciones?", "language": "es"}},
        },
        _tools(calls),
    )
    result = json.loads(reply.body)["result"]
    assert result["isError"] is False
    assert result["structuredContent"]["answer"] == "Puede devolverlo en 30 días."
    assert calls == [("ask", ("¿Devoluciones?", None, "es"))]


def test_a_domain_error_in_a_tool_is_a_tool_error_naming_the_reason() -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = []
    reply = _post(
        {
            "jsonrpc": "2.0",
            "id": 4,
            "method": "tools/call",
            "params": {"name": "search", "arguments": {"query": "x"}},
        },
        _tools(calls),
    )
    result = json.loads(reply.body)["result"]
    assert result["isError"] is True
    assert "forbidden: this call needs the scope knowledge:read" in result["content"][0]["text"]
    assert calls == [("search", ("x", 5, "hybrid"))]


def test_a_client_that_does_not_accept_json_gets_406() -> None:
    reply = _post(
        {"jsonrpc": "2.0", "id": 5, "method": "tools/list"}, _tools([]), {**HEADERS, "accept": "text/html"}
    )
    assert reply.status == 406


def test_arguments_of_the_wrong_type_are_named_without_pydantic_text() -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = []
    reply = _post(
        {
            "jsonrpc": "2.0",
            "id": 6,
            "method": "tools/call",
            "params": {"name": "search", "arguments": {"query": "x", "top_k": "many", "method": "fuzzy"}},
        },
        _tools(calls),
    )
    result = json.loads(reply.body)["result"]
    text = result["content"][0]["text"]
    assert result["isError"] is True
    assert text.startswith("validation_failed: ")
    assert "top_k: Input should be a valid integer" in text and "method: Input should be" in text
    assert "pydantic" not in text and "https://" not in text and "many" not in text
    assert calls == []


def _call(name: str, arguments: dict[str, Any], calls: list[tuple[str, tuple[Any, ...]]]) -> dict[str, Any]:
    reply = _post(
        {"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": name, "arguments": arguments}},
        _tools(calls),
    )
    return dict(json.loads(reply.body)["result"])


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("search", {}, "validation_failed: query: Field required"),
        ("search", {"query": 42}, "validation_failed: query: Input should be a valid string"),
        ("search", {"query": "  "}, "validation_failed: query: must not be blank (it is only whitespace)"),
        (
            "search",
            {"query": "x" * 1001},
            "validation_failed: query: String should have at most 1000 characters",
        ),
        (
            "search",
            {"query": "x", "top_k": True},
            "validation_failed: top_k: Input should be a valid integer",
        ),
        (
            "search",
            {"query": "x", "top_k": 21},
            "validation_failed: top_k: Input should be less than or equal to",
        ),
        ("ask", {"question": ""}, "validation_failed: question: must not be empty"),
        ("ask", {"question": "x" * 4001}, "validation_failed: question: String should have at most 4000"),
        ("ask", {"question": "hola", "language": "klingon"}, "validation_failed: language: "),
    ],
)
def test_tool_arguments_are_held_to_the_rest_routes_limits(
    name: str, arguments: dict[str, Any], expected: str
) -> None:
    calls: list[tuple[str, tuple[Any, ...]]] = []
    result = _call(name, arguments, calls)
    assert result["isError"] is True and result["content"][0]["text"].startswith(expected), result
    assert calls == []


def test_the_input_schema_states_the_limits() -> None:
    listed = json.loads(_post({"jsonrpc": "2.0", "id": 8, "method": "tools/list"}, _tools([])).body)
    tools = {tool["name"]: tool["inputSchema"]["properties"] for tool in listed["result"]["tools"]}
    assert (tools["search"]["top_k"]["minimum"], tools["search"]["top_k"]["maximum"]) == (1, 20)
    assert tools["search"]["query"]["maxLength"] == 1000 and tools["ask"]["question"]["maxLength"] == 4000


def test_a_refusal_inside_a_tool_has_no_package_prefix() -> None:
    result = _call("search", {"query": "x"}, [])
    assert result["content"][0]["text"] == "forbidden: this call needs the scope knowledge:read"
