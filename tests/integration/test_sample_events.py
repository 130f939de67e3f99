"""Every function has a sample event in events/, and each handler accepts its event's shape."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from cmp.aws.clients import client

from .conftest import REPO, Platform, api_event

EVENTS = REPO / "events"


def _event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / f"{name}.json").read_text())


def test_every_function_has_a_sample_event(platform: Platform) -> None:
    for logical_id, fn in platform.template.functions.items():
        assert (EVENTS / f"{Path(fn.code_dir).name}.json").exists(), f"events/ has no sample for {logical_id}"


@pytest.mark.parametrize(
    ("function", "event", "expected_status"),
    [
        ("AuthApiFunction", "auth_api", 401),
        ("CapabilitiesApiFunction", "capabilities_api", 200),
        ("CommerceApiFunction", "commerce_api", 200),
        ("PaymentsWebhookFunction", "payments_webhook", 401),
        ("ProviderApiFunction", "provider_api", 200),
        ("AdminApiFunction", "admin_api", 200),
        ("MarketplaceApiFunction", "marketplace_api", 200),
        ("IntegrationApiFunction", "integration_api", 404),
        ("RatingsApiFunction", "ratings_api", 404),
        ("WorkflowsApiFunction", "workflows_api", 404),
        ("WorkflowHooksFunction", "workflow_hooks", 404),
        ("KnowledgeApiFunction", "knowledge_api", 404),
        ("RuntimeApiFunction", "runtime_api", 404),
        ("KnowledgeApiFunction", "knowledge_api", 404),
        ("RuntimeApiFunction", "runtime_api", 404),
        ("AgentApiFunction", "agent_api", 404),
        ("McpApiFunction", "mcp_api", 200),
        ("ChatWsFunction", "chat_ws", 401),  # $connect with the placeholder key: the handshake is refused
    ],
)
def test_api_functions_answer_their_sample_event(
    platform: Platform, function: str, event: str, expected_status: int
) -> None:
    response = platform.invoke(function, _event(event))
    assert response["statusCode"] == expected_status, response["body"]
    json.loads(response["body"])


def test_the_authorizer_rejects_the_placeholder_token(platform: Platform) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        platform.invoke("AuthorizerFunction", _event("authorizer"))


def test_an_api_key_on_a_portal_route_is_told_to_use_the_runtime_routes_or_sign_in(
    platform: Platform,
) -> None:
    event = _event("authorizer")
    event["headers"] = {"authorization": "Bearer ar_sk_live_" + "a" * 32}
    policy = platform.invoke("AuthorizerFunction", event)
    assert policy["principalId"] == "refused"  # let through with only the refusal, which the route raises
    path = f"/v1/provider/products/{uuid.uuid4()}/knowledge/search"
    call = api_event("POST", path, {"query": "returns"})
    call["requestContext"]["authorizer"] = {**policy["context"], "principalId": policy["principalId"]}
    response = platform.invoke("ProviderApiFunction", call)
    body = json.loads(response["body"])
    assert response["statusCode"] == 401 and body["error"] == "unauthorized", body
    assert "/v1/agents/" in body["message"] and "portal access token" in body["message"]
    assert body["errors"] == [
        {"path": "Authorization", "message": "is an API key, not a portal access token"}
    ]


def test_the_runtime_authorizer_refuses_the_placeholder_key_naming_why(platform: Platform) -> None:
    policy = platform.invoke("RuntimeAuthorizerFunction", _event("runtime_authorizer"))
    assert policy["principalId"] == "refused"  # let through with only the refusal, which the route raises
    assert (policy["context"]["refusal"], policy["context"]["refusal_status"]) == (
        "credential_unknown",
        "401",
    )


def test_the_housekeeping_function_reports_what_it_did(platform: Platform) -> None:
    result = platform.invoke("HousekeepingFunction", _event("housekeeping"))
    assert set(result) == {
        "outbox_sent",
        "outbox_failed",
        "outbox_purged",
        "sessions_purged",
        "knowledge_uploads_expired",
        "knowledge_uploads_requeued",
    }


def test_the_review_worker_ignores_a_review_run_that_does_not_exist(platform: Platform) -> None:
    assert platform.invoke("ReviewWorkerFunction", _event("review_worker")) == {"batchItemFailures": []}


def test_a_step_whose_token_is_no_longer_awaited_is_dead_lettered(platform: Platform) -> None:
    result = platform.invoke("OnboardingWorkerFunction", _event("onboarding_worker"))
    assert result == {"batchItemFailures": []}
    dead = client("sqs").receive_message(
        QueueUrl=platform.ref("OnboardingDeadLetterQueue"), MessageAttributeNames=["All"]
    )["Messages"]
    assert (
        "no longer waits for this step" in dead[0]["MessageAttributes"]["cmp-failure-reason"]["StringValue"]
    )


def test_the_billing_function_reports_what_it_did(platform: Platform) -> None:
    result = platform.invoke("BillingFunction", _event("billing"))
    assert isinstance(result, dict) and all(isinstance(count, int) for count in result.values())
    assert result.get("errors", 0) == 0


def test_the_sla_evaluator_reports_what_it_did(platform: Platform) -> None:
    result = platform.invoke("SlaEvaluatorFunction", _event("sla_evaluator"))
    assert set(result) == {"evaluated", "alerts", "errors"} and result["errors"] == 0


def test_a_runtime_step_whose_token_is_no_longer_awaited_is_dead_lettered(platform: Platform) -> None:
    result = platform.invoke("RuntimeProvisioningWorkerFunction", _event("runtime_provisioning_worker"))
    assert result == {"batchItemFailures": []}
    dead = client("sqs").receive_message(
        QueueUrl=platform.ref("RuntimeProvisioningDeadLetterQueue"), MessageAttributeNames=["All"]
    )["Messages"]
    assert (
        "no longer waits for this step" in dead[0]["MessageAttributes"]["cmp-failure-reason"]["StringValue"]
    )


def test_a_workflow_step_of_a_run_that_does_not_exist_is_dead_lettered(platform: Platform) -> None:
    result = platform.invoke("WorkflowStepWorkerFunction", _event("workflow_step_worker"))
    assert result == {"batchItemFailures": []}
    dead = client("sqs").receive_message(
        QueueUrl=platform.ref("WorkflowStepsDeadLetterQueue"), MessageAttributeNames=["All"]
    )["Messages"]
    assert "no longer exists" in dead[0]["MessageAttributes"]["cmp-failure-reason"]["StringValue"]


def test_a_schedule_of_a_workflow_that_does_not_exist_is_deleted(platform: Platform) -> None:
    name = "cmp-workflow-00000000-0000-4000-8000-0000000000bb"
    client("scheduler").create_schedule(
        Name=name,
        ScheduleExpression="rate(1 hour)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": platform.ref("WorkflowTriggersQueue", "Arn"),
            "RoleArn": platform.ref("WorkflowSchedulerRole", "Arn"),
        },
    )
    result = platform.invoke("WorkflowTriggerWorkerFunction", _event("workflow_trigger_worker"))
    assert result == {"batchItemFailures": []}
    assert name not in [s["Name"] for s in client("scheduler").list_schedules()["Schedules"]]


def test_the_ingestion_worker_ignores_an_upload_of_a_document_that_does_not_exist(platform: Platform) -> None:
    assert platform.invoke("IngestionWorkerFunction", _event("ingestion_worker")) == {"batchItemFailures": []}


def test_the_knowledge_refresh_reports_how_many_crawls_it_queued(platform: Platform) -> None:
    assert platform.invoke("KnowledgeRefreshFunction", _event("knowledge_refresh")) == {"queued": 0}
