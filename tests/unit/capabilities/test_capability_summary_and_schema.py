"""The buyer-facing summary and the JSON Schema served to sellers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from cmp.capabilities import capability_json_schema, capability_summary, validate_capabilities
from cmp.errors import ValidationFailed

pytestmark = pytest.mark.unit

Draft = Callable[..., dict[str, Any]]


def stored(draft: dict[str, Any]) -> dict[str, Any]:
    result = validate_capabilities(draft)
    assert result.capabilities is not None, result.errors
    return result.capabilities.to_document()


def test_agent_summary_reads_like_a_product_page(draft: Draft) -> None:
    summary = capability_summary(
        stored(
            draft(
                "agent",
                interfaces={"chat": {"modes": ["text", "voice"]}},
                configuration={"knowledge": {"limits": {"maxDocuments": 50, "maxSizeMB": 500}}},
            )
        )
    )

    assert summary["category"] == "Agent"
    assert summary["subcategory"] == "Single"
    assert summary["interfaces"] == ["Chat (text, voice)", "Embeddable widget (floating)", "REST API", "MCP"]
    assert (
        summary["youCanConfigure"][0] == "Knowledge base: documents, Q&A pairs (up to 50 documents, 500 MB)"
    )
    assert "Persona: name, tone, instructions" in summary["youCanConfigure"]
    assert "Conversation: welcome message, suggested prompts" in summary["youCanConfigure"]
    assert summary["runtime"] == "Shared"
    assert summary["analytics"] == ["Usage: messages, sessions, users", "Conversations: transcripts"]


def test_rag_summary_names_sources_retrieval_and_limits(draft: Draft) -> None:
    summary = capability_summary(stored(draft("agent")))

    rag = next(line for line in summary["youCanConfigure"] if line.startswith("Knowledge retrieval (RAG)"))
    assert "documents, websites, Q&A pairs" in rag
    assert "hybrid search, top 5 results, reranking, citations" in rag
    assert "up to 50 documents, 500 MB, 100 URLs" in rag


def test_disabled_blocks_are_left_out_of_the_summary(draft: Draft) -> None:
    summary = capability_summary(
        stored(draft("agent", interfaces={"chat": {"enabled": False}, "widget": {"enabled": False}}))
    )

    assert summary["interfaces"] == ["REST API", "MCP"]
    assert not any(line.startswith("Conversation") for line in summary["youCanConfigure"])


def test_automation_summary_lists_webhooks_workflow_and_alerts(draft: Draft) -> None:
    summary = capability_summary(stored(draft("automation", runtime={"deployment": "hybrid"})))

    assert summary["interfaces"] == ["REST API", "WebSocket API", "Webhooks"]
    advanced = next(line for line in summary["youCanConfigure"] if line.startswith("Advanced workflows"))
    assert "triggers: webhook, schedule, event, manual, API" in advanced
    assert "actions: HTTP, database, AI, messaging, storage, transform" in advanced
    assert summary["runtime"] == "Shared or dedicated"
    assert "Alerts: error rate, latency, failure" in summary["analytics"]


def test_app_summary_names_integration_platforms(draft: Draft) -> None:
    summary = capability_summary(stored(draft("app")))

    assert "Integrations: Slack, Microsoft Teams" in summary["interfaces"]
    assert summary["analytics"] == ["Usage: API calls, compute time"]


def test_summary_of_an_invalid_document_raises_validation_failed() -> None:
    with pytest.raises(ValidationFailed):
        capability_summary({"category": "robot"})


def test_json_schema_uses_wire_names_and_requires_category_and_subcategory() -> None:
    schema = capability_json_schema()

    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["required"] == ["category", "subcategory"]
    assert schema["properties"]["category"]["enum"] == ["agent", "app", "assistant", "automation"]
    text = json.dumps(schema)
    for wire_name in (
        "multiTurn",
        "maxSizeMB",
        "customCSS",
        "workflowAdvanced",
        "topK",
        "mcpServers",
        "async",
    ):
        assert f'"{wire_name}"' in text
    assert "multi_turn" not in text


def test_json_schema_contains_every_enum_including_the_spec_extras() -> None:
    text = json.dumps(capability_json_schema())

    for value in (
        "orchestrator",
        "fullpage",
        "websocket",
        "oauth2",
        "whatsapp",
        "compute_time",
        "executions",
        "failure",
        "gpu",
        "hybrid",
    ):
        assert f'"{value}"' in text
    for detail_value in ("xlsx", "snowflake", "footnote", "for_each", "pagerduty", "kms"):
        assert f'"{detail_value}"' in text


def test_json_schema_forbids_unknown_fields() -> None:
    schema = capability_json_schema()

    assert schema["additionalProperties"] is False
    assert all(definition.get("additionalProperties") is False for definition in schema["$defs"].values())


def test_json_schema_is_a_fresh_copy_each_time() -> None:
    capability_json_schema()["required"].append("tampered")

    assert capability_json_schema()["required"] == ["category", "subcategory"]


def test_a_live_document_that_a_newer_rule_would_reject_still_summarises() -> None:
    checked = validate_capabilities({"category": "agent", "subcategory": {"agent": "single"}}).capabilities
    assert checked is not None
    live = checked.to_document()
    live["configuration"]["rag"]["grounding"] = {"strictMode": True, "fallback": "general"}
    assert not validate_capabilities(live).valid
    summary = capability_summary(live)
    assert summary["category"] == "Agent" and summary["interfaces"]
