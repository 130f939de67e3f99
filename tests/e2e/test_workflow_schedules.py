"""A workflow's schedule fires in `make run`: activating a scheduled workflow creates its Scheduler schedule
in moto, the runner fires it (moto never does) onto the triggers queue, the trigger worker starts the run
and the step worker completes it."""

from __future__ import annotations

from typing import Any

import httpx

from cmp_dev.seed import BUYER

from .conftest import Account, eventually


def test_the_runner_fires_a_workflows_schedule(
    api: httpx.Client, seeded: dict[str, Any], stack_services: Any
) -> None:
    from cmp.aws.clients import client

    login = api.post("/v1/auth/login", json={"email": BUYER.email, "password": BUYER.password})
    buyer = Account(api, login.json()["access_token"])
    subscriptions = buyer.get(
        "/v1/subscriptions", params={"category": "automation", "status": "active"}
    ).json()
    subscription = subscriptions["items"][0]["subscription_id"]
    workflow = buyer.get(f"/v1/subscriptions/{subscription}/workflows").json()["items"][0]["workflow_id"]
    definition = {
        "nodes": [
            {"id": "tick", "type": "schedule", "config": {"interval": "5m"}},
            {"id": "stamp", "type": "transform", "config": {"set": {"at": "{{ input.scheduled_time }}"}}},
        ],
        "edges": [{"source": "tick", "target": "stamp"}],
    }
    assert buyer.put(f"/v1/workflows/{workflow}", json={"definition": definition}).status_code == 200
    active = buyer.post(f"/v1/workflows/{workflow}/activate").json()
    assert active["stats"]["next_run_at"] is not None
    # The schedule the API created fires every 5 minutes; a one-minute rate keeps the test short.
    scheduler = client("scheduler")
    schedule = scheduler.get_schedule(Name=f"cmp-workflow-{workflow}")
    scheduler.update_schedule(
        Name=schedule["Name"],
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=schedule["Target"],
        State="ENABLED",
    )

    def scheduled_run() -> dict[str, Any] | None:
        runs = buyer.get(f"/v1/workflows/{workflow}/runs", params={"status": "succeeded"}).json()["items"]
        return next((r for r in runs if r["trigger_type"] == "schedule"), None)

    run = eventually(scheduled_run, timeout=180, interval=2)
    steps = buyer.get(f"/v1/runs/{run['run_id']}").json()["steps"]
    assert steps[0]["step_id"] == "stamp" and steps[0]["output"]["at"].endswith("Z")
    buyer.post(f"/v1/workflows/{workflow}/pause")
    assert scheduler.get_schedule(Name=schedule["Name"])["State"] == "DISABLED"
