"""The foundation over real HTTP through the local runner: auth, the authorizer, onboarding through the
state machine and the SQS callback worker, schedules, the DLQ, OpenAPI and Swagger UI."""

from __future__ import annotations

import json

import boto3
import httpx
import pytest

from cmp_dev.local.dev import Stack

from .conftest import PASSWORD, eventually, sign_up


def test_signup_me_and_onboarding_through_the_state_machine(api: httpx.Client) -> None:
    account = sign_up(api, "Walking Skeleton Ltd")
    assert account.me["organization"]["name"] == "Walking Skeleton Ltd"
    assert set(account.me["roles"]) == {"owner", "seller", "buyer"}

    def onboarded() -> dict[str, object] | None:
        me = account.get("/v1/me").json()
        return me if me["onboarding"]["state"] == "completed" else None

    me = eventually(onboarded)
    assert me["organization"]["runtime_tier"] == "shared"
    assert [s["step"] for s in me["onboarding"]["steps"]] == [
        "provision_workspace",
        "assign_runtime_tier",
        "complete",
    ]


def test_login_returns_a_bearer_token(api: httpx.Client) -> None:
    account = sign_up(api)
    email = account.me["user"]["email"]
    response = api.post("/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    me = api.get("/v1/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
    assert me.json()["user"]["email"] == email


def test_bad_input_gets_a_clear_4xx_never_a_500(api: httpx.Client) -> None:
    missing = api.post("/v1/auth/signup", json={"email": "x@example.com"})
    assert missing.status_code == 422
    assert {e["path"] for e in missing.json()["errors"]} >= {"password", "organization_name"}
    weak = api.post(
        "/v1/auth/signup", json={"email": "weak@example.com", "password": "short", "organization_name": "Org"}
    )
    assert weak.status_code == 422 and weak.json()["errors"][0]["path"] == "password"
    garbage = api.post("/v1/auth/signup", content=b"{not json", headers={"Content-Type": "application/json"})
    assert 400 <= garbage.status_code < 500
    account = sign_up(api)
    duplicate = api.post(
        "/v1/auth/signup",
        json={"email": account.me["user"]["email"], "password": PASSWORD, "organization_name": "Again"},
    )
    assert duplicate.status_code == 409 and duplicate.json()["errors"][0]["path"] == "email"
    wrong = api.post(
        "/v1/auth/login", json={"email": account.me["user"]["email"], "password": "Wrong-Pass-99"}
    )
    assert wrong.status_code == 401


def test_a_chunked_request_body_reaches_the_function(api: httpx.Client) -> None:
    account = sign_up(api)
    parts = [b'{"category": "agent", ', b'"subcategory": "single"}']
    created = api.post(
        "/v1/provider/products",
        content=iter(parts),
        headers={**account.headers, "Content-Type": "application/json"},
    )
    assert created.request.headers.get("transfer-encoding") == "chunked"
    assert created.status_code == 201, created.text


def test_the_authorizer_guards_private_routes(api: httpx.Client) -> None:
    assert api.get("/v1/me").status_code == 401
    assert api.get("/v1/me", headers={"Authorization": "Bearer not.a.token"}).status_code == 401
    assert api.get("/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    assert api.get("/v1/nowhere").status_code in (403, 404)


def test_public_categories_list_all_four(api: httpx.Client) -> None:
    response = api.get("/v1/marketplace/categories")
    assert response.status_code == 200
    categories = {c["id"]: c for c in response.json()["categories"]}
    assert set(categories) == {"agent", "app", "assistant", "automation"}
    assert {s["id"] for s in categories["automation"]["subcategories"]} == {
        "workflow",
        "scheduled",
        "triggered",
        "hybrid",
    }


def test_openapi_document_and_swagger_ui_are_served(api: httpx.Client) -> None:
    doc = api.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.1")
    assert "/v1/auth/signup" in doc["paths"] and "/v1/me" in doc["paths"]
    assert doc["paths"]["/v1/me"]["get"]["security"] == [{"bearerAuth": []}]
    page = api.get("/docs")
    assert page.status_code == 200 and "swagger-ui" in page.text
    assert api.get("/docs/swagger-ui-bundle.min.js").status_code == 200


def test_the_housekeeping_schedule_runs_its_function(stack: Stack) -> None:
    schedule = next(s for s in stack.template.schedules if s.function == "HousekeepingFunction")
    result = stack.runner.fire(schedule.function, schedule.name)
    assert set(result) == {
        "outbox_sent",
        "outbox_failed",
        "outbox_purged",
        "sessions_purged",
        "knowledge_uploads_expired",
        "knowledge_uploads_requeued",
    }


def test_a_poison_job_lands_in_the_dlq_with_its_reason(stack: Stack) -> None:
    sqs = boto3.client(
        "sqs",
        endpoint_url=stack.aws.endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    queue, dlq = (
        stack.resolver.physical["ReviewQueue"]["Ref"],
        stack.resolver.physical["ReviewDeadLetterQueue"]["Ref"],
    )
    sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"product_id": "no-tenant"}))

    def dead_lettered() -> list[dict[str, object]]:
        return sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"]).get("Messages", [])

    message = eventually(dead_lettered)[0]
    assert "ValidationError" in message["MessageAttributes"]["cmp-failure-reason"]["StringValue"]


