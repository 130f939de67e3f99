"""The workflow routes through the real handler: list (the automation's first workflow), read, save a version
(422 naming the path), activate, start a run (202, Idempotency-Key: the same input replays, another is a
422), history, details, cancel; a webhook delivery id and a manual key never meet; another organization
gets 404 everywhere, the signed out 401."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cmp.bootstrap import Services
from cmp.db import Database

from .conftest import Platform, api_event, caller_of
from .workflow_support import automation, portal_runtime

FUNCTION = "WorkflowsApiFunction"
DEFINITION = {
    "nodes": [
        {"id": "start", "type": "manual"},
        {"id": "total", "type": "transform", "config": {"expression": "sum(input.amounts)"}},
    ],
    "edges": [{"source": "start", "target": "total"}],
}


def call(
    platform: Platform,
    method: str,
    path: str,
    who: dict[str, str] | None,
    body: Any = None,
    headers: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
) -> tuple[int, Any]:
    event = api_event(method, path, body, who, query)
    event["headers"] = {**(event.get("headers") or {}), **(headers or {})}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    response = platform.invoke(FUNCTION, event)
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


@pytest.fixture
def buyer(services: Services) -> dict[str, str]:
    return caller_of(services, "Workflow Buyer", "buyer")


def test_the_buyer_edits_activates_and_runs_a_workflow(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = automation(db, buyer["tenant_id"])
    buyer = portal_runtime(subscription, buyer)
    status, listed = call(platform, "GET", f"/v1/subscriptions/{subscription.id}/workflows", buyer)
    assert status == 200, listed
    workflow_id = listed["items"][0]["workflow_id"]
    one = f"/v1/workflows/{workflow_id}"
    status, body = call(
        platform, "PUT", one, buyer, {"definition": {"nodes": [{"id": "start", "type": "teleport"}]}}
    )
    assert status == 422 and body["errors"][0]["path"] == "definition.nodes[0].type", body
    status, saved = call(platform, "PUT", one, buyer, {"definition": DEFINITION, "name": "Totals"})
    assert (status, saved["version"], saved["name"]) == (200, 2, "Totals"), saved
    status, active = call(platform, "POST", f"{one}/activate", buyer)
    assert (status, active["status"], active["active_version"]) == (200, "active", 2), active
    key = {"Idempotency-Key": "run-once"}
    status, run = call(platform, "POST", f"{one}/runs", buyer, {"input": {"amounts": [1, 2]}}, key)
    assert (status, run["status"]) == (202, "running"), run
    status, again = call(platform, "POST", f"{one}/runs", buyer, {"input": {"amounts": [1, 2]}}, key)
    assert (status, again["run_id"]) == (202, run["run_id"])
    status, differs = call(platform, "POST", f"{one}/runs", buyer, {"input": {"amounts": [5]}}, key)
    assert (status, differs["errors"][0]["path"]) == (422, "header.idempotency-key"), differs
    status, history = call(platform, "GET", f"{one}/runs", buyer, query={"status": "running"})
    assert status == 200 and [r["run_id"] for r in history["items"]] == [run["run_id"]]
    status, detail = call(platform, "GET", f"/v1/runs/{run['run_id']}", buyer)
    assert (status, detail["input"]) == (200, {"amounts": [1, 2]})
    status, cancelled = call(platform, "POST", f"/v1/runs/{run['run_id']}/cancel", buyer)
    assert (status, cancelled["status"]) == (200, "cancelled"), cancelled
    assert call(platform, "POST", f"/v1/runs/{run['run_id']}/cancel", buyer)[0] == 409


def test_another_organization_and_the_signed_out_get_nothing(
    platform: Platform, db: Database, services: Services, buyer: dict[str, str]
) -> None:
    subscription = automation(db, buyer["tenant_id"])
    buyer = portal_runtime(subscription, buyer)
    workflow_id = call(platform, "GET", f"/v1/subscriptions/{subscription.id}/workflows", buyer)[1]["items"][
        0
    ]["workflow_id"]
    other = caller_of(services, "Other Buyer", "buyer")
    other = portal_runtime(automation(db, other["tenant_id"]), other)
    for method, path in (
        ("GET", f"/v1/subscriptions/{subscription.id}/workflows"),
        ("GET", f"/v1/workflows/{workflow_id}"),
        ("POST", f"/v1/workflows/{workflow_id}/activate"),
        ("POST", f"/v1/workflows/{workflow_id}/pause"),
        ("GET", f"/v1/workflows/{workflow_id}/runs"),
    ):
        assert call(platform, method, path, other)[0] == 404, path
        assert call(platform, method, path, None)[0] == 401, path
    assert call(platform, "PUT", f"/v1/workflows/{workflow_id}", other, {"definition": DEFINITION})[0] == 404
    assert call(platform, "POST", f"/v1/workflows/{workflow_id}/runs", other, {"input": {}})[0] == 404


def test_a_webhook_delivery_through_the_public_route(
    platform: Platform, db: Database, buyer: dict[str, str]
) -> None:
    subscription = automation(db, buyer["tenant_id"])
    buyer = portal_runtime(subscription, buyer)
    workflow_id = call(platform, "GET", f"/v1/subscriptions/{subscription.id}/workflows", buyer)[1]["items"][
        0
    ]["workflow_id"]
    hooked = {
        "nodes": [{"id": "hook", "type": "webhook", "config": {"auth": "api_key"}}, DEFINITION["nodes"][1]],
        "edges": [{"source": "hook", "target": "total"}],
    }
    status, saved = call(platform, "PUT", f"/v1/workflows/{workflow_id}", buyer, {"definition": hooked})
    assert status == 200 and saved["webhook"]["auth"] == "api_key", saved
    assert call(platform, "POST", f"/v1/workflows/{workflow_id}/activate", buyer)[0] == 200
    path, key = saved["webhook"]["path"], saved["webhook"]["signing_key"]
    event = api_event("POST", path, {"amounts": [2, 3]}, None)
    event["headers"] = {**(event.get("headers") or {}), "X-API-Key": key, "X-Delivery-Id": "d-1"}
    response = platform.invoke("WorkflowHooksFunction", event)
    assert response["statusCode"] == 202, response["body"]
    again = platform.invoke("WorkflowHooksFunction", event)
    assert json.loads(again["body"])["run_id"] == json.loads(response["body"])["run_id"]
    status, manual = call(platform, "POST", f"/v1/workflows/{workflow_id}/runs", buyer, {"input": {}},
                          {"Idempotency-Key": "hook:d-1"})  # fmt: skip
    assert status == 202 and manual["run_id"] != json.loads(response["body"])["run_id"], manual
    changed = platform.invoke("WorkflowHooksFunction", {**event, "body": json.dumps({"amounts": [9]})})
    assert changed["statusCode"] == 422 and "X-Delivery-Id" in changed["body"], changed["body"]
    event["headers"]["X-API-Key"] = "wrong"
    assert platform.invoke("WorkflowHooksFunction", event)["statusCode"] == 401
