"""Workflow runs through the runtime gateway, against real PostgreSQL and moto: API runs and re-runs are held
to the plan's `executions` quota (429 `quota_exceeded` naming it, its use and reset; a retry of a run
already started is still answered with it) and every success carries the RateLimit headers; a webhook
refused by the rate limit is a 429 with Retry-After that starts nothing; a schedule firing over the quota is
recorded as a failed run naming the quota, once per firing; another organization's credentials get 404."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import pytest

from cmp.aws.clients import client
from cmp.bootstrap import Services
from cmp.commerce.model import Subscription
from cmp.db import Database
from cmp.gateway.errors import RateLimited
from tests.subscriptions import capabilities, subscribe

from .conftest import Platform, api_event, caller_of
from .workflow_support import portal_runtime, with_workflow_engine

API, HOOKS = "WorkflowsApiFunction", "WorkflowHooksFunction"
STEP = {"id": "total", "type": "transform", "config": {"expression": "sum(input.amounts)"}}


def invoke(
    platform: Platform, function: str, method: str, path: str, who: dict[str, str] | None, body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
    event = api_event(method, path, body, who)
    event["headers"] = {**(event.get("headers") or {}), **(headers or {})}
    event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
    answer = platform.invoke(function, event)
    sent = {k: v[-1] for k, v in (answer.get("multiValueHeaders") or {}).items()} | (
        answer.get("headers") or {}
    )
    return answer["statusCode"], json.loads(answer["body"]) if answer["body"] else None, sent


def on_plan(db: Database, tenant: str, limits: dict[str, Any]) -> Subscription:
    """An active automation subscription of `tenant` on a Pro plan with `limits`."""
    plan = {"id": "plan_pro", "name": "Pro", "tier": "pro", "limits": limits}
    subscription = subscribe(db, tenant, capabilities("automation", "scheduled"), plan=plan, slug="crm-sync")
    with db.session(tenant) as session:
        session.execute("update subscriptions set category = 'automation' where id = %s", (subscription.id,))
    return subscription


def definition(trigger: dict[str, Any]) -> dict[str, Any]:
    return {"nodes": [trigger, STEP], "edges": [{"source": trigger["id"], "target": "total"}]}


def activated(services: Services, tenant: str, subscription: Subscription, trigger: dict[str, Any]) -> str:
    """The subscription's first workflow, saved with `trigger` and activated through the services."""
    [first] = services.workflows.list(tenant, subscription.id)
    workflow_id = uuid.UUID(first["workflow_id"])
    services.workflows.replace(tenant, workflow_id, {"definition": definition(trigger)})
    return str(services.workflows.activate(tenant, workflow_id)["workflow_id"])


def activated_by_api(platform: Platform, who: dict[str, str], trigger: dict[str, Any]) -> dict[str, Any]:
    """The caller's first workflow, saved with `trigger` and activated through the API; returns it."""
    listed = invoke(platform, API, "GET", f"/v1/subscriptions/{who['subscription_id']}/workflows", who)[1]
    one = f"/v1/workflows/{listed['items'][0]['workflow_id']}"
    assert invoke(platform, API, "PUT", one, who, {"definition": definition(trigger)})[0] == 200
    status, workflow, _ = invoke(platform, API, "POST", f"{one}/activate", who)
    assert status == 200, workflow
    return dict(workflow)


@pytest.fixture
def buyer(services: Services) -> dict[str, str]:
    return caller_of(services, "Gated Buyer", "buyer")


@pytest.fixture
def engine(services: Services) -> Services:
    """`services` with a steps queue and the triggers queue schedules deliver to."""
    base, _ = with_workflow_engine(services)
    sqs = client("sqs")
    queue = sqs.create_queue(QueueName=f"triggers-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    settings = replace(
        base.settings,
        workflow_triggers_queue_arn=arn,
        workflow_scheduler_role_arn="arn:aws:iam::123456789012:role/cmp-workflow-scheduler",
    )
    return Services(
        settings=settings, db=base.db, hasher=base.hasher, workflow_hook_key=lambda: "test-hook-secret"
    )


SCHEDULE = {"id": "every", "type": "schedule", "config": {"preset": "hourly"}}


