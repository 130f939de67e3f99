"""Sub-workflows in real runs (moto Step Functions, the step worker): a parent's `subworkflow` step starts
the child's own run, waits for it and gets its steps back; a chain that became too deep fails the step
with a readable error; cancelling the parent cancels the child; a parent's step that times out (its
`timeoutSeconds` shorter than the child takes) cancels the child, whether the parent then fails or goes on."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from cmp.aws.clients import client
from cmp.bootstrap import Services
from cmp.db import Database
from cmp.errors import ValidationFailed

from .commerce_support import new_tenant
from .workflow_support import automation, drive, with_workflow_engine

SUB_WORKFLOWS = {
    "workflowAdvanced": {
        "enabled": True,
        "flow": {"subWorkflows": True},
        "detail": {"flow": {"subWorkflows": {"enabled": True, "maxDepth": 1, "passingVariables": True}}},
    }
}
CHILD: dict[str, Any] = {
    "nodes": [
        {"id": "start", "type": "manual"},
        {"id": "double", "type": "transform", "config": {"expression": "input.count"}},
        {"id": "label", "type": "transform", "config": {"set": {"sku": "{{ input.sku }}"}}},
    ],
    "edges": [{"source": "start", "target": "double"}, {"source": "double", "target": "label"}],
}


def _parent(child_id: str) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "start", "type": "manual"},
            {
                "id": "sync",
                "type": "subworkflow",
                "config": {"workflowId": child_id, "input": {"sku": "{{ input.sku }}", "count": 3}},
            },
            {"id": "after", "type": "transform", "config": {"expression": "steps.sync.steps.label.sku"}},
        ],
        "edges": [{"source": "start", "target": "sync"}, {"source": "sync", "target": "after"}],
    }


@pytest.fixture
def engine(services: Services) -> tuple[Services, str]:
    return with_workflow_engine(services)


def _workflows(services: Services, db: Database) -> tuple[str, uuid.UUID, uuid.UUID]:
    """A tenant with an automation allowing one level of sub-workflows: (tenant, parent id, child id), both
    active, the parent running the child."""
    tenant = new_tenant(db, "Sub Buyer")
    subscription = automation(db, tenant, configuration=SUB_WORKFLOWS)
    [parent] = services.workflows.list(tenant, subscription.id)
    child = services.workflows.create(tenant, subscription.id, {"name": "Child", "definition": CHILD})
    child_id, parent_id = uuid.UUID(child["workflow_id"]), uuid.UUID(parent["workflow_id"])
    services.workflows.activate(tenant, child_id)
    services.workflows.replace(tenant, parent_id, {"definition": _parent(str(child_id))})
    services.workflows.activate(tenant, parent_id)
    return tenant, parent_id, child_id


def _children(db: Database, tenant: str, run_id: str) -> list[dict[str, Any]]:
    with db.session(tenant) as session:
        return session.fetch_all(
            "select id, status, depth, execution_arn, trigger_type from workflow_runs where parent_run_id = %s",
            (run_id,),
        )


def test_a_parent_runs_its_child_and_reads_its_steps(db: Database, engine: tuple[Services, str]) -> None:
    services, queue = engine
    tenant, parent_id, child_id = _workflows(services, db)
    run = services.workflow_runs.start(tenant, parent_id, {"sku": "A-1"})
    detail = drive(services, queue, tenant, run["run_id"])
    assert detail["status"] == "succeeded", [(s["step_id"], s["error"]) for s in detail["steps"]]
    [child] = _children(db, tenant, run["run_id"])
    assert (child["status"], child["depth"], child["trigger_type"]) == ("succeeded", 1, "subworkflow")
    sync, after = detail["steps"]
    assert sync["type"] == "subworkflow" and sync["status"] == "succeeded"
    assert sync["output"]["run_id"] == str(child["id"]) and sync["output"]["workflow_id"] == str(child_id)
    assert sync["output"]["steps"] == {"double": {"value": 3}, "label": {"sku": "A-1"}}
    assert after["output"] == {"value": "A-1"}
    child_detail = services.workflow_runs.detail(tenant, child["id"])
    assert child_detail["parent_run_id"] == run["run_id"] and child_detail["input"] == {
        "sku": "A-1",
        "count": 3,
    }
    with db.session(tenant) as session:
        metered = session.fetch_all(
            "select quantity from usage_records where metric = 'executions' and dedup_key like 'workflow-run:%%'"
        )
    assert len(metered) == 2


def test_a_chain_that_became_too_deep_fails_the_step_readably(
    db: Database, engine: tuple[Services, str]
) -> None:
    services, queue = engine
    tenant, parent_id, child_id = _workflows(services, db)
    grandchild = services.workflows.create(
        tenant, services.workflows.subscription_of(tenant, parent_id), {"name": "Leaf", "definition": CHILD}
    )
    services.workflows.activate(tenant, uuid.UUID(grandchild["workflow_id"]))
    with pytest.raises(ValidationFailed) as refused:
        services.workflows.replace(tenant, parent_id, {"definition": _parent(str(parent_id))})
    assert "cannot run itself" in str(refused.value.errors)
    # The child changes after the parent was saved: it now runs another workflow (depth 2 > maxDepth 1).
    services.workflows.replace(tenant, child_id, {"definition": _parent(grandchild["workflow_id"])})
    services.workflows.activate(tenant, child_id)
    run = services.workflow_runs.start(tenant, parent_id, {"sku": "B-2"})
    detail = drive(services, queue, tenant, run["run_id"])
    assert detail["status"] == "failed"
    [sync] = detail["steps"]
    assert sync["status"] == "failed" and "SubWorkflow.DepthExceeded" in sync["error"], sync
    [child] = _children(db, tenant, run["run_id"])
    child_steps = services.workflow_runs.detail(tenant, child["id"])["steps"]
    assert "limit of 1 (flow.subWorkflows.maxDepth)" in child_steps[0]["error"]
    assert _children(db, tenant, str(child["id"])) == []


def test_cancelling_the_parent_cancels_the_child(
    db: Database, engine: tuple[Services, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    services, queue = engine
    tenant, parent_id, _ = _workflows(services, db)
    stopped: list[str] = []
    stop = services.machines.stop

    def recording_stop(arn: str, cause: str) -> None:
        stopped.append(arn)
        stop(arn, cause)

    monkeypatch.setattr(services.machines, "stop", recording_stop)
    run = services.workflow_runs.start(tenant, parent_id, {"sku": "C-3"})
    sqs = client("sqs")
    for _ in range(50):
        if _children(db, tenant, run["run_id"]):
            break
        for message in sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1).get("Messages", []):
            services.step_worker.handle(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    [child] = _children(db, tenant, run["run_id"])
    assert child["status"] == "running"
    services.workflow_runs.cancel(tenant, uuid.UUID(run["run_id"]))
    [child] = _children(db, tenant, run["run_id"])
    assert child["status"] == "cancelled"
    child_detail = services.workflow_runs.detail(tenant, child["id"])
    assert child_detail["error"] == "SubWorkflow.ParentCancelled"
    assert f"the parent run {run['run_id']} cancelled" in child_detail["error_details"]["Cause"]
    parent_detail = services.workflow_runs.detail(tenant, uuid.UUID(run["run_id"]))
    assert parent_detail["status"] == "cancelled"
    [sync] = parent_detail["steps"]
    assert sync["status"] == "failed" and f"the sub-workflow run {child['id']} was cancelled" in sync["error"]
    assert stopped[1:] == [child["execution_arn"]] and len(stopped) == 2
    # The child's first step, delivered late, does not run (moto keeps a stopped execution that waits on a
    # callback RUNNING until the callback is answered; the worker refuses it).
    [late] = sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=5)["Messages"]
    services.step_worker.handle(json.loads(late["Body"]))
    assert services.workflow_runs.detail(tenant, child["id"])["steps"] == []


def test_a_failed_child_fails_the_parents_step_naming_why(db: Database, engine: tuple[Services, str]) -> None:
    """Found by a new-user trial: the parent's step named only the child's error code."""
    services, queue = engine
    tenant = new_tenant(db, "Failing Child Buyer")
    subscription = automation(db, tenant, configuration=SUB_WORKFLOWS)
    [parent] = services.workflows.list(tenant, subscription.id)
    broken = {
        "nodes": [
            {"id": "start", "type": "manual"},
            {"id": "bad", "type": "transform", "config": {"expression": "no_such_function(input)"}},
        ],
        "edges": [{"source": "start", "target": "bad"}],
    }
    child = services.workflows.create(tenant, subscription.id, {"name": "Broken", "definition": broken})
    child_id, parent_id = uuid.UUID(child["workflow_id"]), uuid.UUID(parent["workflow_id"])
    services.workflows.activate(tenant, child_id)
    services.workflows.replace(tenant, parent_id, {"definition": _parent(str(child_id))})
    services.workflows.activate(tenant, parent_id)
    run = services.workflow_runs.start(tenant, parent_id, {"sku": "A-1"})
    detail = drive(services, queue, tenant, run["run_id"])
    assert detail["status"] == "failed"
    sync = detail["steps"][0]
    assert sync["status"] == "failed" and "no_such_function" in sync["error"], sync


def _timing_out(child_id: str, on_error: dict[str, str]) -> dict[str, Any]:
    """A parent whose `sync` step waits at most 1 s for the child, then `on_error` applies (its fallback
    `bad` fails the run)."""
    definition = _parent(child_id)
    definition["nodes"][1] |= {"timeoutSeconds": 1, "onError": on_error}
    definition["nodes"][2]["config"] = {"expression": "input.sku"}
    if "fallback" in on_error:
        definition["nodes"].append(
            {"id": "bad", "type": "transform", "config": {"expression": "no_such_function(input)"}}
        )
    return definition


def _pump(
    services: Services,
    queue: str,
    handle: Callable[[dict[str, Any]], bool],
    done: Callable[[list[dict[str, Any]]], bool],
) -> list[dict[str, Any]]:
    """Deliver the step messages `handle` accepts to the step worker and hold back the others (a child that
    takes longer than its parent waits) until `done(held)`; returns the held messages. Fails after 60 s."""
    sqs: Any = client("sqs")
    held: list[dict[str, Any]] = []
    deadline = time.monotonic() + 60
    while not done(held):
        assert time.monotonic() < deadline, "the runs did not get there within 60 s"
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            body = json.loads(message["Body"])
            if handle(body):
                services.step_worker.handle(body)
            else:
                held.append(body)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        time.sleep(0.05)
    return held


def _recording_stops(services: Services, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    stopped: dict[str, str] = {}
    stop = services.machines.stop

    def recording_stop(arn: str, cause: str) -> None:
        stopped[arn] = cause
        stop(arn, cause)

    monkeypatch.setattr(services.machines, "stop", recording_stop)
    return stopped


def _timed_out_setup(
    services: Services, db: Database, on_error: dict[str, str]
) -> tuple[str, uuid.UUID, Callable[[], dict[str, Any]]]:
    tenant, parent_id, child_id = _workflows(services, db)
    definition = _timing_out(str(child_id), on_error)
    try:
        services.workflows.replace(tenant, parent_id, {"definition": definition})
    except ValidationFailed as e:
        raise AssertionError(e.errors) from e
    services.workflows.activate(tenant, parent_id)
    run_id = uuid.UUID(services.workflow_runs.start(tenant, parent_id, {"sku": "T-1"})["run_id"])
    return tenant, run_id, lambda: services.workflow_runs.detail(tenant, run_id)


def test_a_parent_step_timing_out_cancels_the_child_before_its_next_step(
    db: Database, engine: tuple[Services, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`onError: continue`: the parent goes on after the timeout while the child's first step is still
    queued; that step finds its parent gone and the child is cancelled instead of running it."""
    services, queue = engine
    stopped = _recording_stops(services, monkeypatch)
    tenant, run_id, _ = _timed_out_setup(services, db, {"strategy": "continue"})
    held = _pump(
        services,
        queue,
        lambda m: m["run_id"] == str(run_id),
        lambda _: bool(_children(db, tenant, str(run_id))),
    )
    [child] = _children(db, tenant, str(run_id))
    held = held or _pump(services, queue, lambda m: False, bool)
    time.sleep(1.2)  # past the parent step's 1 s timeout
    for message in held:
        services.step_worker.handle(message)
    child_detail = services.workflow_runs.detail(tenant, child["id"])
    assert child_detail["status"] == "cancelled" and child_detail["steps"] == []
    assert child_detail["error"] == "SubWorkflow.ParentTimedOut"
    assert f"the parent run {run_id} stopped waiting" in child_detail["error_details"]["Cause"]
    assert "States.Timeout" in stopped[child["execution_arn"]]
    detail = drive(services, queue, tenant, str(run_id))
    assert detail["status"] == "succeeded", detail["error_details"]
    sync, after = detail["steps"]
    assert sync["status"] == "failed" and "timed out" in sync["error"], sync
    assert after["output"] == {"value": "T-1"}
    assert _children(db, tenant, str(child["id"])) == []
    assert services.workflow_runs.detail(tenant, child["id"])["steps"] == []


