"""Category defaults, the merge under the seller's draft, and the stored document's shape."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from cmp.capabilities import (
    CATEGORIES,
    CATEGORY_DEFAULTS,
    ProductCapabilities,
    merge_with_defaults,
    validate_capabilities,
)
from cmp.capabilities.defaults import deep_merge

pytestmark = pytest.mark.unit

Draft = Callable[..., dict[str, Any]]
SUBCATEGORY = {"agent": "single", "app": "tool", "assistant": "writer", "automation": "workflow"}


def test_categories_and_subcategories_follow_the_spec_order() -> None:
    assert CATEGORIES == {
        "agent": ["single", "multi", "swarm", "orchestrator"],
        "app": ["agentic", "tool", "connector", "integration"],
        "assistant": ["writer", "image", "voice", "video", "code", "data", "general"],
        "automation": ["workflow", "scheduled", "triggered", "hybrid"],
    }


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_each_category_default_merges_into_a_valid_complete_document(category: str, draft: Draft) -> None:
    result = validate_capabilities(draft(category))

    assert result.valid, result.errors
    assert result.capabilities is not None
    stored = result.capabilities.to_document()
    assert stored["category"] == category
    assert stored["subcategory"] == {category: SUBCATEGORY[category]}
    assert set(stored) == {
        "category",
        "subcategory",
        "tags",
        "interfaces",
        "configuration",
        "analytics",
        "runtime",
    }
    assert ProductCapabilities.model_validate(stored).model_dump(by_alias=True, exclude_none=True) == stored


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_every_subcategory_of_a_category_is_accepted(category: str) -> None:
    for subcategory in CATEGORIES[category]:
        result = validate_capabilities({"category": category, "subcategory": {category: subcategory}})
        assert result.valid, (subcategory, result.errors)


def test_agent_defaults_are_the_spec_values(draft: Draft) -> None:
    checked = validate_capabilities(draft("agent")).capabilities
    assert checked is not None
    stored = checked.to_document()
    chat = stored["interfaces"]["chat"]
    assert chat["enabled"] is True
    assert chat["modes"] == ["text"]
    assert chat["features"]["multiTurn"] is True
    assert chat["features"]["streaming"] is True
    assert chat["features"]["fileUpload"] is False
    assert stored["interfaces"]["api"]["protocols"] == ["rest", "mcp"]
    rag = stored["configuration"]["rag"]
    assert rag["limits"] == {"maxDocuments": 50, "maxSizeMB": 500, "maxUrls": 100, "maxChunks": 50000}
    assert rag["retrieval"] == {"topK": 5, "method": "hybrid", "reranking": True, "citations": True}
    assert rag["grounding"] == {"strictMode": False, "fallback": "general"}
    assert stored["analytics"]["usage"]["metrics"] == ["messages", "sessions", "users"]


def test_automation_defaults_keep_the_spec_extras_executions_and_failure(draft: Draft) -> None:
    checked = validate_capabilities(draft("automation")).capabilities
    assert checked is not None
    stored = checked.to_document()
    assert stored["analytics"]["usage"]["metrics"] == ["api_calls", "compute_time", "executions"]
    assert stored["analytics"]["alerts"]["types"] == ["error_rate", "latency", "failure"]
    advanced = stored["configuration"]["workflowAdvanced"]
    assert advanced["enabled"] is True
    assert advanced["actions"]["code"] is False
    assert advanced["flow"]["subWorkflows"] is False


def test_app_and_assistant_defaults_disable_what_the_spec_disables(draft: Draft) -> None:
    app_checked = validate_capabilities(draft("app")).capabilities
    assistant_checked = validate_capabilities(draft("assistant")).capabilities
    assert app_checked is not None and assistant_checked is not None
    app, assistant = app_checked.to_document(), assistant_checked.to_document()
    assert app["interfaces"]["chat"]["enabled"] is False
    assert app["interfaces"]["integrations"]["platforms"] == ["slack", "teams"]
    assert app["configuration"]["knowledge"]["enabled"] is False
    assert assistant["configuration"]["output"]["options"] == {
        "format": True,
        "quality": True,
        "style": True,
        "templates": True,
    }


def test_seller_wins_lists_replace_and_objects_merge(draft: Draft) -> None:
    result = validate_capabilities(
        draft(
            "agent",
            interfaces={"chat": {"modes": ["voice"], "features": {"fileUpload": True}}},
            configuration={"rag": {"retrieval": {"topK": 8}}},
        )
    )

    assert result.valid, result.errors
    assert result.capabilities is not None
    chat = result.capabilities.to_document()["interfaces"]["chat"]
    assert chat["modes"] == ["voice"]
    assert chat["features"]["fileUpload"] is True
    assert chat["features"]["multiTurn"] is True
    retrieval = result.capabilities.to_document()["configuration"]["rag"]["retrieval"]
    assert retrieval == {"topK": 8, "method": "hybrid", "reranking": True, "citations": True}


def test_merge_with_defaults_layers_the_draft_over_category_and_model_defaults() -> None:
    merged = merge_with_defaults({"category": "app", "subcategory": {"app": "tool"}, "tags": ["ops"]})

    assert merged["tags"] == ["ops"]
    assert merged["interfaces"]["widget"]["types"] == ["inline", "fullpage"]
    assert merged["interfaces"]["chat"]["modes"] == []
    assert merged["runtime"]["deployment"] == "shared"


def test_merge_with_defaults_rewrites_snake_case_keys_and_keeps_unknown_ones() -> None:
    merged = merge_with_defaults(
        {"category": "agent", "interfaces": {"chat": {"features": {"file_upload": True}}}, "mystery": 1}
    )

    assert merged["interfaces"]["chat"]["features"]["fileUpload"] is True
    assert "file_upload" not in merged["interfaces"]["chat"]["features"]
    assert merged["mystery"] == 1


def test_merge_with_defaults_does_not_mutate_the_draft_or_the_defaults(draft: Draft) -> None:
    seller = draft("agent", interfaces={"chat": {"modes": ["voice"]}})
    before = copy.deepcopy(seller)
    defaults_before = copy.deepcopy(CATEGORY_DEFAULTS)

    merged = merge_with_defaults(seller)
    merged["interfaces"]["chat"]["modes"].append("video")
    merged["interfaces"]["widget"]["types"].append("popup")

    assert seller == before
    assert defaults_before == CATEGORY_DEFAULTS


def test_deep_merge_replaces_lists_and_merges_objects() -> None:
    assert deep_merge({"a": [1, 2], "b": {"x": 1, "y": 2}}, {"a": [3], "b": {"y": 5}}) == {
        "a": [3],
        "b": {"x": 1, "y": 5},
    }


def test_inherited_children_of_a_block_the_seller_disables_are_switched_off_without_error(
    draft: Draft,
) -> None:
    result = validate_capabilities(draft("agent", interfaces={"chat": {"enabled": False}}))

    assert result.valid, result.errors
    assert result.capabilities is not None
    chat = result.capabilities.to_document()["interfaces"]["chat"]
    assert chat["modes"] == []
    assert chat["features"]["multiTurn"] is False
    assert chat["features"]["streaming"] is False


def test_disabling_rag_switches_off_its_inherited_sources_and_retrieval_switches(draft: Draft) -> None:
    result = validate_capabilities(draft("agent", configuration={"rag": {"enabled": False}}))

    assert result.valid, result.errors
    assert result.capabilities is not None
    rag = result.capabilities.to_document()["configuration"]["rag"]
    assert not any(rag["sources"].values())
    assert rag["retrieval"]["reranking"] is False
    assert rag["limits"]["maxDocuments"] == 50


def test_disabling_chat_also_switches_off_the_inherited_conversation_block(draft: Draft) -> None:
    result = validate_capabilities(draft("agent", interfaces={"chat": {"enabled": False}}))

    assert result.capabilities is not None
    conversation = result.capabilities.to_document()["configuration"]["conversation"]
    assert conversation["enabled"] is False
    assert not any(conversation["options"].values())


def test_stored_document_omits_absent_detail_blocks(draft: Draft) -> None:
    checked = validate_capabilities(draft("agent")).capabilities
    assert checked is not None
    stored = checked.to_document()
    assert "detail" not in stored["configuration"]["rag"]
    assert "detail" not in stored["configuration"]["workflowAdvanced"]


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_validating_a_stored_document_again_returns_it_unchanged(category: str, draft: Draft) -> None:
    stored = validate_capabilities(
        draft(
            category,
            interfaces={"chat": {"enabled": False}, "api": {"enabled": True}},
            configuration={
                "rag": {"detail": {"processing": {"chunking": {"chunkSize": 256}}}},
                "workflowAdvanced": {"detail": {"flow": {"loops": {"maxIterations": 50}}}},
            },
        )
    ).capabilities
    assert stored is not None

    again = validate_capabilities(stored.to_document())

    assert again.valid, again.errors
    assert again.capabilities is not None
    assert again.capabilities.to_document() == stored.to_document()
