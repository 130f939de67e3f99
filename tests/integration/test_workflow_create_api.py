"""`POST /v1/subscriptions/{id}/workflows` through the real handler: the buyer adds a draft workflow (201),
a definition with problems is a 422 at its path, a sub-workflow naming another organization's workflow is
refused as unknown, another organization gets 404 and the signed out 401."""

from __future__ import annotations

import json
from typing import Any

from cmp.bootstrap import Services
from cmp.db import Database

from .conftest import Platform, api_event, caller_of
from .workflow_support import automation, portal_runtime

SUB_WORKFLOWS = {"workflowAdvanced": {"enabled": True, "flow": {"subWorkflows": True}}}
CHILD = {
    "nodes": [
        {"id": "start", "type": "manual"},
        {"id": "total", "type": "transform", "config": {"expression": "sum(input.amounts)"}},
    ],
    "edges": [{"source": "start", "target": "total"}],
}


def call(platform: Platform, path: str, who: dict[str, str] | None, body: Any) -> tuple[int, Any]:
    response = platform.invoke("WorkflowsApiFunction", api_event("POST", path, body, who))
    return response["statusCode"], json.loads(response["body"]) if response["body"] else None


def _calling(workflow_id: str) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "start", "type": "manual"},
            {"id": "sub", "type": "subworkflow", "config": {"workflowId": workflow_id}},
        ],
        "edges": [{"source": "start", "target": "sub"}],
    }


def test_a_buyer_adds_workflows_and_another_organization_cannot(
    platform: Platform, db: Database, services: Services
) -> None:
    buyer = caller_of(services, "Workflow Buyer", "buyer")
    subscription = automation(db, buyer["tenant_id"], configuration=SUB_WORKFLOWS)
    buyer = portal_runtime(subscription, buyer)
    path = f"/v1/subscriptions/{subscription.id}/workflows"
    status, child = call(platform, path, buyer, {"name": "Totals", "definition": CHILD})
    assert (status, child["status"], child["version"], child["source"]) == (201, "draft", 1, "custom"), child
    status, parent = call(
        platform, path, buyer, {"name": "Parent", "definition": _calling(child["workflow_id"])}
    )
    assert status == 201 and parent["runnable"], parent
    status, bad = call(
        platform, path, buyer, {"name": "Bad", "definition": {"nodes": [{"id": "x", "type": "?"}]}}
    )
    assert (status, bad["errors"][0]["path"]) == (422, "definition.nodes[0].type"), bad

    other = caller_of(services, "Other Buyer", "buyer")
    other_subscription = automation(db, other["tenant_id"], configuration=SUB_WORKFLOWS)
    other = portal_runtime(other_subscription, other)
    assert call(platform, path, other, {"name": "Mine", "definition": CHILD})[0] == 404
    assert call(platform, path, None, {"name": "Mine", "definition": CHILD})[0] == 401
    theirs = f"/v1/subscriptions/{other_subscription.id}/workflows"
    status, refused = call(
        platform, theirs, other, {"name": "P", "definition": _calling(child["workflow_id"])}
    )
    assert status == 422, refused
    assert refused["errors"][0]["path"] == "definition.nodes[1].config.workflowId"
    assert "no workflow" in refused["errors"][0]["message"]