def test_a_parent_failing_after_its_step_timed_out_cancels_the_child(
    db: Database, engine: tuple[Services, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The parent's step times out (Step Functions' `States.Timeout`), its fallback fails and so does the
    parent; its end cancels the child, whose held first step then does not run. (An uncaught step timeout
    would fail the parent the same way in AWS; moto's Parallel state refuses to pass on an error named
    `States.*`, so there the parent's execution dies without recording its end, and the child is cancelled
    by its own next step instead, as in the test above.)"""
    services, queue = engine
    stopped = _recording_stops(services, monkeypatch)
    tenant, run_id, parent = _timed_out_setup(services, db, {"strategy": "fallback", "fallback": "bad"})
    held = _pump(
        services, queue, lambda m: m["run_id"] == str(run_id), lambda _: parent()["status"] == "failed"
    )
    detail = parent()
    [child] = _children(db, tenant, str(run_id))
    assert child["status"] == "cancelled"
    child_detail = services.workflow_runs.detail(tenant, child["id"])
    assert child_detail["error"] == "SubWorkflow.ParentFailed"
    assert f"the parent run {run_id} failed" in child_detail["error_details"]["Cause"]
    assert child["execution_arn"] in stopped
    sync, bad = detail["steps"]
    assert bad["status"] == "failed"
    assert sync["status"] == "failed" and f"the parent run {run_id} failed" in sync["error"], sync
    held = held or _pump(services, queue, lambda m: False, bool)
    for message in held:
        services.step_worker.handle(message)
    assert services.workflow_runs.detail(tenant, child["id"])["steps"] == []
