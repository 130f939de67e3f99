"""n8n: triggers decide the automation kind, nodes decide the actions, old exports still import."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cmp.errors import ValidationFailed
from cmp.flows import ImportResult, import_flow

pytestmark = pytest.mark.unit

BASE = "n8n-nodes-base"
LANGCHAIN = "@n8n/n8n-nodes-langchain"


def node(name: str, node_type: str, **extra: Any) -> dict[str, Any]:
    return {"id": f"id-{name}", "name": name, "type": node_type, "typeVersion": 1, "parameters": {}, **extra}


def workflow(*nodes: dict[str, Any], connections: object = None, **top: Any) -> ImportResult:
    document: dict[str, Any] = {
        "name": "Test workflow",
        "nodes": list(nodes),
        "connections": connections or {},
    }
    document.update(top)
    return import_flow(json.dumps(document))


def advanced(result: ImportResult) -> dict[str, Any]:
    workflow_advanced: dict[str, Any] = result.proposed_capabilities["configuration"]["workflowAdvanced"]
    return workflow_advanced


def kind(result: ImportResult) -> tuple[str, str]:
    proposal = result.proposed_capabilities
    return proposal["category"], proposal["subcategory"][proposal["category"]]


def warnings_of(result: ImportResult) -> dict[str, str]:
    """Warnings by path; several warnings on one path are joined with ' | '."""
    joined: dict[str, str] = {}
    for warning in result.warnings:
        joined[warning.path] = (
            f"{joined[warning.path]} | {warning.message}" if warning.path in joined else warning.message
        )
    return joined


def test_schedule_trigger_makes_a_scheduled_automation() -> None:
    result = workflow(node("Every day", f"{BASE}.scheduleTrigger"), node("Fetch", f"{BASE}.httpRequest"))
    assert kind(result) == ("automation", "scheduled")
    assert advanced(result)["triggers"] == {"schedule": True}
    assert advanced(result)["actions"] == {"http": True}
    assert result.format_version == "current"


def test_legacy_cron_export_is_detected_and_still_scheduled() -> None:
    legacy = [{"name": "Cron", "type": f"{BASE}.cron", "typeVersion": 1, "parameters": {}}]
    result = import_flow(json.dumps({"nodes": legacy, "connections": {}}))
    assert result.format_version == "legacy"
    assert kind(result) == ("automation", "scheduled")
    assert advanced(result)["triggers"] == {"schedule": True}
    assert "retired in n8n 1.0" in warnings_of(result)["nodes[0].type"]
    assert "nodes[0].id" not in warnings_of(result)


def test_webhook_makes_a_triggered_automation_with_a_rest_api() -> None:
    result = workflow(node("Hook", f"{BASE}.webhook"), node("Reply", f"{BASE}.respondToWebhook"))
    assert kind(result) == ("automation", "triggered")
    assert advanced(result)["triggers"] == {"webhook": True}
    assert result.proposed_capabilities["interfaces"]["api"] == {"enabled": True, "protocols": ["rest"]}


def test_schedule_and_event_triggers_make_a_hybrid_automation() -> None:
    result = workflow(node("Cron", f"{BASE}.scheduleTrigger"), node("On message", f"{BASE}.slackTrigger"))
    assert kind(result) == ("automation", "hybrid")
    assert advanced(result)["triggers"] == {"schedule": True, "event": True}
    assert result.proposed_capabilities["interfaces"]["integrations"] == {
        "enabled": True,
        "platforms": ["slack"],
    }


def test_manual_trigger_only_is_a_plain_workflow() -> None:
    result = workflow(node("Run", f"{BASE}.manualTrigger"))
    assert kind(result) == ("automation", "workflow")
    assert advanced(result)["triggers"] == {"manual": True}


@pytest.mark.parametrize(
    ("node_type", "section", "feature"),
    [
        ("if", "flow", "conditionals"),
        ("switch", "flow", "conditionals"),
        ("merge", "flow", "conditionals"),
        ("splitInBatches", "flow", "loops"),
        ("executeWorkflow", "flow", "subWorkflows"),
        ("errorTrigger", "flow", "errorHandling"),
        ("httpRequest", "actions", "http"),
        ("postgres", "actions", "database"),
        ("awsS3", "actions", "storage"),
        ("set", "actions", "transform"),
        ("telegram", "actions", "messaging"),
        ("wait", "data", "statePersistence"),
    ],
)
def test_node_types_map_to_workflow_features(node_type: str, section: str, feature: str) -> None:
    result = workflow(node("Start", f"{BASE}.manualTrigger"), node("Step", f"{BASE}.{node_type}"))
    assert advanced(result)[section][feature] is True


@pytest.mark.parametrize("node_type", [f"{BASE}.code", f"{BASE}.function", f"{BASE}.executeCommand"])
def test_code_nodes_propose_code_actions_and_warn_about_the_runtime(node_type: str) -> None:
    result = workflow(node("Start", f"{BASE}.manualTrigger"), node("Script", node_type))
    assert advanced(result)["actions"]["code"] is True
    assert "dedicated runtime" in warnings_of(result)["nodes[1].type"]


@pytest.mark.parametrize(
    "node_type",
    [f"{LANGCHAIN}.agent", f"{LANGCHAIN}.chainLlm", f"{LANGCHAIN}.lmChatAnthropic", f"{LANGCHAIN}.openAi"],
)
def test_langchain_nodes_propose_ai_actions(node_type: str) -> None:
    result = workflow(node("Start", f"{BASE}.manualTrigger"), node("Think", node_type))
    assert advanced(result)["actions"] == {"ai": True}


def test_http_calls_to_llm_apis_count_as_ai() -> None:
    claude = node(
        "Claude", f"{BASE}.httpRequest", parameters={"url": "https://api.anthropic.com/v1/messages"}
    )
    result = workflow(node("Hook", f"{BASE}.webhook"), claude)
    assert advanced(result)["actions"] == {"http": True, "ai": True}
    assert result.proposed_capabilities["runtime"]["dependencies"]["services"] == ["anthropic"]


def test_chat_trigger_with_agent_and_memory_is_a_multi_turn_agent() -> None:
    model = node(
        "Model", f"{LANGCHAIN}.lmChatOpenAi", parameters={"model": {"__rl": True, "value": "gpt-4o-mini"}}
    )
    result = workflow(
        node("Chat", f"{LANGCHAIN}.chatTrigger"),
        node("Agent", f"{LANGCHAIN}.agent"),
        node("Memory", f"{LANGCHAIN}.memoryBufferWindow"),
        model,
    )
    assert kind(result) == ("agent", "single")
    assert result.proposed_capabilities["interfaces"]["chat"]["features"] == {"multiTurn": True}
    assert result.proposed_capabilities["runtime"]["dependencies"]["models"] == ["gpt-4o-mini"]


def test_vector_store_nodes_propose_rag() -> None:
    result = workflow(
        node("Chat", f"{LANGCHAIN}.chatTrigger"), node("Store", f"{LANGCHAIN}.vectorStorePinecone")
    )
    assert result.proposed_capabilities["configuration"]["rag"]["enabled"] is True


def test_an_mcp_trigger_exposes_the_workflow_as_an_mcp_tool_app() -> None:
    result = workflow(node("MCP", f"{LANGCHAIN}.mcpTrigger"), node("Tool", f"{LANGCHAIN}.toolCalculator"))
    assert kind(result) == ("app", "tool")
    assert result.proposed_capabilities["interfaces"]["api"]["protocols"] == ["mcp"]


def test_expressions_are_not_taken_for_model_names() -> None:
    model = node("Model", f"{LANGCHAIN}.lmChatOpenAi", parameters={"model": "={{ $json.model }}"})
    result = workflow(node("Chat", f"{LANGCHAIN}.chatTrigger"), model)
    assert "models" not in result.proposed_capabilities["runtime"]["dependencies"]


def test_unknown_node_types_are_opaque_steps_with_a_warning() -> None:
    result = workflow(node("Start", f"{BASE}.manualTrigger"), node("Foo", "n8n-nodes-acme.customFoo"))
    assert warnings_of(result) == {
        "nodes[1].type": "unknown node type 'n8n-nodes-acme.customFoo' imported as opaque step"
    }
    assert result.components[1]["role"] == "opaque"


def test_unknown_langchain_nodes_are_ai_steps_with_a_warning() -> None:
    result = workflow(node("Start", f"{BASE}.manualTrigger"), node("New", f"{LANGCHAIN}.brandNewThing"))
    assert "unknown LangChain node type" in warnings_of(result)["nodes[1].type"]
    assert advanced(result)["actions"] == {"ai": True}


def test_unknown_trigger_nodes_are_understood_as_event_triggers() -> None:
    result = workflow(node("On push", f"{BASE}.gitlabTrigger"))
    assert kind(result) == ("automation", "triggered")
    assert result.warnings == []


def test_missing_names_types_and_ids_are_reported_precisely() -> None:
    result = workflow(
        node("Start", f"{BASE}.manualTrigger"),
        {"id": "x", "type": f"{BASE}.set"},
        {"id": "y", "name": "Typeless"},
        {"name": "No id", "type": f"{BASE}.set"},
    )
    assert warnings_of(result) == {
        "nodes[1].name": "missing; connections cannot reach it; called 'node-1'",
        "nodes[2].type": "missing; imported as opaque step",
        "nodes[3].id": "missing; referred to by its name 'No id'",
    }


def test_connections_that_cannot_be_followed_are_reported() -> None:
    connections = {
        "Start": {"main": [[{"node": "Ghost", "type": "main", "index": 0}, "junk"]]},
        "Nobody": {"main": [[]]},
        "Fetch": "wires",
    }
    result = workflow(
        node("Start", f"{BASE}.manualTrigger"), node("Fetch", f"{BASE}.httpRequest"), connections=connections
    )
    assert warnings_of(result) == {
        "connections.Start.main[0][0].node": "no node named 'Ghost'; ignored",
        "connections.Start.main[0][1]": "expected {node, type, index}; connection ignored",
        "connections.Nobody": "no node named 'Nobody'; its connections are ignored",
        "connections.Fetch": "expected an object of connection types, got string",
    }


def test_missing_connections_are_a_warning() -> None:
    result = import_flow(json.dumps({"nodes": [node("Start", f"{BASE}.manualTrigger")]}), "n8n")
    assert "connections" in warnings_of(result)


def test_disabled_nodes_are_listed_but_propose_nothing() -> None:
    result = workflow(
        node("Start", f"{BASE}.manualTrigger"), node("Off", f"{BASE}.httpRequest", disabled=True)
    )
    assert "actions" not in advanced(result)
    assert result.components[1]["disabled"] is True


def test_credentials_and_error_settings_are_proposed() -> None:
    slack = node(
        "Slack", f"{BASE}.slack", credentials={"slackApi": {"id": "1"}}, onError="continueErrorOutput"
    )
    result = workflow(node("Start", f"{BASE}.manualTrigger"), slack)
    assert advanced(result)["data"] == {"secrets": True}
    assert advanced(result)["flow"] == {"errorHandling": True}


def test_sticky_notes_are_not_components() -> None:
    result = workflow(node("Start", f"{BASE}.manualTrigger"), node("Note", f"{BASE}.stickyNote"))
    assert [c["name"] for c in result.components] == ["Start"]


def test_a_workflow_of_only_sticky_notes_is_rejected() -> None:
    with pytest.raises(ValidationFailed) as caught:
        workflow(node("Note", f"{BASE}.stickyNote"))
    assert caught.value.errors[0].path == "nodes"
