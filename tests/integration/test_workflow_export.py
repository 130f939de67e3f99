"""Run export through the real handler: JSON and CSV with every run, input masked, the status filter, 422
for an unknown format and 404 for another organization's workflow."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from cmp.bootstrap import Services
from cmp.db import Database

from .conftest import Platform, api_event, caller_of
from .workflow_support import automation, portal_runtime

DEFINITION = {
    "nodes": [
        {"id": "start", "type": "manual"},
        {"id": "total", "type": "transform", "config": {"expression": "sum(input.amounts)"}},
    ],
    "edges": [{"source": "start", "target": "total"}],
}


def _call(
    platform: Platform, method: str, path: str, who: dict[str, str], body: Any = None, **query: str
) -> dict[str, Any]:
    return platform.invoke("WorkflowsApiFunction", api_event(method, path, body, who, query or None))


def test_runs_export_as_json_and_csv_with_the_input_masked(
    platform: Platform, db: Database, services: Services
) -> None:
    buyer = caller_of(services, "Export Buyer", "buyer")
    other = caller_of(services, "Someone Else", "buyer")
    other = portal_runtime(automation(db, other["tenant_id"]), other)
    subscription = automation(db, buyer["tenant_id"])
    buyer = portal_runtime(subscription, buyer)
    listed = _call(platform, "GET", f"/v1/subscriptions/{subscription.id}/workflows", buyer)
    workflow_id = json.loads(listed["body"])["items"][0]["workflow_id"]
    one = f"/v1/workflows/{workflow_id}"
    assert _call(platform, "PUT", one, buyer, {"definition": DEFINITION})["statusCode"] == 200
    assert _call(platform, "POST", f"{one}/activate", buyer)["statusCode"] == 200
    run_ids = []
    for n in range(3):
        started = _call(
            platform, "POST", f"{one}/runs", buyer, {"input": {"amounts": [n], "password": "hunter2"}}
        )
        run_ids.append(json.loads(started["body"])["run_id"])
    _call(platform, "POST", f"/v1/runs/{run_ids[0]}/cancel", buyer)

    exported = _call(platform, "GET", f"{one}/runs/export", buyer)
    assert exported["statusCode"] == 200, exported
    body = json.loads(exported["body"])
    assert [r["run_id"] for r in body["items"]] == run_ids[::-1] and body["truncated"] is False
    assert body["items"][0]["input"] == {"amounts": [2], "password": "***"}
    assert "hunter2" not in exported["body"]

    as_csv = _call(platform, "GET", f"{one}/runs/export", buyer, format="csv", status="cancelled")
    assert as_csv["statusCode"] == 200, as_csv
    assert as_csv["multiValueHeaders"]["Content-Type"][0].startswith("text/csv"), as_csv
    rows = list(csv.DictReader(io.StringIO(as_csv["body"])))
    assert [(r["run_id"], r["status"]) for r in rows] == [(run_ids[0], "cancelled")]
    assert json.loads(rows[0]["input"]) == {"amounts": [0], "password": "***"}

    assert _call(platform, "GET", f"{one}/runs/export", buyer, format="xlsx")["statusCode"] == 422
    assert _call(platform, "GET", f"{one}/runs/export", other)["statusCode"] == 404
