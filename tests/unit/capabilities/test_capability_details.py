"""The Part 6 (RAG) and Part 7 (workflow) detail blocks: completed from, and consistent with, the master."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cmp.capabilities import CapabilityValidation, validate_capabilities

pytestmark = pytest.mark.unit

Draft = Callable[..., dict[str, Any]]
ErrorCheck = Callable[[CapabilityValidation, str, str], None]


def rag_detail(**detail: Any) -> dict[str, Any]:
    return {"rag": {"detail": detail}}


def workflow_detail(**detail: Any) -> dict[str, Any]:
    return {"workflowAdvanced": {"detail": detail}}


def test_a_rag_detail_block_is_completed_from_its_master_and_defaults(draft: Draft) -> None:
    result = validate_capabilities(
        draft("agent", configuration=rag_detail(sources={"documents": {"formats": ["pdf", "docx"]}}))
    )

    assert result.valid, result.errors
    assert result.capabilities is not None
    detail = result.capabilities.to_document()["configuration"]["rag"]["detail"]
    documents = detail["sources"]["documents"]
    assert documents == {
        "enabled": True,
        "formats": ["pdf", "docx"],
        "maxFileSize": 50,
        "maxTotalSize": 500,
        "maxFiles": 50,
    }
    assert detail["sources"]["databases"]["enabled"] is False
    assert detail["retrieval"]["search"] == {"method": "hybrid", "topK": 5, "customizable": False}
    assert detail["retrieval"]["reranking"]["enabled"] is True
    assert detail["generation"]["grounding"]["fallbackBehavior"] == "general"
    assert detail["processing"]["chunking"] == {
        "strategy": "fixed",
        "chunkSize": 512,
        "overlap": 50,
        "customizable": False,
    }


def test_a_workflow_detail_block_is_completed_from_its_master(draft: Draft) -> None:
    result = validate_capabilities(
        draft("automation", configuration=workflow_detail(monitoring={"tracing": {"enabled": True}}))
    )

    assert result.valid, result.errors
    assert result.capabilities is not None
    detail = result.capabilities.to_document()["configuration"]["workflowAdvanced"]["detail"]
    assert detail["triggers"]["webhook"]["enabled"] is True
    assert detail["actions"]["code"]["enabled"] is False
    assert detail["flow"]["subWorkflows"]["enabled"] is False
    assert detail["data"]["state"]["persistence"] is True
    assert detail["triggers"]["api"]["timeout"] == 60
    assert detail["triggers"]["api"]["async"] is False


# ── a detail block cannot contradict its master ──────────────────────────


def test_rag_detail_cannot_enable_a_source_the_master_disables(
    draft: Draft, expect_error: ErrorCheck
) -> None:
    result = validate_capabilities(
        draft(
            "agent",
            configuration=rag_detail(sources={"databases": {"enabled": True}}),
            runtime={"deployment": "dedicated"},
        )
    )

    expect_error(
        result,
        "configuration.rag.detail.sources.databases.enabled",
        "cannot switch on what configuration.rag.sources.databases switches off",
    )


def test_workflow_detail_cannot_enable_an_action_the_master_disables(
    draft: Draft, expect_error: ErrorCheck
) -> None:
    result = validate_capabilities(
        draft("automation", configuration=workflow_detail(actions={"code": {"enabled": True}}))
    )

    expect_error(
        result,
        "configuration.workflowAdvanced.detail.actions.code.enabled",
        "a detail block cannot enable what its parent disables",
    )


def test_workflow_detail_cannot_disable_a_trigger_the_master_enables(
    draft: Draft, expect_error: ErrorCheck
) -> None:
    result = validate_capabilities(
        draft("automation", configuration=workflow_detail(triggers={"manual": {"enabled": False}}))
    )

    expect_error(
        result,
        "configuration.workflowAdvanced.detail.triggers.manual.enabled",
        "is false but configuration.workflowAdvanced.triggers.manual is true",
    )


@pytest.mark.parametrize(
    ("detail", "path", "fragment"),
    [
        (
            {"retrieval": {"search": {"topK": 8}}},
            "retrieval.search.topK",
            "configuration.rag.retrieval.topK is 5",
        ),
        ({"retrieval": {"search": {"method": "vector"}}}, "retrieval.search.method", 'is "vector" but'),
        (
            {"generation": {"grounding": {"strictMode": True}}},
            "generation.grounding.strictMode",
            "cannot switch on",
        ),
        (
            {"generation": {"grounding": {"fallbackBehavior": "refuse"}}},
            "generation.grounding.fallbackBehavior",
            'configuration.rag.grounding.fallback is "general"',
        ),
        (
            {"sources": {"documents": {"maxFiles": 51}}},
            "sources.documents.maxFiles",
            "must not exceed configuration.rag.limits.maxDocuments (50)",
        ),
        (
            {"sources": {"documents": {"maxTotalSize": 501}}},
            "sources.documents.maxTotalSize",
            "configuration.rag.limits.maxSizeMB (500)",
        ),
        (
            {"sources": {"websites": {"maxUrls": 101}}},
            "sources.websites.maxUrls",
            "configuration.rag.limits.maxUrls (100)",
        ),
    ],
)
def test_rag_detail_values_must_agree_with_the_master(
    detail: dict[str, Any], path: str, fragment: str, draft: Draft, expect_error: ErrorCheck
) -> None:
    result = validate_capabilities(draft("agent", configuration=rag_detail(**detail)))

    expect_error(result, f"configuration.rag.detail.{path}", fragment)


def test_workflow_detail_timeouts_cannot_exceed_the_runtime_timeout(
    draft: Draft, expect_error: ErrorCheck
) -> None:
    result = validate_capabilities(
        draft(
            "automation",
            configuration=workflow_detail(
                actions={"http": {"timeout": 61}}, triggers={"api": {"timeout": 120}}
            ),
        )
    )

    expect_error(
        result,
        "configuration.workflowAdvanced.detail.actions.http.timeout",
        "must not exceed runtime.limits.timeout (60)",
    )
    expect_error(
        result, "configuration.workflowAdvanced.detail.triggers.api.timeout", "runtime.limits.timeout"
    )


def test_loop_parallelism_needs_parallel_execution_in_the_master(
    draft: Draft, expect_error: ErrorCheck
) -> None:
    result = validate_capabilities(
        draft(
            "automation",
            configuration={
                "workflowAdvanced": {
                    "flow": {"parallelExecution": False},
                    "detail": {"flow": {"loops": {"parallelExecution": True}}},
                }
            },
        )
    )

    expect_error(
        result,
        "configuration.workflowAdvanced.detail.flow.loops.parallelExecution",
        "needs configuration.workflowAdvanced.flow.parallelExecution to be on",
    )


def test_custom_code_in_transforms_needs_code_actions(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        draft("automation", configuration=workflow_detail(actions={"transform": {"customCode": True}}))
    )

    expect_error(
        result,
        "configuration.workflowAdvanced.detail.actions.transform.customCode",
        "needs configuration.workflowAdvanced.actions.code",
    )


def test_a_detail_block_under_a_disabled_master_is_one_error(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        draft(
            "assistant",
            configuration=rag_detail(sources={"documents": {"enabled": True, "formats": ["pdf"]}}),
        )
    )

    expect_error(result, "configuration.rag.detail", "while configuration.rag is disabled")
    assert len(result.errors) == 1


def test_a_detail_block_that_switches_nothing_on_may_sit_under_a_disabled_master(draft: Draft) -> None:
    result = validate_capabilities(
        draft("assistant", configuration=rag_detail(processing={"chunking": {"chunkSize": 256}}))
    )

    assert result.valid, result.errors


def test_detail_sub_blocks_that_are_off_cannot_list_values(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        draft("agent", configuration=rag_detail(sources={"databases": {"connectors": ["postgres"]}}))
    )

    expect_error(
        result,
        "configuration.rag.detail.sources.databases.connectors",
        "databases is disabled (as configuration.rag.sources.databases is off)",
    )


def test_monitoring_values_need_their_switch(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        draft("automation", configuration=workflow_detail(monitoring={"logging": {"level": ["info"]}}))
    )

    expect_error(
        result,
        "configuration.workflowAdvanced.detail.monitoring.logging.level",
        "while configuration.workflowAdvanced.detail.monitoring.logging is disabled",
    )


def test_switched_on_monitoring_must_say_what_it_covers(draft: Draft, expect_error: ErrorCheck) -> None:
    result = validate_capabilities(
        draft("automation", configuration=workflow_detail(monitoring={"alerts": {"enabled": True}}))
    )

    expect_error(
        result, "configuration.workflowAdvanced.detail.monitoring.alerts.conditions", "add at least one entry"
    )
    expect_error(
        result, "configuration.workflowAdvanced.detail.monitoring.alerts.channels", "add at least one entry"
    )


# ── internal consistency and ranges ──────────────────────────────────────


@pytest.mark.parametrize(
    ("detail", "path", "fragment"),
    [
        (
            {"sources": {"documents": {"maxFileSize": 2000}}},
            "sources.documents.maxFileSize",
            "at most 1,024 MB",
        ),
        (
            {"sources": {"documents": {"maxFileSize": 100, "maxTotalSize": 50}}},
            "sources.documents.maxFileSize",
            "cannot be larger than the total",
        ),
        ({"sources": {"websites": {"maxDepth": 11}}}, "sources.websites.maxDepth", "at most 10 levels"),
        ({"sources": {"qaPairs": {"maxPairs": 0}}}, "sources.qaPairs.maxPairs", "at least 1"),
        (
            {"processing": {"chunking": {"chunkSize": 200, "overlap": 200}}},
            "processing.chunking.overlap",
            "smaller than chunkSize",
        ),
        (
            {"processing": {"embedding": {"dimensions": 3072}}},
            "processing.embedding.dimensions",
            "at most 2,000 dimensions",
        ),
        (
            {"generation": {"grounding": {"confidenceThreshold": 1.5}}},
            "generation.grounding.confidenceThreshold",
            "at most 1",
        ),
        ({"generation": {"context": {"historyTurns": -1}}}, "generation.context.historyTurns", "at least 0"),
        (
            {"retrieval": {"citations": {"format": "none"}}},
            "retrieval.citations.format",
            "citations are enabled",
        ),
        (
            {"generation": {"model": {"customizable": True}}},
            "generation.model.alternatives",
            "list at least one alternative",
        ),
        (
            {"processing": {"embedding": {"customizable": True}}},
            "processing.embedding.customizable",
            "enterprise only",
        ),
    ],
)
def test_rag_detail_rules(
    detail: dict[str, Any], path: str, fragment: str, draft: Draft, expect_error: ErrorCheck
) -> None:
    expect_error(
        validate_capabilities(draft("agent", configuration=rag_detail(**detail))),
        f"configuration.rag.detail.{path}",
        fragment,
    )


@pytest.mark.parametrize(
    ("detail", "path", "fragment"),
    [
        ({"triggers": {"schedule": {"minInterval": "30s"}}}, "triggers.schedule.minInterval", "at least 1m"),
        (
            {"triggers": {"schedule": {"minInterval": "soon"}}},
            "triggers.schedule.minInterval",
            "a duration such as '30s', '5m'",
        ),
        (
            {"flow": {"loops": {"maxIterations": 10_001}}},
            "flow.loops.maxIterations",
            "at most 10,000 iterations",
        ),
        (
            {"flow": {"errorHandling": {"maxRetries": 11}}},
            "flow.errorHandling.maxRetries",
            "at most 10 retries",
        ),
        (
            {"flow": {"errorHandling": {"retryDelay": "later"}}},
            "flow.errorHandling.retryDelay",
            "'exponential'",
        ),
        ({"data": {"secrets": {"maxSecrets": 501}}}, "data.secrets.maxSecrets", "at most 500 secrets"),
        ({"data": {"state": {"ttl": "forever"}}}, "data.state.ttl", "or 'never'"),
        (
            {"monitoring": {"tracing": {"enabled": True, "sampling": 101}}},
            "monitoring.tracing.sampling",
            "at most 100 %",
        ),
        ({"actions": {"code": {"timeout": 0}}}, "actions.code.timeout", "at least 1"),
    ],
)
def test_workflow_detail_rules(
    detail: dict[str, Any], path: str, fragment: str, draft: Draft, expect_error: ErrorCheck
) -> None:
    result = validate_capabilities(draft("automation", configuration=workflow_detail(**detail)))

    expect_error(result, f"configuration.workflowAdvanced.detail.{path}", fragment)


def test_a_full_enterprise_workflow_detail_is_valid(draft: Draft) -> None:
    result = validate_capabilities(
        draft(
            "automation",
            runtime={"deployment": "dedicated", "limits": {"timeout": 600}},
            configuration={
                "workflowAdvanced": {
                    "actions": {"code": True},
                    "detail": {
                        "triggers": {
                            "webhook": {
                                "methods": ["POST"],
                                "authentication": ["signature"],
                                "customHeaders": True,
                            },
                            "schedule": {"types": ["cron"], "minInterval": "5m", "timezone": True},
                            "api": {"async": True, "timeout": 300},
                        },
                        "flow": {
                            "loops": {"types": ["for_each"], "maxIterations": 500, "parallelExecution": True}
                        },
                        "actions": {
                            "code": {"languages": ["python"], "timeout": 120, "sandboxed": True},
                            "transform": {"operations": ["map"], "customCode": True},
                        },
                        "data": {"secrets": {"maxSecrets": 50, "encryption": "kms", "rotation": True}},
                        "monitoring": {
                            "logging": {"enabled": True, "level": ["info", "error"], "retention": "30d"},
                            "alerts": {"enabled": True, "conditions": ["failure"], "channels": ["pagerduty"]},
                        },
                    },
                }
            },
        )
    )

    assert result.valid, result.errors
    assert result.capabilities is not None
    code = result.capabilities.to_document()["configuration"]["workflowAdvanced"]["detail"]["actions"]["code"]
    assert code == {"enabled": True, "languages": ["python"], "timeout": 120, "sandboxed": True}