def test_api_runs_are_held_to_the_executions_quota_with_ratelimit_headers(
    platform: Platform, db: Database, services: Services, buyer: dict[str, str]
) -> None:
    subscription = on_plan(db, buyer["tenant_id"], {"executions": 2, "rateLimitRpm": 600})
    who = portal_runtime(subscription, buyer)
    workflow_id = activated_by_api(platform, who, {"id": "start", "type": "manual"})["workflow_id"]
    runs = f"/v1/workflows/{workflow_id}/runs"
    once = {"Idempotency-Key": "first"}
    status, first, headers = invoke(platform, API, "POST", runs, who, {"input": {"amounts": [1]}}, once)
    assert status == 202, first
    assert headers["RateLimit-Policy"] == '"key";q=600;w=60, "subscription";q=600;w=60', headers
    status, rerun, headers = invoke(platform, API, "POST", f"/v1/runs/{first['run_id']}/rerun", who)
    assert (status, rerun["rerun_of"]) == (202, first["run_id"]) and "RateLimit" in headers
    other_input = {"input": {"amounts": [9]}}  # a rerun takes no body: refused, never run with the old input
    status, refused, _ = invoke(platform, API, "POST", f"/v1/runs/{first['run_id']}/rerun", who, other_input)
    assert (status, refused["errors"][0]["path"]) == (422, "body"), refused
    status, refused, headers = invoke(platform, API, "POST", runs, who, {"input": {"amounts": [2]}})
    assert (status, refused["error"]) == (429, "quota_exceeded"), refused
    assert (
        refused["errors"][0]["path"] == "quota.executions"
        and "used 2 of 2" in refused["errors"][0]["message"]
    )
    assert "resets at" in refused["message"] and int(headers["Retry-After"]) > 0
    status, _, _ = invoke(platform, API, "POST", f"/v1/runs/{first['run_id']}/rerun", who)
    assert status == 429
    status, again, _ = invoke(platform, API, "POST", runs, who, {"input": {"amounts": [1]}}, once)
    assert (status, again["run_id"]) == (202, first["run_id"])  # a retry of a started run is answered
    for path in (runs, f"/v1/runs/{first['run_id']}", f"/v1/workflows/{workflow_id}"):
        status, _, headers = invoke(platform, API, "GET", path, who)  # the control plane: not admitted
        assert status == 200 and "RateLimit" not in headers, (path, headers)
    listed = services.workflow_runs.export(buyer["tenant_id"], uuid.UUID(workflow_id), None)["items"]
    assert len(listed) == 2
    other_org = caller_of(services, "Other Org", "buyer")
    other = portal_runtime(on_plan(db, other_org["tenant_id"], {"executions": 100}), other_org)
    assert invoke(platform, API, "POST", runs, other, {"input": {}})[0] == 404
    assert invoke(platform, API, "GET", f"/v1/runs/{first['run_id']}", other)[0] == 404


def test_a_webhook_over_the_rate_limit_is_a_429_that_starts_nothing(
    platform: Platform, db: Database, engine: Services, buyer: dict[str, str]
) -> None:
    subscription = on_plan(db, buyer["tenant_id"], {"rateLimitRpm": 1})  # burst 1
    workflow_id = activated(
        engine,
        buyer["tenant_id"],
        subscription,
        {"id": "hook", "type": "webhook", "config": {"auth": "none"}},
    )
    path = engine.workflows.get(buyer["tenant_id"], uuid.UUID(workflow_id))["webhook"]["path"]
    status, first, headers = invoke(
        platform, HOOKS, "POST", path, None, {"amounts": [1]}, {"X-Delivery-Id": "a"}
    )
    assert status == 202, first
    assert headers["RateLimit-Policy"].startswith('"key";q=1;w=60'), headers
    status, refused, headers = invoke(
        platform, HOOKS, "POST", path, None, {"amounts": [2]}, {"X-Delivery-Id": "b"}
    )
    assert (status, refused["error"]) == (429, "rate_limited"), refused
    assert int(headers["Retry-After"]) >= 1
    runs = engine.workflow_runs.export(buyer["tenant_id"], uuid.UUID(workflow_id), None)["items"]
    assert [r["run_id"] for r in runs] == [first["run_id"]]  # the refused delivery started nothing


def test_a_schedule_firing_over_the_quota_is_recorded_as_a_failed_run_once(
    db: Database, engine: Services, buyer: dict[str, str]
) -> None:
    services, tenant = engine, buyer["tenant_id"]
    subscription = on_plan(db, tenant, {"executions": 1})
    workflow_id = uuid.UUID(activated(services, tenant, subscription, SCHEDULE))
    firing = {"kind": "schedule", "tenant_id": tenant, "workflow_id": str(workflow_id)}
    [ran] = services.workflow_triggers.handle({**firing, "scheduled_time": "2026-11-30T10:00:00Z"})
    [skipped] = services.workflow_triggers.handle({**firing, "scheduled_time": "2026-11-30T11:00:00Z"})
    assert services.workflow_triggers.handle({**firing, "scheduled_time": "2026-11-30T11:00:00Z"}) == [
        skipped
    ]
    detail = services.workflow_runs.detail(tenant, uuid.UUID(skipped.removeprefix("run:")))
    assert (detail["status"], detail["trigger_type"], detail["error"]) == (
        "failed",
        "schedule",
        "Quota.Exceeded",
    )
    assert "executions quota is used up (1 of 1)" in detail["error_details"]["Cause"], detail
    assert detail["steps"] == []
    stats = services.workflows.get(tenant, workflow_id)["stats"]
    assert (stats["total_runs"], stats["failed_runs"]) == (1, 1), stats
    with db.session(tenant) as session:
        finished = session.fetch_all(
            "select payload from outbox where name = 'workflow.run.finished' and payload->>'run_id' = %s",
            (skipped.removeprefix("run:"),),
        )
    assert [f["payload"]["status"] for f in finished] == ["failed"]  # its failure alerts follow
    assert ran.startswith("run:") and ran != skipped


def test_a_schedule_firing_over_the_rate_limit_goes_back_to_its_queue(
    db: Database, engine: Services, buyer: dict[str, str]
) -> None:
    services, tenant = engine, buyer["tenant_id"]
    subscription = on_plan(db, tenant, {"rateLimitRpm": 1})
    workflow_id = activated(services, tenant, subscription, SCHEDULE)
    firing = {"kind": "schedule", "tenant_id": tenant, "workflow_id": workflow_id}
    services.workflow_triggers.handle({**firing, "scheduled_time": "2026-11-30T10:00:00Z"})
    with pytest.raises(RateLimited):  # a failed message: SQS delivers it again later
        services.workflow_triggers.handle({**firing, "scheduled_time": "2026-11-30T11:00:00Z"})
    assert len(services.workflow_runs.export(tenant, uuid.UUID(workflow_id), None)["items"]) == 1
