"""Workflows against real PostgreSQL and moto's Step Functions engine: the first workflow of an automation,
new versions checked against the capability snapshot, activation (moto validates the compiled ASL), runs
through the callback pattern with every step recorded, idempotency, cancel and rerun, and isolation between
organizations."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

import pytest

from cmp.aws.clients import client
from cmp.bootstrap import Services
from cmp.catalog.paging import ProductPage
from cmp.db import Database
from cmp.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from cmp.workflows.actions import sign

from .commerce_support import new_tenant
from .workflow_support import automation, drive, with_workflow_engine

SYNC: dict[str, Any] = {
    "variables": {"threshold": 2},
    "nodes": [
        {"id": "start", "type": "manual"},
        {"id": "pick", "type": "transform", "config": {"expression": "input.orders[?total > `10`]"}},
        {
            "id": "enough",
            "type": "if",
            "config": {"condition": {"left": "{{ input.source }}", "operator": "regex", "right": "^crm-"}},
        },
        {
            "id": "each",
            "type": "loop",
            "config": {"items": "{{ steps.pick.value }}", "maxIterations": 10, "parallelism": 2},
            "body": {
                "nodes": [
                    {
                        "id": "line",
                        "type": "transform",
                        "config": {"set": {"id": "{{ item.id }}", "n": "{{ index }}"}},
                    }
                ],
                "edges": [],
            },
        },
        {
            "id": "ids",
            "type": "transform",
            "config": {"language": "jsonpath", "expression": "$.steps.pick.value[*].id"},
        },
        {"id": "skipped", "type": "transform", "config": {"set": {"skipped": True}}},
    ],
    "edges": [
        {"source": "start", "target": "pick"},
        {"source": "pick", "target": "enough"},
        {"source": "enough", "target": "each", "when": "true"},
        {"source": "enough", "target": "skipped", "when": "false"},
        {"source": "each", "target": "ids"},
    ],
}
ORDERS = {
    "source": "crm-eu",
    "orders": [{"id": "a", "total": 5}, {"id": "b", "total": 12}, {"id": "c", "total": 30}],
}


@pytest.fixture
def engine(services: Services) -> tuple[Services, str]:
    return with_workflow_engine(services)


def _activated(
    services: Services, tenant: str, subscription_id: uuid.UUID, definition: dict[str, Any]
) -> str:
    [first] = services.workflows.list(tenant, subscription_id)
    workflow_id = uuid.UUID(first["workflow_id"])
    services.workflows.replace(tenant, workflow_id, {"definition": definition, "name": "CRM sync"})
    services.workflows.activate(tenant, workflow_id)
    return first["workflow_id"]


def test_an_automation_gets_a_first_workflow_once(db: Database, engine: tuple[Services, str]) -> None:
    services, _ = engine
    tenant = new_tenant(db, "Automation Buyer")
    subscription = automation(db, tenant)
    first = services.workflows.list(tenant, subscription.id)
    again = services.workflows.list(tenant, subscription.id)
    assert [w["workflow_id"] for w in first] == [w["workflow_id"] for w in again]
    assert first[0]["status"] == "draft" and first[0]["trigger"]["type"] == "manual"
    assert first[0]["runnable"] is True and first[0]["version"] == 1


def test_a_run_goes_through_every_step_and_is_recorded(db: Database, engine: tuple[Services, str]) -> None:
    services, queue = engine
    tenant = new_tenant(db, "Automation Buyer")
    subscription = automation(db, tenant)
    workflow_id = _activated(services, tenant, subscription.id, SYNC)
    started = services.workflow_runs.start(tenant, uuid.UUID(workflow_id), ORDERS)
    assert started["status"] == "running"
    detail = drive(services, queue, tenant, started["run_id"])
    assert detail["status"] == "succeeded", detail
    steps = {(s["step_id"], s["status"]) for s in detail["steps"]}
    assert steps == {("pick", "succeeded"), ("line", "succeeded"), ("ids", "succeeded")}
    lines = sorted(s["output"]["id"] for s in detail["steps"] if s["step_id"] == "line")
    assert lines == ["b", "c"]
    ids = next(s for s in detail["steps"] if s["step_id"] == "ids")
    assert ids["output"] == {"value": ["b", "c"]}
    workflow = services.workflows.get(tenant, uuid.UUID(workflow_id))
    assert (workflow["stats"]["total_runs"], workflow["stats"]["successful_runs"]) == (1, 1)


def test_the_false_branch_runs_when_the_regex_does_not_match(
    db: Database, engine: tuple[Services, str]
) -> None:
    services, queue = engine
    tenant = new_tenant(db, "Automation Buyer")
    workflow_id = _activated(services, tenant, automation(db, tenant).id, SYNC)
    started = services.workflow_runs.start(tenant, uuid.UUID(workflow_id), {**ORDERS, "source": "erp"})
    detail = drive(services, queue, tenant, started["run_id"])
    assert [s["step_id"] for s in detail["steps"]] == ["pick", "skipped"]


def test_a_failing_step_fails_the_run_with_its_error(db: Database, engine: tuple[Services, str]) -> None:
    services, queue = engine
    tenant = new_tenant(db, "Automation Buyer")
    broken = {
        "nodes": [
            {"id": "start", "type": "manual"},
            {"id": "bad", "type": "transform", "config": {"expression": "no_such_function(input)"}},
        ],
        "edges": [{"source": "start", "target": "bad"}],
    }
    workflow_id = _activated(services, tenant, automation(db, tenant).id, broken)
    started = services.workflow_runs.start(tenant, uuid.UUID(workflow_id), {})
    detail = drive(services, queue, tenant, started["run_id"])
    assert detail["status"] == "failed"
    assert detail["error"] == "Transform.Invalid"
    assert detail["steps"][0]["status"] == "failed" and "JMESPath" in detail["steps"][0]["error"]


def test_continue_records_the_error_and_goes_on(db: Database, engine: tuple[Services, str]) -> None:
    services, queue = engine
    tenant = new_tenant(db, "Automation Buyer")
    definition = {
        "nodes": [
            {"id": "start", "type": "manual"},
            {
                "id": "bad",
                "type": "transform",
                "config": {"expression": "no_such_function(input)"},
                "onError": {"strategy": "continue"},
            },
            {"id": "after", "type": "transform", "config": {"expression": "steps.bad.Error"}},
        ],
        "edges": [{"source": "start", "target": "bad"}, {"source": "bad", "target": "after"}],
    }
    workflow_id = _activated(services, tenant, automation(db, tenant).id, definition)
    detail = drive(
        services, queue, tenant, services.workflow_runs.start(tenant, uuid.UUID(workflow_id), {})["run_id"]
    )
    assert detail["status"] == "succeeded"
    assert detail["steps"][-1]["output"] == {"value": "Transform.Invalid"}


def test_an_idempotency_key_returns_the_first_run(db: Database, engine: tuple[Services, str]) -> None:
    services, _ = engine
    tenant = new_tenant(db, "Automation Buyer")
    workflow_id = uuid.UUID(_activated(services, tenant, automation(db, tenant).id, SYNC))
    first = services.workflow_runs.start(tenant, workflow_id, ORDERS, idempotency_key="delivery-1")
    second = services.workflow_runs.start(tenant, workflow_id, {"other": 1}, idempotency_key="delivery-1")
    assert second["run_id"] == first["run_id"]
    with db.session(tenant) as session:
        metered = session.fetch_all(
            "select metric, quantity from usage_records where dedup_key like 'workflow-run:%%'"
        )
    assert [(r["metric"], r["quantity"]) for r in metered] == [("executions", 1)]
    assert len(services.workflow_runs.page(tenant, workflow_id, None, ProductPage(10))["items"]) == 1


def test_a_callers_key_replays_only_the_same_input_and_each_trigger_has_its_own_keyspace(
    db: Database, engine: tuple[Services, str]
) -> None:
    services, _ = engine
    tenant = new_tenant(db, "Keyspace Buyer")
    workflow_id = uuid.UUID(_activated(services, tenant, automation(db, tenant).id, SYNC))
    runs = services.workflow_runs
    first = runs.start(tenant, workflow_id, ORDERS, idempotency_key="k-1", key_header="Idempotency-Key")
    again = runs.start(tenant, workflow_id, dict(ORDERS), idempotency_key="k-1", key_header="Idempotency-Key")
    assert again["run_id"] == first["run_id"]
    with pytest.raises(ValidationFailed) as refused:
        runs.start(tenant, workflow_id, {"other": 1}, idempotency_key="k-1", key_header="Idempotency-Key")
    assert "Idempotency-Key" in refused.value.message
    assert [e.path for e in refused.value.errors] == ["header.idempotency-key"]
    assert "input differs" in refused.value.errors[0].message
    hooked = runs.start(
        tenant,
        workflow_id,
        ORDERS,
        trigger_type="webhook",
        idempotency_key="hook:x",
        key_header="X-Delivery-Id",
    )
    manual = runs.start(tenant, workflow_id, ORDERS, idempotency_key="hook:x", key_header="Idempotency-Key")
    assert len({hooked["run_id"], manual["run_id"], first["run_id"]}) == 3
    assert (hooked["trigger_type"], manual["trigger_type"]) == ("webhook", "manual")
    assert len(runs.page(tenant, workflow_id, None, ProductPage(10))["items"]) == 3


def test_cancel_stops_the_run_and_rerun_starts_a_new_one(db: Database, engine: tuple[Services, str]) -> None:
    services, queue = engine
    tenant = new_tenant(db, "Automation Buyer")
    workflow_id = uuid.UUID(_activated(services, tenant, automation(db, tenant).id, SYNC))
    run = services.workflow_runs.start(tenant, workflow_id, ORDERS)
    [first_step] = client("sqs").receive_message(QueueUrl=queue, WaitTimeSeconds=5)["Messages"]
    cancelled = services.workflow_runs.cancel(tenant, uuid.UUID(run["run_id"]))
    assert cancelled["status"] == "cancelled"
    services.step_worker.handle(json.loads(first_step["Body"]))  # late: the run is cancelled, no step runs
    client("sqs").delete_message(QueueUrl=queue, ReceiptHandle=first_step["ReceiptHandle"])
    assert services.workflow_runs.detail(tenant, uuid.UUID(run["run_id"]))["steps"] == []
    with pytest.raises(Conflict):
        services.workflow_runs.cancel(tenant, uuid.UUID(run["run_id"]))
    again = services.workflow_runs.rerun(tenant, uuid.UUID(run["run_id"]))
    assert again["rerun_of"] == run["run_id"] and again["run_id"] != run["run_id"]
    assert drive(services, queue, tenant, again["run_id"])["status"] == "succeeded"
    page = services.workflow_runs.page(tenant, workflow_id, "cancelled", ProductPage(10))
    assert [r["run_id"] for r in page["items"]] == [run["run_id"]]


def test_runs_page_newest_first_with_a_cursor(db: Database, engine: tuple[Services, str]) -> None:
    services, _ = engine
    tenant = new_tenant(db, "Automation Buyer")
    workflow_id = uuid.UUID(_activated(services, tenant, automation(db, tenant).id, SYNC))
    ids = [services.workflow_runs.start(tenant, workflow_id, ORDERS)["run_id"] for _ in range(3)]
    first = services.workflow_runs.page(tenant, workflow_id, None, ProductPage(2))
    second = services.workflow_runs.page(
        tenant, workflow_id, None, ProductPage.from_query("2", first["next_cursor"])
    )
    assert [r["run_id"] for r in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None


def test_a_definition_beyond_the_capabilities_is_a_422_and_keeps_the_version(
    db: Database, engine: tuple[Services, str]
) -> None:
    services, _ = engine
    tenant = new_tenant(db, "Automation Buyer")
    subscription = automation(
        db, tenant, configuration={"workflowAdvanced": {"flow": {"conditionals": False, "loops": False}}}
    )
    [first] = services.workflows.list(tenant, subscription.id)
    with pytest.raises(ValidationFailed) as refused:
        services.workflows.replace(tenant, uuid.UUID(first["workflow_id"]), {"definition": SYNC})
    paths = {e.path for e in refused.value.errors}
    assert "definition.nodes[2]" in paths and "definition.nodes[3]" in paths  # conditionals and loops off
    assert services.workflows.get(tenant, uuid.UUID(first["workflow_id"]))["version"] == 1


def test_running_needs_an_active_workflow_and_pause_resume(
    db: Database, engine: tuple[Services, str]
) -> None:
    services, _ = engine
    tenant = new_tenant(db, "Automation Buyer")
    [first] = services.workflows.list(tenant, automation(db, tenant).id)
    workflow_id = uuid.UUID(first["workflow_id"])
    with pytest.raises(Conflict):
        services.workflow_runs.start(tenant, workflow_id, {})
    services.workflows.activate(tenant, workflow_id)
    assert services.workflows.pause(tenant, workflow_id)["status"] == "paused"
    with pytest.raises(Conflict):
        services.workflow_runs.start(tenant, workflow_id, {})
    assert services.workflows.resume(tenant, workflow_id)["status"] == "active"


def test_another_organization_sees_nothing(db: Database, engine: tuple[Services, str]) -> None:
    services, _ = engine
    tenant, other = new_tenant(db, "Automation Buyer"), new_tenant(db, "Automation Buyer")
    subscription = automation(db, tenant)
    workflow_id = uuid.UUID(_activated(services, tenant, subscription.id, SYNC))
    run = services.workflow_runs.start(tenant, workflow_id, ORDERS)
    for attempt in (
        lambda: services.workflows.list(other, subscription.id),
        lambda: services.workflows.get(other, workflow_id),
        lambda: services.workflows.activate(other, workflow_id),
        lambda: services.workflow_runs.start(other, workflow_id, {}),
        lambda: services.workflow_runs.detail(other, uuid.UUID(run["run_id"])),
        lambda: services.workflow_runs.cancel(other, uuid.UUID(run["run_id"])),
    ):
        with pytest.raises(NotFound):
            attempt()


def test_a_two_hundred_node_workflow_runs(db: Database, engine: tuple[Services, str]) -> None:
    services, queue = engine
    tenant = new_tenant(db, "Automation Buyer")
    nodes: list[dict[str, Any]] = [{"id": "start", "type": "manual"}]
    nodes += [{"id": f"s{i}", "type": "transform", "config": {"set": {"i": i}}} for i in range(199)]
    edges = [{"source": a["id"], "target": b["id"]} for a, b in itertools.pairwise(nodes)]
    workflow_id = _activated(services, tenant, automation(db, tenant).id, {"nodes": nodes, "edges": edges})
    run = services.workflow_runs.start(tenant, uuid.UUID(workflow_id), {})
    detail = drive(services, queue, tenant, run["run_id"], timeout=300)
    assert detail["status"] == "succeeded"
    assert [s["step_id"] for s in detail["steps"]] == [f"s{i}" for i in range(199)]


HOOKED: dict[str, Any] = {
    "nodes": [
        {"id": "hook", "type": "webhook", "config": {"method": "POST", "auth": "signature"}},
        {"id": "echo", "type": "transform", "config": {"expression": "input.order"}},
    ],
    "edges": [{"source": "hook", "target": "echo"}],
}


def test_a_signed_webhook_delivery_runs_once(db: Database, engine: tuple[Services, str]) -> None:
    services, queue = engine
    services.workflow_hook_key = lambda: "hook-secret-for-tests"
    tenant = new_tenant(db, "Automation Buyer")
    workflow_id = _activated(services, tenant, automation(db, tenant).id, HOOKED)
    hook = services.workflows.get(tenant, uuid.UUID(workflow_id))["webhook"]
    webhook_id = hook["path"].rsplit("/", 1)[1]
    body = b'{"order": "A-7"}'
    now = int(time.time())
    headers = {"X-CMP-Signature": sign(hook["signing_key"], body, now), "Idempotency-Key": "delivery-1"}
    first = services.workflow_hooks.deliver(webhook_id, headers, body)
    again = services.workflow_hooks.deliver(webhook_id, headers, body)
    assert again["run_id"] == first["run_id"] and first["trigger_type"] == "webhook"
    detail = drive(services, queue, tenant, first["run_id"])
    assert detail["steps"][0]["output"] == {"value": "A-7"}
    for bad in (
        {"X-CMP-Signature": sign("not-the-key", body, now)},
        {"X-CMP-Signature": sign(hook["signing_key"], body, now - 600)},
        {"X-CMP-Signature": sign(hook["signing_key"], b'{"order": "B"}', now)},
        {},
    ):
        with pytest.raises(Unauthorized):
            services.workflow_hooks.deliver(webhook_id, bad, body)
    with pytest.raises(NotFound):
        services.workflow_hooks.deliver("wh_" + "x" * 24, headers, body)


def test_a_webhook_body_is_stored_or_refused_by_path_never_a_500(
    db: Database, engine: tuple[Services, str]
) -> None:
    services, _ = engine
    services.workflow_hook_key = lambda: "hook-secret-for-tests"
    tenant = new_tenant(db, "Automation Buyer")
    workflow_id = _activated(services, tenant, automation(db, tenant).id, HOOKED)
    hook = services.workflows.get(tenant, uuid.UUID(workflow_id))["webhook"]
    webhook_id = hook["path"].rsplit("/", 1)[1]

    def deliver(body: bytes) -> dict[str, Any]:
        headers = {"X-CMP-Signature": sign(hook["signing_key"], body, int(time.time()))}
        return services.workflow_hooks.deliver(webhook_id, headers, body)

    deep = b'{"a": ' * 70 + b"1" + b"}" * 70
    for body, path in (
        (b'{"order": "x\\u0000y"}', "order"),
        (b'{"order": "\\ud800"}', "order"),
        (b"order=x\x00y", "body"),
        (deep, "a." * 63 + "a"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            deliver(body)
        assert [e.path for e in refused.value.errors] == [path], (body[:30], refused.value.errors)
    too_deep = b'{"a": ' * 3000 + b"1" + b"}" * 3000
    for body in (b'{"order": NaN}', b'{"order": 1e999}', too_deep):
        run = deliver(body)
        assert services.workflow_runs.detail(tenant, uuid.UUID(run["run_id"]))["input"] == {
            "body": body.decode()
        }


def test_only_a_webhook_trigger_answers_its_address(db: Database, engine: tuple[Services, str]) -> None:
    services, _ = engine
    services.workflow_hook_key = lambda: "hook-secret-for-tests"
    tenant = new_tenant(db, "Automation Buyer")
    manual = services.workflows.list(tenant, automation(db, tenant).id)[0]
    with db.session(tenant) as session:
        row = session.fetch_one("select webhook_id from workflows where id = %s", (manual["workflow_id"],))
    assert row is not None and manual["webhook"] is None
    with pytest.raises(NotFound):
        services.workflow_hooks.deliver(row["webhook_id"], {}, b"{}")
