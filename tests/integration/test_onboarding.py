"""Sign-up starts the onboarding state machine; its callback steps run through real SQS batches and the
onboarding worker; the result shows on GET /v1/me. Poison messages reach the DLQ with their reason."""

from __future__ import annotations

import json
import time

from cmp.aws.clients import client
from cmp.bootstrap import Services

from .conftest import Platform, unique_email


def _wait_for_execution(arn: str, platform: Platform, timeout: float = 20) -> dict[str, object]:
    sfn = client("stepfunctions")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        platform.drain("OnboardingQueue", "OnboardingWorkerFunction")
        execution: dict[str, object] = sfn.describe_execution(executionArn=arn)
        if execution["status"] != "RUNNING":
            return execution
        time.sleep(0.1)
    raise AssertionError("the onboarding execution did not finish")


def test_signup_runs_onboarding_to_completion_through_the_callback_workers(
    platform: Platform, services: Services, monkeypatch: object
) -> None:
    auth = platform.function("AuthApiFunction")
    signup = platform.invoke(
        "AuthApiFunction",
        _post(
            "/v1/auth/signup",
            {"email": unique_email(), "password": "Correct-Horse-42", "organization_name": "Onboarded Ltd"},
        ),
    )
    assert signup["statusCode"] == 201, signup["body"]
    claims = auth.services.tenancy.authenticate(json.loads(signup["body"])["access_token"])
    execution_arn = f"{platform.ref('TenantOnboardingStateMachine')}".replace(":stateMachine:", ":execution:")
    execution = _wait_for_execution(f"{execution_arn}:onboard-{claims.tenant_id}", platform)
    assert execution["status"] == "SUCCEEDED", execution
    profile = auth.services.profiles.profile(claims.tenant_id, claims.user_id)
    assert profile["onboarding"]["state"] == "completed"
    assert profile["organization"]["runtime_tier"] == "shared"
    assert [s["step"] for s in profile["onboarding"]["steps"]] == [
        "provision_workspace",
        "assign_runtime_tier",
        "complete",
    ]


def test_a_step_for_an_unknown_tenant_fails_the_execution_not_the_queue(platform: Platform) -> None:
    unknown = "00000000-0000-4000-8000-000000000000"
    sfn = client("stepfunctions")
    started = sfn.start_execution(
        stateMachineArn=platform.ref("TenantOnboardingStateMachine"), input=json.dumps({"tenant_id": unknown})
    )
    execution = _wait_for_execution(started["executionArn"], platform)
    assert execution["status"] == "FAILED"
    dlq = client("sqs").receive_message(
        QueueUrl=platform.ref("OnboardingDeadLetterQueue"), MaxNumberOfMessages=10
    )
    # Only this tenant's steps count: moto runs executions in threads, and an earlier test's late step can
    # reach this test's queue (same queue URL in a fresh mock) under load.
    assert [m for m in dlq.get("Messages", []) if unknown in m["Body"]] == []


def test_a_poison_message_goes_to_the_dead_letter_queue_with_its_reason(platform: Platform) -> None:
    sqs = client("sqs")
    sqs.send_message(QueueUrl=platform.ref("OnboardingQueue"), MessageBody='{"step": "explode"}')
    sqs.send_message(QueueUrl=platform.ref("OnboardingQueue"), MessageBody="not json at all")
    assert platform.drain("OnboardingQueue", "OnboardingWorkerFunction") == 2
    dead = sqs.receive_message(
        QueueUrl=platform.ref("OnboardingDeadLetterQueue"),
        MaxNumberOfMessages=10,
        MessageAttributeNames=["All"],
    )["Messages"]
    reasons = sorted(m["MessageAttributes"]["cmp-failure-reason"]["StringValue"] for m in dead)
    assert len(reasons) == 2
    assert reasons[0].startswith("invalid message: JSONDecodeError")
    assert "ValidationError" in reasons[1] and "step" in reasons[1]
    assert sorted(m["Body"] for m in dead) == sorted(['{"step": "explode"}', "not json at all"])


def test_a_transient_failure_is_retried_then_dead_lettered_on_the_last_attempt(
    platform: Platform, monkeypatch: object
) -> None:
    worker = platform.function("OnboardingWorkerFunction")
    calls: list[str] = []

    def broken(message: object) -> dict[str, object]:
        calls.append("x")
        raise ConnectionError("database is restarting")

    worker.services.onboarding.run_step = broken
    sqs = client("sqs")
    body = json.dumps(
        {"step": "complete", "tenant_id": "00000000-0000-4000-8000-000000000001", "task_token": "token"}
    )
    sqs.send_message(QueueUrl=platform.ref("OnboardingQueue"), MessageBody=body)
    for _ in range(3):
        messages = sqs.receive_message(
            QueueUrl=platform.ref("OnboardingQueue"), AttributeNames=["All"], MessageAttributeNames=["All"]
        )["Messages"]
        response = platform.invoke(
            "OnboardingWorkerFunction", _sqs(messages, platform.ref("OnboardingQueue", "Arn"))
        )
        sqs.change_message_visibility(
            QueueUrl=platform.ref("OnboardingQueue"),
            ReceiptHandle=messages[0]["ReceiptHandle"],
            VisibilityTimeout=0,
        )
        if not response["batchItemFailures"]:
            sqs.delete_message(
                QueueUrl=platform.ref("OnboardingQueue"), ReceiptHandle=messages[0]["ReceiptHandle"]
            )
    assert len(calls) == 3
    dead = sqs.receive_message(
        QueueUrl=platform.ref("OnboardingDeadLetterQueue"), MessageAttributeNames=["All"]
    )["Messages"]
    assert (
        "failed after 3 attempts: ConnectionError: database is restarting"
        in dead[0]["MessageAttributes"]["cmp-failure-reason"]["StringValue"]
    )


def _sqs(messages: list[dict[str, object]], arn: str) -> dict[str, object]:
    from cmp_dev.local.events import sqs_event

    return sqs_event(messages, arn)  # type: ignore[arg-type]


def _post(path: str, body: dict[str, object]) -> dict[str, object]:
    return {
        "resource": path,
        "path": path,
        "httpMethod": "POST",
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "isBase64Encoded": False,
        "body": json.dumps(body),
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "POST",
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": "test",
            "accountId": "123456789012",
            "apiId": "local",
            "identity": {"sourceIp": "127.0.0.1"},
        },
    }
