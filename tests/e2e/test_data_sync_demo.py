"""The "Data Sync Automation" demo on the `make run` stack: the demo buyer's workflow is active on an hourly
schedule; "Run Now" succeeds with every step in its history (fetch from the runner's inventory feed,
transform, PostgreSQL upsert, Slack-style message), the rows land in the demo table and the message in the
runner's sink."""

from __future__ import annotations

import time
from typing import Any

import httpx
import psycopg
import pytest

from cmp_dev.demo_sync import DATABASE
from cmp_dev.local.demo_endpoints import INVENTORY
from cmp_dev.local.dev import Stack
from cmp_dev.local.stack import with_database
from cmp_dev.seed import BUYER

pytestmark = pytest.mark.e2e


def test_run_now_syncs_the_inventory_and_notifies(
    stack: Stack, api: httpx.Client, seeded: dict[str, Any]
) -> None:
    demo = seeded["data_sync"]
    assert demo is not None
    token = api.post("/v1/auth/login", json={"email": BUYER.email, "password": BUYER.password}).json()
    auth = {"Authorization": f"Bearer {token['access_token']}"}
    workflow = api.get(f"/v1/workflows/{demo['workflow_id']}", headers=auth).json()
    assert (workflow["name"], workflow["status"]) == ("Data Sync Automation", "active"), workflow
    assert workflow["trigger"]["type"] == "schedule" and workflow["stats"]["next_run_at"] is not None
    before = len(api.get("/demo/slack").json()["messages"])

    started = api.post(f"/v1/workflows/{demo['workflow_id']}/runs", headers=auth, json={"input": {}})
    assert started.status_code == 202, started.text
    run_path = f"/v1/runs/{started.json()['run_id']}"
    deadline = time.monotonic() + 120
    while (detail := api.get(run_path, headers=auth).json())["status"] == "running":
        assert time.monotonic() < deadline, detail
        time.sleep(2)
    steps = {s["step_id"]: s for s in detail["steps"]}
    assert detail["status"] == "succeeded", [(s["step_id"], s["error"]) for s in detail["steps"]]
    assert list(steps) == ["fetch", "shape", "upsert", "notify"]
    assert all(s["status"] == "succeeded" for s in steps.values())
    assert steps["fetch"]["output"]["status"] == 200
    assert steps["upsert"]["output"] == {"rowCount": len(INVENTORY)}
    assert steps["upsert"]["input"]["connection"] == "DEMO_DB"  # the secret's name, never its value
    assert "postgresql://" not in str(detail)

    with psycopg.connect(with_database(stack.postgres.owner_url, DATABASE)) as conn:
        rows = conn.execute("select sku, quantity from inventory order by sku").fetchall()
    assert rows == sorted((item["sku"], item["quantity"]) for item in INVENTORY)
    messages = api.get("/demo/slack").json()["messages"]
    # The banner prints the sink at the runner's address (127.0.0.1); the step posted to it as localhost.
    port = httpx.URL(stack.runner.base_url).port
    for host in ("127.0.0.1", "localhost"):
        assert httpx.get(f"http://{host}:{port}/demo/slack", timeout=10).json()["messages"] == messages
    assert len(messages) == before + 1
    assert messages[-1]["text"] == f"Data Sync: {len(INVENTORY)} products synced from the inventory feed"
