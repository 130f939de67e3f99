"""MCP: server.json (all registry schema spellings), tools lists and client configs become MCP tool apps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cmp.errors import ValidationFailed
from cmp.flows import ImportResult, detect_format, import_flow

pytestmark = pytest.mark.unit

SCHEMA = "https://static.modelcontextprotocol.io/schemas/2025-09-29/server.schema.json"


def imported(document: object, filename: str | None = None) -> ImportResult:
    return import_flow(json.dumps(document), filename=filename)


def warnings_of(result: ImportResult) -> dict[str, str]:
    return {warning.path: warning.message for warning in result.warnings}


def dependencies(result: ImportResult) -> dict[str, Any]:
    found: dict[str, Any] = result.proposed_capabilities["runtime"]["dependencies"]
    return found


def test_a_server_json_is_an_mcp_tool_app() -> None:
    server = {
        "$schema": SCHEMA,
        "name": "io.github.acme/weather",
        "title": "Weather",
        "description": "Forecasts over MCP",
        "version": "1.2.0",
        "packages": [{"registryType": "pypi", "identifier": "acme-weather", "transport": {"type": "stdio"}}],
    }
    result = imported(server)
    proposal = result.proposed_capabilities
    assert (proposal["category"], proposal["subcategory"]) == ("app", {"app": "tool"})
    assert proposal["interfaces"]["api"] == {"enabled": True, "protocols": ["mcp"]}
    assert dependencies(result) == {"mcpServers": ["io.github.acme/weather"]}
    assert (result.name, result.description, result.format_version) == (
        "Weather",
        "Forecasts over MCP",
        "server.json 2025-09-29",
    )
    assert result.components == [
        {
            "id": "packages[0]",
            "type": "package",
            "name": "acme-weather",
            "registryType": "pypi",
            "transport": "stdio",
        }
    ]
    assert result.warnings == []


def test_the_old_snake_case_registry_schema_is_read() -> None:
    server = {
        "name": "io.github.acme/legacy",
        "version_detail": {"version": "0.1.0"},
        "packages": [{"registry_name": "npm", "name": "@acme/legacy", "version": "0.1.0"}],
    }
    result = imported(server)
    assert result.components[0] == {
        "id": "packages[0]",
        "type": "package",
        "name": "@acme/legacy",
        "registryType": "npm",
        "transport": "stdio",
    }
    assert result.format_version == "server.json"
    assert result.name == "legacy"
    assert "$schema" in warnings_of(result)


def test_a_registry_api_response_is_unwrapped() -> None:
    response = {
        "server": {
            "name": "io.github.acme/remote",
            "remotes": [{"type": "sse", "url": "https://mcp.acme.dev/sse"}],
        },
        "_meta": {"io.modelcontextprotocol.registry/official": {"status": "active"}},
    }
    result = imported(response)
    assert result.components == [
        {"id": "remotes[0]", "type": "remote", "name": "https://mcp.acme.dev/sse", "transport": "sse"}
    ]
    assert dependencies(result)["services"] == ["mcp.acme.dev"]
    assert "server.$schema" in warnings_of(result)


def test_secret_headers_and_variables_propose_api_keys_and_secrets() -> None:
    server = {
        "$schema": SCHEMA,
        "name": "io.github.acme/secure",
        "packages": [
            {
                "registryType": "oci",
                "identifier": "ghcr.io/acme/secure:1",
                "environmentVariables": [{"name": "ACME_TOKEN", "isSecret": True}],
            }
        ],
        "remotes": [
            {
                "type": "streamable-http",
                "url": "https://acme.dev/mcp",
                "headers": [{"name": "Authorization", "isSecret": True}],
            }
        ],
    }
    proposal = imported(server).proposed_capabilities
    assert proposal["interfaces"]["api"]["authentication"] == ["api_key"]
    assert proposal["configuration"]["workflow"]["options"]["secrets"] is True


def test_unknown_registries_and_transports_are_warned_about() -> None:
    server = {
        "$schema": SCHEMA,
        "name": "io.github.acme/odd",
        "packages": [{"registryType": "cargo", "identifier": "odd", "transport": {"type": "carrier-pigeon"}}],
    }
    assert set(warnings_of(imported(server))) == {"packages[0].registryType", "packages[0].transport.type"}


def test_a_server_with_no_way_to_run_it_is_warned_about() -> None:
    result = imported({"$schema": SCHEMA, "name": "io.github.acme/empty"})
    assert warnings_of(result) == {
        "packages": "no packages and no remotes; CMP cannot tell how to run this server"
    }


def test_a_tools_list_lists_every_tool_with_its_inputs() -> None:
    tools = {
        "tools": [
            {
                "name": "get_weather",
                "title": "Get weather",
                "description": "Current weather",
                "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
            {"name": "ping", "inputSchema": {"type": "object"}},
        ]
    }
    result = imported(tools, filename="weather.tools.json")
    assert result.format_version == "tools/list"
    assert result.components == [
        {
            "id": "get_weather",
            "type": "tool",
            "name": "Get weather",
            "description": "Current weather",
            "inputs": ["city"],
        },
        {"id": "ping", "type": "tool", "name": "ping", "inputs": []},
    ]
    assert result.name == "Weather"


def test_a_json_rpc_tools_list_response_is_read() -> None:
    response = {"jsonrpc": "2.0", "id": 1, "result": {"tools": [{"name": "echo", "inputSchema": {}}]}}
    result = imported(response)
    assert [c["id"] for c in result.components] == ["echo"]
    assert result.flow_definition == response


def test_a_bare_array_of_tools_is_stored_under_tools() -> None:
    tools = [{"name": "acme.search", "inputSchema": {}}, {"name": "acme.fetch", "inputSchema": {}}]
    result = imported(tools)
    assert result.flow_definition == {"tools": tools}
    assert result.name == "Acme"
    assert warnings_of(result) == {"name": "missing; named 'Acme' after the tools' common prefix"}


def test_damaged_tools_are_skipped_with_precise_warnings() -> None:
    tools = {
        "tools": [
            {"name": "ok", "inputSchema": {}},
            "junk",
            {"inputSchema": {}},
            {"name": "ok"},
            {"name": "raw"},
        ]
    }
    result = imported(tools, filename="t.json")
    assert [c["id"] for c in result.components] == ["ok", "raw"]
    assert set(warnings_of(result)) == {
        "tools[1]",
        "tools[2].name",
        "tools[3].name",
        "tools[4].inputSchema",
        "name",
    }


def test_a_tools_list_with_no_usable_tool_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        imported({"tools": [{"description": "nameless"}]})
    assert caught.value.errors[0].path == "tools"


def test_a_client_config_lists_its_servers() -> None:
    config = {
        "mcpServers": {
            "github": {"command": "docker", "args": ["run", "ghcr.io/github/github-mcp-server"]},
            "docs": {"url": "https://docs.example.com/mcp", "type": "http"},
        }
    }
    result = imported(config, filename="claude_desktop_config.json")
    assert result.format_version == "mcpServers config"
    assert dependencies(result) == {"mcpServers": ["github", "docs"]}
    assert [c["transport"] for c in result.components] == ["stdio", "http"]


def test_real_secrets_in_a_client_config_are_flagged_and_placeholders_are_not() -> None:
    config = {
        "mcpServers": {
            "github": {
                "command": "npx",
                "env": {
                    "GITHUB_TOKEN": "ghp_realLookingValue123",
                    "API_KEY": "${API_KEY}",
                    "LOG_LEVEL": "debug",
                },
            }
        }
    }
    result = imported(config)
    assert set(warnings_of(result)) == {"mcpServers.github.env.GITHUB_TOKEN"}
    assert result.name == "github"


ARGUMENT_TOOLS = [
    {
        "name": "search",
        "description": "Search",
        "arguments": [{"name": "query", "type": "string", "desc": "q"}],
    },
    {"name": "fetch", "arguments": [{"name": "url", "type": "string"}, {"type": "nameless"}]},
]


def test_a_bare_array_of_tools_with_arguments_lists_is_detected_and_read_alike() -> None:
    assert detect_format(ARGUMENT_TOOLS) == "mcp"
    detected = imported(ARGUMENT_TOOLS, filename="acme.tools.json")
    chosen = import_flow(json.dumps(ARGUMENT_TOOLS), "mcp", filename="acme.tools.json")
    assert detected == chosen
    assert [(c["id"], c["inputs"]) for c in detected.components] == [
        ("search", ["query"]),
        ("fetch", ["url"]),
    ]
    assert "tools[0].inputSchema" not in warnings_of(detected)


@pytest.mark.parametrize("document", [[{"name": "x"}], [{"title": "t", "inputSchema": {}}], [1, 2]])
def test_an_array_that_is_not_a_tools_list_is_refused_by_detection_and_reader_alike(document: object) -> None:
    assert detect_format(document) is None
    for source_format in (None, "mcp"):
        with pytest.raises(ValidationFailed) as caught:
            import_flow(json.dumps(document), source_format)
        assert [e.path for e in caught.value.errors] == ["format" if source_format is None else "content"]


def test_a_single_tool_object_is_imported_as_a_one_tool_list() -> None:
    tool = {"name": "get_weather", "description": "Weather now", "inputSchema": {"properties": {"city": {}}}}
    result = imported(tool, filename="weather.json")
    assert result.flow_definition == {"tools": [tool]}
    assert result.components == [
        {
            "id": "get_weather",
            "type": "tool",
            "name": "get_weather",
            "description": "Weather now",
            "inputs": ["city"],
        }
    ]


def test_template_placeholders_in_a_server_json_are_not_the_products_name() -> None:
    server = {
        "$schema": "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json",
        "name": "io.github.<owner>/<server-name>",
        "packages": [{"registryType": "npm", "identifier": "acme-mcp"}],
    }
    result = imported(server, filename="acme-mcp.server.json")
    assert result.name == "Acme mcp"
    assert warnings_of(result)["name"].startswith(
        "'io.github.<owner>/<server-name>' is a template placeholder"
    )
    assert dependencies(result)["mcpServers"] == ["Acme mcp"]


def test_secrets_shaped_like_keys_in_client_config_arguments_are_flagged() -> None:
    config = {"mcpServers": {"acme": {"command": "npx", "args": ["acme-mcp", "--token", "ghp_" + "a1" * 20]}}}
    result = imported(config)
    assert warnings_of(result)["mcpServers.acme.args[2]"].startswith(
        "holds what looks like a GitHub token (ghp_… ("
    )
