"""Every real export in the shared fixtures folder imports with the right format and sensible proposals.

Generic checks run for every file in the folder listing; files named in EXPECTED also get their own
detections checked (RAG for the vector-store flow, schedules for the scheduled workflows, …).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from cmp.errors import FieldError
from cmp.flows import ImportResult, detect_format, import_flow
from tests.unit.flows.spec_vocabulary import shape_violations

pytestmark = pytest.mark.unit

CATEGORIES_BY_FORMAT = {
    "langflow": {"agent", "automation"},
    "n8n": {"agent", "automation", "app"},
    "openapi": {"app"},
    "mcp": {"app"},
}


@dataclass(frozen=True)
class Expected:
    """What one fixture must produce. `proposes` maps dotted capability paths to exact values."""

    format_version: str
    category: str
    subcategory: str
    proposes: dict[str, Any] = field(default_factory=dict)
    not_proposed: tuple[str, ...] = ()
    roles: dict[str, str] = field(default_factory=dict)
    component_ids: tuple[str, ...] = ()
    component_count: int | None = None
    warning_paths: tuple[str, ...] = ()


EXPECTED: dict[str, Expected] = {
    "langflow/basic-prompting.json": Expected(
        "1.0.19.post2",
        "agent",
        "single",
        proposes={
            "interfaces.chat.enabled": True,
            "interfaces.chat.modes": ["text"],
            "interfaces.chat.features.multiTurn": False,
            "runtime.dependencies.models": ["gpt-4.1-mini"],
        },
        not_proposed=("configuration.rag",),
        roles={
            "Chat Input": "chat_input",
            "Chat Output": "chat_output",
            "OpenAI": "model",
            "Prompt": "prompt",
        },
        component_count=4,
    ),
    "langflow/loop-template-arxiv.json": Expected(
        "1.2.0",
        "agent",
        "single",
        proposes={
            "configuration.workflowAdvanced.flow.loops": True,
            "runtime.dependencies.models": ["claude-3-5-sonnet-20241022"],
        },
        roles={"Loop": "loop", "Anthropic": "model", "arXiv": "tool"},
    ),
    "langflow/memory-chatbot.json": Expected(
        "1.0.19.post2",
        "agent",
        "single",
        proposes={"interfaces.chat.enabled": True, "interfaces.chat.features.multiTurn": True},
        not_proposed=("configuration.rag",),
        roles={"Chat Memory": "memory"},
    ),
    "langflow/simple-agent.json": Expected(
        "1.3.4",
        "agent",
        "single",
        proposes={"interfaces.chat.enabled": True, "runtime.dependencies.models": ["gpt-4.1"]},
        not_proposed=("configuration.rag",),
        roles={"Agent": "agent", "URL": "tool", "Calculator": "tool"},
    ),
    "langflow/vector-store-rag.json": Expected(
        "1.3.2",
        "agent",
        "single",
        proposes={
            "configuration.rag.enabled": True,
            "configuration.rag.sources.documents": True,
            "configuration.rag.retrieval.method": "vector",
            "runtime.dependencies.models": ["text-embedding-3-small", "gpt-4.1-mini"],
            "runtime.dependencies.services": ["openai", "astradb"],
        },
        roles={"Astra DB": "vector_store", "File": "document_loader", "OpenAI Embeddings": "embeddings"},
        component_count=11,
    ),
    "langflow/youtube-analysis-conditional-router.json": Expected(
        "1.2.0",
        "agent",
        "single",
        proposes={"configuration.workflowAdvanced.flow.conditionals": True, "interfaces.chat.enabled": True},
        roles={"If-Else": "router", "YT-Insight": "agent", "YouTube Transcripts": "tool"},
    ),
    "n8n/demo-chat-llm-chain-ollama-cli-export.json": Expected(
        "current",
        "agent",
        "single",
        proposes={
            "interfaces.chat.enabled": True,
            "interfaces.chat.features.multiTurn": False,
            "configuration.workflowAdvanced.actions.ai": True,
            "runtime.dependencies.models": ["llama3.2:latest"],
        },
        roles={"Chat Trigger": "chat_trigger", "Basic LLM Chain": "ai", "Ollama Chat Model": "model"},
    ),
    "n8n/human-in-the-loop-email-imap-agent.json": Expected(
        "current",
        "automation",
        "triggered",
        proposes={
            "configuration.workflowAdvanced.triggers.event": True,
            "configuration.workflowAdvanced.flow.conditionals": True,
            "configuration.workflowAdvanced.actions.ai": True,
            "configuration.workflowAdvanced.actions.messaging": True,
            "interfaces.integrations.platforms": ["email"],
        },
        not_proposed=("interfaces.chat", "configuration.workflowAdvanced.triggers.schedule"),
        roles={"Write email": "agent", "Approved?": "conditional", "Email Trigger (IMAP)": "event_trigger"},
    ),
    "n8n/legacy-cron-random-recipe-telegram.json": Expected(
        "legacy",
        "automation",
        "hybrid",
        proposes={
            "configuration.workflowAdvanced.triggers.schedule": True,
            "configuration.workflowAdvanced.triggers.event": True,
            "configuration.workflowAdvanced.actions.http": True,
            "configuration.workflowAdvanced.actions.messaging": True,
            "configuration.workflowAdvanced.flow.conditionals": True,
            "interfaces.integrations.platforms": ["telegram"],
        },
        roles={"Cron": "schedule_trigger", "IF": "conditional", "Get recipes": "http"},
        component_ids=("Cron", "Telegram Trigger - people join bot"),
        component_count=15,
        warning_paths=("nodes[0].type", "name"),
    ),
    "n8n/rag-movie-recommender-qdrant-agent.json": Expected(
        "current",
        "agent",
        "single",
        proposes={
            "interfaces.chat.features.multiTurn": True,
            "configuration.rag.enabled": True,
            "configuration.rag.sources.documents": True,
            "configuration.workflowAdvanced.triggers.manual": True,
            "configuration.workflowAdvanced.flow.subWorkflows": True,
        },
        roles={
            "Qdrant Vector Store": "vector_store",
            "Window Buffer Memory": "memory",
            "AI Agent": "agent",
            "Default Data Loader": "document_loader",
        },
    ),
    "n8n/schedule-hacker-news-throwback-code-merge-gemini.json": Expected(
        "current",
        "automation",
        "scheduled",
        proposes={
            "configuration.workflowAdvanced.triggers.schedule": True,
            "configuration.workflowAdvanced.actions.code": True,
            "configuration.workflowAdvanced.actions.ai": True,
            "configuration.workflowAdvanced.flow.conditionals": True,
            "runtime.dependencies.models": ["gemini-1.5-pro"],
        },
        roles={"CreateYearsList": "code", "MergeHeadlinesDate": "conditional", "Telegram": "messaging"},
        warning_paths=("nodes[3].type",),
    ),
    "n8n/schedule-huggingface-papers-loop-to-notion.json": Expected(
        "current",
        "automation",
        "scheduled",
        proposes={
            "configuration.workflowAdvanced.triggers.schedule": True,
            "configuration.workflowAdvanced.flow.loops": True,
            "configuration.workflowAdvanced.flow.conditionals": True,
            "configuration.workflowAdvanced.actions.http": True,
            "configuration.workflowAdvanced.actions.ai": True,
        },
        roles={"Loop Over Items": "loop", "Store Abstract Notion": "database"},
    ),
    "n8n/schedule-slack-support-to-linear-merge-llm.json": Expected(
        "current",
        "automation",
        "scheduled",
        proposes={
            "configuration.workflowAdvanced.triggers.schedule": True,
            "configuration.workflowAdvanced.flow.conditionals": True,
            "configuration.workflowAdvanced.actions.ai": True,
            "interfaces.integrations.platforms": ["slack"],
        },
        roles={"Slack": "messaging", "Create Ticket": "integration", "Merge": "conditional"},
    ),
    "n8n/webhook-claude-router-switch-respond.json": Expected(
        "current",
        "automation",
        "triggered",
        proposes={
            "configuration.workflowAdvanced.triggers.webhook": True,
            "configuration.workflowAdvanced.flow.conditionals": True,
            "configuration.workflowAdvanced.actions.http": True,
            "configuration.workflowAdvanced.actions.code": True,
            "configuration.workflowAdvanced.actions.ai": True,
            "interfaces.api.protocols": ["rest"],
            "runtime.dependencies.services": ["anthropic"],
        },
        roles={
            "Incoming Webhook": "webhook_trigger",
            "Route Switch": "conditional",
            "Parse Classification": "code",
        },
        warning_paths=("nodes[2].type",),
    ),
    "openapi/redocly-museum-api-3.1.yaml": Expected(
        "3.1.0",
        "app",
        "connector",
        proposes={"interfaces.api.protocols": ["rest"], "interfaces.api.features.webhooks": True},
        not_proposed=("interfaces.api.authentication",),
        component_ids=("getMuseumHours", "buyMuseumTickets", "publishNewEvent"),
        component_count=9,
        warning_paths=("components.securitySchemes.MuseumPlaceholderAuth.scheme",),
    ),
    "openapi/resend-api-3.1.json": Expected(
        "3.1.2",
        "app",
        "connector",
        proposes={
            "interfaces.api.authentication": ["jwt"],
            "interfaces.api.features.batch": True,
            "runtime.dependencies.services": ["api.resend.com"],
        },
        component_ids=("emails/send", "emails/send-batch"),
    ),
    "openapi/swagger-petstore-3.0.yaml": Expected(
        "3.0.4",
        "app",
        "connector",
        proposes={
            "interfaces.api.enabled": True,
            "interfaces.api.protocols": ["rest"],
            "interfaces.api.authentication": ["oauth2", "api_key"],
        },
        component_ids=("addPet", "updatePet", "findPetsByStatus", "getPetById", "placeOrder", "loginUser"),
        component_count=19,
    ),
    "mcp/github-mcp-server.server.json": Expected(
        "server.json 2025-12-11",
        "app",
        "tool",
        proposes={
            "interfaces.api.protocols": ["mcp"],
            "interfaces.api.authentication": ["api_key"],
            "runtime.dependencies.mcpServers": ["io.github.github/github-mcp-server"],
        },
        component_ids=("packages[0]", "remotes[0]"),
        warning_paths=("version",),
    ),
    "mcp/playwright-mcp.server.json": Expected(
        "server.json 2025-12-11",
        "app",
        "tool",
        proposes={
            "interfaces.api.protocols": ["mcp"],
            "runtime.dependencies.mcpServers": ["io.github.microsoft/playwright-mcp"],
        },
        component_ids=("packages[0]",),
        component_count=1,
    ),
    "mcp/osop-mcp.tools.json": Expected(
        "tools/list",
        "app",
        "tool",
        proposes={"interfaces.api.protocols": ["mcp"]},
        component_ids=("osop.init", "osop.validate", "osop.view"),
        component_count=8,
    ),
}


def dig(tree: dict[str, Any], dotted_path: str) -> object:
    node: object = tree
    for part in dotted_path.split("."):
        if not isinstance(node, dict) or part not in node:
            return KeyError(dotted_path)
        node = node[part]
    return node


@pytest.fixture
def fixture_path(import_fixtures_dir: Path, fixture_file: str) -> Path:
    return import_fixtures_dir / fixture_file


@pytest.fixture
def imported(fixture_path: Path) -> ImportResult:
    return import_flow(fixture_path.read_bytes(), filename=fixture_path.name)


def test_fixture_imports_as_the_format_of_its_folder(fixture_file: str, imported: ImportResult) -> None:
    expected_format = fixture_file.split("/")[0]
    assert imported.format == expected_format
    assert imported.format_version
    assert imported.name.strip()
    assert imported.proposed_capabilities["category"] in CATEGORIES_BY_FORMAT[expected_format]


def test_fixture_format_is_recognised_from_structure_alone(fixture_file: str, fixture_path: Path) -> None:
    """No file name and no format given: detection must come from the document itself."""
    result = import_flow(fixture_path.read_bytes())
    assert result.format == fixture_file.split("/")[0]


def test_fixture_imports_the_same_when_its_format_is_given(fixture_file: str, fixture_path: Path) -> None:
    by_detection = import_flow(fixture_path.read_bytes(), filename=fixture_path.name)
    by_choice = import_flow(fixture_path.read_bytes(), fixture_file.split("/")[0], fixture_path.name)
    assert by_choice == by_detection


def test_fixture_proposal_follows_the_capability_schema(imported: ImportResult) -> None:
    assert shape_violations(imported.proposed_capabilities) == []


def test_fixture_components_and_warnings_are_well_formed(imported: ImportResult) -> None:
    assert imported.components, "an import that understood nothing is not an import"
    for component in imported.components:
        assert {"id", "type", "name"} <= component.keys()
        assert all(isinstance(component[key], str) and component[key] for key in ("id", "type", "name"))
    assert all(isinstance(w, FieldError) and w.message for w in imported.warnings)


def test_fixture_result_is_json_for_the_api(fixture_path: Path, imported: ImportResult) -> None:
    body = json.loads(json.dumps(imported.to_dict(), allow_nan=False))
    assert set(body) == {
        "format",
        "formatVersion",
        "name",
        "description",
        "flowDefinition",
        "proposedCapabilities",
        "components",
        "warnings",
    }
    raw = fixture_path.read_bytes()
    original = yaml.safe_load(raw) if fixture_path.suffix in (".yaml", ".yml") else json.loads(raw)
    assert body["flowDefinition"].keys() == original.keys()
    if fixture_path.suffix == ".json":
        assert imported.flow_definition == original


def test_fixture_detections(fixture_file: str, imported: ImportResult) -> None:
    expected = EXPECTED.get(fixture_file)
    if expected is None:
        return
    proposal = imported.proposed_capabilities
    assert imported.format_version == expected.format_version
    assert proposal["category"] == expected.category
    assert proposal["subcategory"] == {expected.category: expected.subcategory}
    for dotted_path, value in expected.proposes.items():
        assert dig(proposal, dotted_path) == value, dotted_path
    for dotted_path in expected.not_proposed:
        assert isinstance(dig(proposal, dotted_path), KeyError), dotted_path
    roles = {component["name"]: component.get("role") for component in imported.components}
    for name, role in expected.roles.items():
        assert roles.get(name) == role, name
    ids = {component["id"] for component in imported.components}
    assert set(expected.component_ids) <= ids
    if expected.component_count is not None:
        assert len(imported.components) == expected.component_count
    warned = {warning.path for warning in imported.warnings}
    assert set(expected.warning_paths) <= warned


def test_every_expectation_names_an_existing_fixture(import_fixtures_dir: Path) -> None:
    missing = [name for name in EXPECTED if not (import_fixtures_dir / name).is_file()]
    assert missing == []


def test_detect_format_is_exposed_for_callers(fixture_file: str, fixture_path: Path) -> None:
    raw = fixture_path.read_bytes()
    document = yaml.safe_load(raw) if fixture_path.suffix in (".yaml", ".yml") else json.loads(raw)
    assert detect_format(document) == fixture_file.split("/")[0]
