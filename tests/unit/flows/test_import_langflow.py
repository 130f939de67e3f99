"""Langflow: what each kind of component proposes, and how unknown or damaged nodes are reported."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cmp.errors import ValidationFailed
from cmp.flows import ImportResult, import_flow

pytestmark = pytest.mark.unit


def node(node_id: str, component_type: str | None = None, **inner: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"id": node_id, "node": {"display_name": node_id.split("-")[0], **inner}}
    if component_type is not None:
        data["type"] = component_type
    return {"id": node_id, "type": "genericNode", "data": data}


def edge(source: str, target: str, field_name: str = "input_value") -> dict[str, Any]:
    return {
        "source": source,
        "target": target,
        "data": {"targetHandle": {"fieldName": field_name, "id": target}},
    }


def flow(*nodes: dict[str, Any], edges: list[object] | None = None, **top: Any) -> ImportResult:
    document = {
        "name": "Test flow",
        "last_tested_version": "1.4.1",
        "data": {"nodes": list(nodes), "edges": edges or []},
    }
    document.update(top)
    return import_flow(json.dumps(document))


def chat(*middle: dict[str, Any], edges: list[object] | None = None) -> ImportResult:
    return flow(
        node("ChatInput-aaaaa", "ChatInput"), *middle, node("ChatOutput-bbbbb", "ChatOutput"), edges=edges
    )


def warnings_of(result: ImportResult) -> dict[str, str]:
    return {warning.path: warning.message for warning in result.warnings}


def test_chat_input_and_output_make_a_single_agent_with_chat() -> None:
    result = chat(node("OpenAIModel-ccccc", "OpenAIModel", template={"model_name": {"value": "gpt-4o"}}))
    proposal = result.proposed_capabilities
    assert (proposal["category"], proposal["subcategory"]) == ("agent", {"agent": "single"})
    assert proposal["interfaces"]["chat"] == {
        "enabled": True,
        "modes": ["text"],
        "features": {"multiTurn": False},
    }
    assert proposal["runtime"]["dependencies"]["models"] == ["gpt-4o"]
    assert result.format_version == "1.4.1"
    assert result.warnings == []


@pytest.mark.parametrize(
    "component_type",
    ["Chroma", "Qdrant", "AstraDB", "PGVector", "pgvector", "FAISS", "Pinecone", "MyVectorStore"],
)
def test_vector_stores_propose_rag_with_documents(component_type: str) -> None:
    rag = chat(node("Store-ddddd", component_type)).proposed_capabilities["configuration"]["rag"]
    assert rag == {"enabled": True, "sources": {"documents": True}, "retrieval": {"method": "vector"}}


@pytest.mark.parametrize(
    ("component_type", "base_classes"),
    [("SelfQueryRetriever", []), ("CompanyKnowledge", ["Retriever"]), ("InHouseIndex", ["VectorStore"])],
)
def test_retrievers_are_recognised_by_name_or_interface(component_type: str, base_classes: list[str]) -> None:
    result = chat(node("Thing-eeeee", component_type, base_classes=base_classes))
    assert result.proposed_capabilities["configuration"]["rag"]["enabled"] is True
    assert result.warnings == []


def test_memory_makes_the_chat_multi_turn() -> None:
    result = chat(node("Memory-fffff", "Memory"))
    assert result.proposed_capabilities["interfaces"]["chat"]["features"]["multiTurn"] is True


def test_an_agent_with_chat_history_is_multi_turn() -> None:
    agent = node(
        "Agent-ggggg", "Agent", template={"n_messages": {"value": 100}, "model_name": {"value": "gpt-4.1"}}
    )
    assert chat(agent).proposed_capabilities["interfaces"]["chat"]["features"]["multiTurn"] is True


def test_two_agents_make_a_multi_agent_product() -> None:
    result = chat(node("Agent-hhhhh", "Agent"), node("Agent-iiiii", "Agent"))
    assert result.proposed_capabilities["subcategory"] == {"agent": "multi"}


def test_loaders_wired_into_the_flow_propose_rag_sources() -> None:
    result = chat(node("File-jjjjj", "File"), node("URL-kkkkk", "URL"))
    assert result.proposed_capabilities["configuration"]["rag"]["sources"] == {
        "documents": True,
        "websites": True,
    }


def test_loaders_wired_as_agent_tools_are_tools_not_rag_sources() -> None:
    result = chat(
        node("URL-kkkkk", "URL", tool_mode=True),
        node("Agent-lllll", "Agent"),
        edges=[edge("URL-kkkkk", "Agent-lllll", "tools")],
    )
    assert "configuration" not in result.proposed_capabilities
    assert {c["id"]: c["role"] for c in result.components}["URL-kkkkk"] == "tool"


def test_routers_and_loops_are_noted_as_flow_features() -> None:
    result = chat(
        node("ConditionalRouter-mmmmm", "ConditionalRouter"), node("LoopComponent-nnnnn", "LoopComponent")
    )
    flow_features = result.proposed_capabilities["configuration"]["workflowAdvanced"]["flow"]
    assert flow_features == {"conditionals": True, "loops": True}


def test_a_webhook_flow_without_chat_is_a_triggered_automation() -> None:
    result = flow(node("Webhook-ooooo", "Webhook"), node("OpenAIModel-ppppp", "OpenAIModel"))
    proposal = result.proposed_capabilities
    assert (proposal["category"], proposal["subcategory"]) == ("automation", {"automation": "triggered"})
    assert proposal["configuration"]["workflowAdvanced"]["triggers"] == {"webhook": True}
    assert proposal["configuration"]["workflowAdvanced"]["actions"] == {"ai": True}
    assert proposal["interfaces"]["api"] == {"enabled": True, "protocols": ["rest"]}


def test_mcp_tool_components_become_mcp_server_dependencies() -> None:
    result = chat(
        node("MCPSse-qqqqq", "MCPSse", template={"sse_url": {"value": "https://mcp.example.com/sse"}})
    )
    assert result.proposed_capabilities["runtime"]["dependencies"]["mcpServers"] == [
        "https://mcp.example.com/sse"
    ]


def test_langflow_0_6_style_components_are_classified_by_their_interfaces() -> None:
    result = flow(
        node("ChatOpenAI-aaaaa", "ChatOpenAI", base_classes=["BaseChatModel", "BaseLanguageModel"]),
        node("ConversationBufferMemory-bbbbb", "ConversationBufferMemory", base_classes=["BaseChatMemory"]),
        node("Chroma-ccccc", "Chroma", base_classes=["VectorStore"]),
        node("PyPDFLoader-ddddd", "PyPDFLoader", base_classes=["Document"]),
    )
    roles = [c["role"] for c in result.components]
    assert roles == ["model", "memory", "vector_store", "document_loader"]
    assert list(warnings_of(result)) == ["data.nodes[1]"]
    assert "multiTurn is not proposed" in warnings_of(result)["data.nodes[1]"]


def test_unknown_components_are_imported_as_opaque_steps_with_a_warning() -> None:
    result = chat(node("CustomFooNode-zzzzz", "CustomFooNode"))
    assert warnings_of(result) == {
        "data.nodes[1].data.type": "unknown component type 'CustomFooNode' imported as opaque step"
    }
    assert {c["id"]: c["role"] for c in result.components}["CustomFooNode-zzzzz"] == "opaque"
    assert result.proposed_capabilities["category"] == "agent"


def test_custom_code_components_are_flagged() -> None:
    result = chat(node("CustomComponent-yyyyy", "CustomComponent"))
    assert "runs custom Python code" in warnings_of(result)["data.nodes[1].data.type"]
    assert result.proposed_capabilities["configuration"]["workflowAdvanced"]["actions"] == {"code": True}


def test_edited_component_code_is_flagged() -> None:
    result = chat(node("OpenAIModel-xxxxx", "OpenAIModel", edited=True))
    assert "data.nodes[1].data.node.edited" in warnings_of(result)


def test_missing_type_is_inferred_from_the_generated_id() -> None:
    result = flow(node("ChatInput-abcde"))
    assert warnings_of(result) == {
        "data.nodes[0].data.type": "missing; inferred 'ChatInput' from the node id"
    }
    assert result.components[0]["type"] == "ChatInput"


def test_missing_ids_and_names_are_filled_in_with_warnings() -> None:
    document = {"data": {"nodes": [{"data": {"type": "ChatInput"}}], "edges": []}}
    result = import_flow(json.dumps(document), filename="support-bot.json")
    warned = warnings_of(result)
    assert warned["data.nodes[0].id"] == "missing; referred to as 'node-0'"
    assert warned["name"] == "missing; named 'Support bot' after the file name"
    assert result.name == "Support bot"
    assert result.components == [
        {"id": "node-0", "type": "ChatInput", "name": "ChatInput", "role": "chat_input"}
    ]


def test_edges_to_unknown_nodes_are_reported() -> None:
    result = chat(edges=[edge("ChatInput-aaaaa", "Ghost-00000"), {"target": "ChatOutput-bbbbb"}, "nonsense"])
    assert warnings_of(result) == {
        "data.edges[0].target": "no node with id 'Ghost-00000'; edge skipped",
        "data.edges[1].source": "missing; edge skipped",
        "data.edges[2]": "expected an edge object, got string; skipped",
    }


def test_notes_are_neither_components_nor_warnings() -> None:
    note = {"id": "undefined-kVLkG", "type": "noteNode", "data": {"node": {"description": "Read me"}}}
    result = chat(note)
    assert [c["role"] for c in result.components] == ["chat_input", "chat_output"]
    assert result.warnings == []


def test_group_nodes_are_read_through() -> None:
    inner_flow = {"data": {"nodes": [node("Chroma-inner", "Chroma")], "edges": []}}
    group = {"id": "Group-1", "data": {"type": "GroupNode", "node": {"flow": inner_flow}}}
    result = chat(group)
    assert [c["id"] for c in result.components] == ["ChatInput-aaaaa", "ChatOutput-bbbbb", "Chroma-inner"]
    assert result.proposed_capabilities["configuration"]["rag"]["enabled"] is True


def test_a_graph_at_the_top_level_is_read_with_a_warning() -> None:
    document = {"name": "Flat", "nodes": [node("ChatInput-aaaaa", "ChatInput")], "edges": []}
    result = import_flow(json.dumps(document), "langflow")
    assert "data" in warnings_of(result)
    assert result.proposed_capabilities["category"] == "agent"


def test_a_flow_of_only_notes_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        flow({"id": "note-1", "type": "noteNode", "data": {"type": "note"}})
    assert caught.value.errors[0].path == "data.nodes"


def test_exported_single_components_are_flagged() -> None:
    assert "is_component" in warnings_of(flow(node("ChatInput-a1b2c", "ChatInput"), is_component=True))


def test_old_group_nodes_that_keep_their_own_type_are_read_through() -> None:
    inner = {
        "data": {
            "nodes": [
                node(
                    "ChatOpenAI-inner",
                    "ChatOpenAI",
                    base_classes=["BaseChatModel"],
                    template={"model_name": {"value": "gpt-3.5-turbo"}},
                )
            ],
            "edges": [],
        }
    }
    group = node("ConversationChain-grp01", "ConversationChain", flow=inner)
    result = chat(group, edges=[edge("ChatInput-aaaaa", "ConversationChain-grp01")])
    assert [c["id"] for c in result.components] == ["ChatInput-aaaaa", "ChatOutput-bbbbb", "ChatOpenAI-inner"]
    assert result.proposed_capabilities["runtime"]["dependencies"]["models"] == ["gpt-3.5-turbo"]
    assert result.warnings == []


MCP_SERVER_ARGS = ["-y", "@acme/mcp", "--api-key", "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"]


def mcp_component(component_type: str = "MCP") -> dict[str, Any]:
    server = {"name": "acme-search", "config": {"command": "npx", "args": MCP_SERVER_ARGS}}
    return node("MCP-ccccc", component_type, template={"mcp_server": {"value": server}})


@pytest.mark.parametrize("component_type", ["MCP", "MCPTools"])
def test_the_mcp_component_proposes_its_server(component_type: str) -> None:
    result = chat(mcp_component(component_type))
    assert {c["id"]: c["role"] for c in result.components}["MCP-ccccc"] == "mcp_client"
    assert result.proposed_capabilities["runtime"]["dependencies"]["mcpServers"] == ["acme-search"]


def test_a_secret_in_a_component_configuration_is_flagged_without_echoing_it() -> None:
    result = chat(mcp_component())
    path = "data.nodes[1].data.node.template.mcp_server.value.config.args[3]"
    message = warnings_of(result)[path]
    assert message.startswith("holds what looks like an OpenAI-style API key (sk-p… (44 characters))")
    assert MCP_SERVER_ARGS[3] not in json.dumps(result.to_dict()["warnings"])


def test_a_typed_in_password_field_is_flagged_but_a_variable_is_not() -> None:
    template = {
        "api_key": {"password": True, "load_from_db": False, "value": "my-own-key"},
        "other_key": {"password": True, "load_from_db": True, "value": "OPENAI_API_KEY"},
    }
    result = chat(node("OpenAIModel-ccccc", "OpenAIModel", template=template))
    assert list(warnings_of(result)) == ["data.nodes[1].data.node.template.api_key.value"]


def test_the_model_components_provider_is_a_service_dependency() -> None:
    template = {"provider": {"value": "Anthropic"}, "model_name": {"value": "claude-sonnet-4"}}
    result = chat(node("LanguageModelComponent-ccccc", "LanguageModelComponent", template=template))
    dependencies = result.proposed_capabilities["runtime"]["dependencies"]
    assert dependencies == {"models": ["claude-sonnet-4"], "services": ["anthropic"]}