def assert_error_shape(response: httpx.Response, status: int, error: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, object] = response.json()
    assert set(body) == {"error", "message", "errors", "request_id"} and body["error"] == error, body
    assert body["request_id"]
    return body


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("TRACE", "/v1/me", "GET, HEAD, OPTIONS"),
        ("TRACE", "/v1/marketplace/categories", "GET, HEAD, OPTIONS"),
        ("BREW", "/v1/auth/login", "OPTIONS, POST"),
        ("PATCH", "/v1/me", "GET, HEAD, OPTIONS"),
        ("DELETE", "/v1/capabilities/schema", "GET, HEAD, OPTIONS"),
        ("POST", "/openapi.json", "GET, HEAD"),
    ],
)
def test_a_method_a_route_does_not_answer_is_a_405_with_allow(
    api: httpx.Client, method: str, path: str, allow: str
) -> None:
    response = api.request(method, path)
    body = assert_error_shape(response, 405, "method_not_allowed")
    assert response.headers["allow"] == allow
    assert method in str(body["message"]) and allow in str(body["message"])


def test_patch_on_a_proxy_route_is_a_405_like_everywhere_else(api: httpx.Client) -> None:
    seller = sign_up(api, "Patchy Ltd", "seller")
    product = seller.post("/v1/provider/products", json={"category": "agent", "subcategory": "single"})
    assert product.status_code == 201, product.text
    for path in (f"/v1/provider/products/{product.json()['id']}", "/v1/provider/products"):
        response = api.patch(path, headers=seller.headers, json={})
        assert_error_shape(response, 405, "method_not_allowed")
        assert "GET" in response.headers["allow"] and "PATCH" not in response.headers["allow"]
    admin = api.patch("/v1/admin/reviews", headers=seller.headers)
    assert admin.status_code == 405 and admin.headers["allow"] == "GET, HEAD, OPTIONS"


def test_head_on_a_get_route_is_answered_like_get_without_a_body(api: httpx.Client) -> None:
    get = api.get("/v1/marketplace/categories")
    head = api.head("/v1/marketplace/categories")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(get.content))
    assert head.headers["content-type"] == get.headers["content-type"]
    account = sign_up(api)
    assert account.api.head("/v1/me", headers=account.headers).status_code == 200
    assert api.head("/v1/me").status_code == 401
    assert api.head("/docs").status_code == 200


def test_gateway_answers_use_the_platform_error_shape(api: httpx.Client) -> None:
    assert_error_shape(api.get("/v1/me"), 401, "unauthorized")
    assert_error_shape(api.get("/v1/me", headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
    assert_error_shape(api.get("/v1/nowhere"), 404, "not_found")
    assert_error_shape(api.request("TRACE", "/v1/nowhere"), 404, "not_found")
    too_large = api.post("/v1/capabilities/validate", content=b" " * (10 * 1024 * 1024 + 1))
    assert_error_shape(too_large, 413, "payload_too_large")
