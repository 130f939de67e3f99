"""Semantic rules on the master schema: each test breaks exactly one rule and checks its path and message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cmp.capabilities import PLATFORM_MAXIMA, CapabilityValidation, validate_capabilities
from cmp.capabilities.defaults import deep_merge

pytestmark = pytest.mark.unit

Draft = Callable[..., dict[str, Any]]
ErrorCheck = Callable[[CapabilityValidation, str, str], None]


# ── category and subcategory ─────────────────────────────────────────────


def test_category_is_required(expect_error: ErrorCheck) -> None:
    expect_error(validate_capabilities({"subcategory": {"agent": "single"}}), "category", "is required")


def test_subcategory_is_required(expect_error: ErrorCheck) -> None:
    result = validate_capabilities({"category": "assistant"})

    expect_error(
        result,
        "subcategory.assistant",
        "is required: one of writer, image, voice, video, code, data, general",
    )


def test_subcategory_is_required_even_without_a_category(expect_error: ErrorCheck) -> None:
    expect_error(validate_capabilities({}), "subcategory", "is required")


def test_subcategory_key_must_be_the_category(expect_error: ErrorCheck) -> None:
    result = validate_capabilities({"category": "agent", "subcategory": {"automation": "workflow"}})

    expect_error(result, "subcategory.automation", "does not match category 'agent'; use subcategory.agent")


def test_subcategory_with_an_extra_foreign_key_is_rejected(expect_error: ErrorCheck) -> None:
    result = validate_capabilities({"category": "agent", "subcategory": {"agent": "single", "app": "tool"}})

    expect_error(result, "subcategory.app", "does not match category 'agent'")


def test_subcategory_value_must_come_from_the_category_list(expect_error: ErrorCheck) -> None:
    result = validate_capabilities({"category": "agent", "subcategory": {"agent": "writer"}})

    expect_error(result, "subcategory.agent", "must be one of 'single', 'multi', 'swarm' or 'orchestrator'")
    assert len(result.errors) == 1


# ── nothing switched on under a disabled block ───────────────────────────


def test_seller_cannot_switch_on_a_feature_under_a_disabled_interface(
    draft: Draft, expect_error: ErrorCheck
) -> None:
    result = validate_capabilities(
        draft("agent", interfaces={"chat": {"enabled": False, "features": {"multiTurn": True}}})
    )

    expect_error(
        result, "interfaces.chat.features.multiTurn", "cannot be on while interfaces.chat is disabled"
    )
    assert [error.path for error in result.errors] == ["interfaces.chat.features.multiTurn"]


def test_seller_lists_under_a_disabled_block_are_rejected(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(draft("automation", interfaces={"widget": {"types": ["popup"]}}))

    expect_error(result, "interfaces.widget.types", "must be empty while interfaces.widget is disabled")


def test_a_disabled_configuration_block_cannot_have_options(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(draft("app", configuration={"persona": {"options": {"tone": True}}}))

    expect_error(result, "configuration.persona.options.tone", "configuration.persona is disabled")


def test_a_disabled_analytics_block_cannot_list_alert_types(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(draft("agent", analytics={"alerts": {"types": ["latency"]}}))

    expect_error(result, "analytics.alerts.types", "analytics.alerts is disabled")


def test_conversation_switched_on_by_the_seller_needs_chat(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        draft(
            "agent",
            interfaces={"chat": {"enabled": False}},
            configuration={"conversation": {"enabled": True}},
        )
    )

    expect_error(
        result, "configuration.conversation.enabled", "cannot be on while interfaces.chat is disabled"
    )


def test_conversation_options_set_by_the_seller_explain_that_chat_is_off(
    draft: Draft, expect_error: ErrorCheck
) -> None:
    result = validate_capabilities(
        draft(
            "agent",
            interfaces={"chat": {"enabled": False}},
            configuration={"conversation": {"options": {"exitMessage": True}}},
        )
    )

    expect_error(
        result, "configuration.conversation.options.exitMessage", "because interfaces.chat is disabled"
    )


# ── an enabled block needs its essentials ────────────────────────────────


@pytest.mark.parametrize(
    ("sections", "path", "fragment"),
    [
        (
            {"interfaces": {"chat": {"modes": []}}},
            "interfaces.chat.modes",
            "add at least one mode (text, voice, video)",
        ),
        ({"interfaces": {"widget": {"types": []}}}, "interfaces.widget.types", "add at least one type"),
        ({"interfaces": {"api": {"protocols": []}}}, "interfaces.api.protocols", "add at least one protocol"),
        (
            {"interfaces": {"api": {"authentication": []}}},
            "interfaces.api.authentication",
            "add at least one authentication method (api_key, oauth2, jwt)",
        ),
        (
            {"interfaces": {"integrations": {"enabled": True}}},
            "interfaces.integrations.platforms",
            "at least one platform",
        ),
        (
            {
                "configuration": {
                    "rag": {"sources": {"documents": False, "websites": False, "qaPairs": False}}
                }
            },
            "configuration.rag.sources",
            "RAG is enabled, so switch on at least one of its sources",
        ),
        (
            {"configuration": {"knowledge": {"sources": {"documents": False, "qaFiles": False}}}},
            "configuration.knowledge.sources",
            "the knowledge base is enabled, so switch on at least one of its sources",
        ),
        (
            {"configuration": {"branding": {"enabled": True}}},
            "configuration.branding.options",
            "at least one of its options",
        ),
        ({"analytics": {"usage": {"metrics": []}}}, "analytics.usage.metrics", "add at least one metric"),
        (
            {"analytics": {"alerts": {"enabled": True}}},
            "analytics.alerts.types",
            "add at least one alert type",
        ),
        (
            {"analytics": {"insights": {"enabled": True}}},
            "analytics.insights.features",
            "at least one of its features",
        ),
    ],
)
def test_an_enabled_block_needs_its_essentials(
    sections: dict[str, Any], path: str, fragment: str, draft: Draft, expect_error: ErrorCheck
) -> None:
    expect_error(validate_capabilities(draft("agent", **sections)), path, fragment)


def test_an_enabled_advanced_workflow_needs_a_trigger(draft: Draft, expect_error: ErrorCheck) -> None:
    no_triggers = dict.fromkeys(("webhook", "schedule", "event", "manual", "api"), False)
    result = validate_capabilities(
        draft("automation", configuration={"workflowAdvanced": {"triggers": no_triggers}})
    )

    expect_error(result, "configuration.workflowAdvanced.triggers", "switch on at least one of its triggers")


def test_an_enabled_advanced_workflow_needs_an_action(draft: Draft, expect_error: ErrorCheck) -> None:
    no_actions = dict.fromkeys(("http", "database", "ai", "messaging", "storage", "transform"), False)
    result = validate_capabilities(
        draft("automation", configuration={"workflowAdvanced": {"actions": no_actions}})
    )

    expect_error(result, "configuration.workflowAdvanced.actions", "switch on at least one of its actions")


# ── limits ───────────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("sections", "path", "fragment"),
    [
        (
            {"configuration": {"rag": {"limits": {"maxDocuments": 10_001}}}},
            "configuration.rag.limits.maxDocuments",
            "at most 10,000 documents",
        ),
        (
            {"configuration": {"rag": {"limits": {"maxSizeMB": 10_241}}}},
            "configuration.rag.limits.maxSizeMB",
            "at most 10,240 MB",
        ),
        (
            {"configuration": {"rag": {"limits": {"maxUrls": 10_001}}}},
            "configuration.rag.limits.maxUrls",
            "at most 10,000 URLs",
        ),
        (
            {"configuration": {"rag": {"limits": {"maxChunks": 1_000_001}}}},
            "configuration.rag.limits.maxChunks",
            "at most 1,000,000 chunks",
        ),
        (
            {"configuration": {"knowledge": {"limits": {"maxDocuments": 0}}}},
            "configuration.knowledge.limits.maxDocuments",
            "at least 1",
        ),
        (
            {"configuration": {"knowledge": {"limits": {"maxSizeMB": -5}}}},
            "configuration.knowledge.limits.maxSizeMB",
            "at least 1 (got -5)",
        ),
        (
            {"configuration": {"knowledge": {"limits": {"maxUrls": 20_000}}}},
            "configuration.knowledge.limits.maxUrls",
            "at most 10,000",
        ),
        (
            {"runtime": {"limits": {"rateLimit": 10_001}}},
            "runtime.limits.rateLimit",
            "at most 10,000 requests per minute",
        ),
        ({"runtime": {"limits": {"rateLimit": 0}}}, "runtime.limits.rateLimit", "at least 1"),
        (
            {"runtime": {"limits": {"concurrency": 1_001}}},
            "runtime.limits.concurrency",
            "at most 1,000 concurrent sessions",
        ),
        (
            {"runtime": {"limits": {"timeout": 901}}},
            "runtime.limits.timeout",
            "at most 900 seconds, on the shared runtime",
        ),
        ({"runtime": {"limits": {"timeout": 0}}}, "runtime.limits.timeout", "at least 1"),
    ],
)
def test_limits_are_positive_and_within_platform_maxima(
    sections: dict[str, Any], path: str, fragment: str, draft: Draft, expect_error: ErrorCheck
) -> None:
    expect_error(validate_capabilities(draft("agent", **sections)), path, fragment)


def test_limits_at_the_platform_maxima_are_accepted(draft: Draft) -> None:
    m = PLATFORM_MAXIMA
    result = validate_capabilities(
        draft(
            "agent",
            configuration={
                "rag": {
                    "limits": {
                        "maxDocuments": m.max_documents,
                        "maxSizeMB": m.max_size_mb,
                        "maxUrls": m.max_urls,
                        "maxChunks": m.max_chunks,
                    },
                    "retrieval": {"topK": m.top_k},
                }
            },
            runtime={"limits": {"rateLimit": m.rate_limit_rpm, "concurrency": m.concurrency, "timeout": 900}},
        )
    )

    assert result.valid, result.errors


@pytest.mark.parametrize("deployment", ["dedicated", "hybrid"])
def test_dedicated_and_hybrid_runtimes_allow_an_hour(
    deployment: str, draft: Draft, expect_error: ErrorCheck
) -> None:
    assert validate_capabilities(
        draft("automation", runtime={"deployment": deployment, "limits": {"timeout": 3600}})
    ).valid

    result = validate_capabilities(
        draft("automation", runtime={"deployment": deployment, "limits": {"timeout": 3601}})
    )

    expect_error(result, "runtime.limits.timeout", "at most 3,600 seconds")


@pytest.mark.parametrize(("top_k", "fragment"), [(0, "at least 1"), (51, "at most 50 results")])
def test_rag_top_k_is_between_1_and_50(
    top_k: int, fragment: str, draft: Draft, expect_error: ErrorCheck
) -> None:
    result = validate_capabilities(draft("agent", configuration={"rag": {"retrieval": {"topK": top_k}}}))

    expect_error(result, "configuration.rag.retrieval.topK", fragment)


# ── enterprise only ──────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("category", "sections", "path"),
    [
        (
            "automation",
            {"configuration": {"workflowAdvanced": {"actions": {"code": True}}}},
            "configuration.workflowAdvanced.actions.code",
        ),
        (
            "agent",
            {"configuration": {"rag": {"sources": {"databases": True}}}},
            "configuration.rag.sources.databases",
        ),
        ("agent", {"configuration": {"rag": {"sources": {"apis": True}}}}, "configuration.rag.sources.apis"),
        ("assistant", {"runtime": {"compute": {"cpu": "gpu"}}}, "runtime.compute.cpu"),
    ],
)
def test_enterprise_only_features_need_a_dedicated_or_hybrid_runtime(
    category: str, sections: dict[str, Any], path: str, draft: Draft, expect_error: ErrorCheck
) -> None:
    expect_error(
        validate_capabilities(draft(category, **sections)),
        path,
        "set runtime.deployment to 'dedicated' or 'hybrid'",
    )

    for deployment in ("dedicated", "hybrid"):
        on_own_runtime = deep_merge(draft(category, **sections), {"runtime": {"deployment": deployment}})
        assert validate_capabilities(on_own_runtime).valid, deployment


# ── grounding ────────────────────────────────────────────────────────────


def test_strict_grounding_with_general_fallback_is_contradictory(
    draft: Draft, expect_error: ErrorCheck
) -> None:
    result = validate_capabilities(
        draft("agent", configuration={"rag": {"grounding": {"strictMode": True, "fallback": "general"}}})
    )

    expect_error(result, "configuration.rag.grounding.fallback", "use 'refuse' or 'escalate'")


def test_strict_grounding_blames_an_inherited_general_fallback(
    draft: Draft, expect_error: ErrorCheck
) -> None:
    result = validate_capabilities(draft("agent", configuration={"rag": {"grounding": {"strictMode": True}}}))

    expect_error(result, "configuration.rag.grounding.fallback", "'general' is the default")


@pytest.mark.parametrize("fallback", ["refuse", "escalate"])
def test_strict_grounding_with_refuse_or_escalate_is_fine(fallback: str, draft: Draft) -> None:
    result = validate_capabilities(
        draft("agent", configuration={"rag": {"grounding": {"strictMode": True, "fallback": fallback}}})
    )

    assert result.valid, result.errors


# ── category fit ─────────────────────────────────────────────────────────


def test_an_agent_needs_chat_or_api(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        draft("agent", interfaces={"chat": {"enabled": False}, "api": {"enabled": False}})
    )

    expect_error(result, "interfaces", "an agent needs interfaces.chat or interfaces.api")


def test_an_agent_with_api_only_is_fine(draft: Draft) -> None:
    assert validate_capabilities(draft("agent", interfaces={"chat": {"enabled": False}})).valid


def test_an_automation_needs_a_workflow(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        draft(
            "automation",
            configuration={"workflow": {"enabled": False}, "workflowAdvanced": {"enabled": False}},
        )
    )

    expect_error(
        result,
        "configuration",
        "an automation needs configuration.workflow or configuration.workflowAdvanced",
    )


def test_every_product_needs_an_interface(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        draft("app", interfaces={name: {"enabled": False} for name in ("widget", "api", "integrations")})
    )

    expect_error(result, "interfaces", "no interface is enabled")


def test_a_scheduled_automation_needs_a_schedule(expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        {
            "category": "automation",
            "subcategory": {"automation": "scheduled"},
            "configuration": {
                "workflow": {"options": {"schedule": False}},
                "workflowAdvanced": {"triggers": {"schedule": False}},
            },
        }
    )

    expect_error(result, "subcategory.automation", "a scheduled automation needs a schedule")


def test_a_triggered_automation_needs_a_trigger(expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        {
            "category": "automation",
            "subcategory": {"automation": "triggered"},
            "configuration": {
                "workflow": {"options": {"triggers": False}},
                "workflowAdvanced": {"triggers": {"webhook": False, "event": False, "api": False}},
            },
        }
    )

    expect_error(result, "subcategory.automation", "a triggered automation needs a trigger")


# ── duplicates ───────────────────────────────────────────────────────────


def test_a_value_listed_twice_is_reported_at_its_second_position(
    draft: Draft, expect_error: ErrorCheck
) -> None:
    result = validate_capabilities(draft("agent", interfaces={"chat": {"modes": ["text", "voice", "text"]}}))

    expect_error(result, "interfaces.chat.modes[2]", "'text' is listed twice")


def test_duplicate_dependencies_are_reported(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(draft("agent", runtime={"dependencies": {"models": ["gpt-4o", "gpt-4o"]}}))

    expect_error(result, "runtime.dependencies.models[1]", "listed twice")
