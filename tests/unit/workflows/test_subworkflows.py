"""Sub-workflow nodes: checked at save against the capability and the chain of workflows they start, and
compiled to a callback task whose run hands its steps back."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from cmp.capabilities.models import ProductCapabilities
from cmp.workflows.compiler import check_compiled, compile_definition
from cmp.workflows.definition import Definition, parse_definition
from cmp.workflows.model import Run
from cmp.workflows.subworkflows import (
    SubWorkflowAllowance,
    check_subworkflows,
    child_key,
    parent_stopped_waiting,
)
from cmp_dev.devtools.asl_check import check_asl
from tests.subscriptions import capabilities

START = {"id": "start", "type": "manual"}
A, B, C, D = (uuid.UUID(int=n) for n in range(1, 5))


def calling(*targets: uuid.UUID, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """A manual workflow whose nodes run `targets` one after the other."""
    nodes = [START] + [
        {"id": f"sub{i}", "type": "subworkflow", "config": {"workflowId": str(t), **(extra or {})}}
        for i, t in enumerate(targets)
    ]
    edges = [{"source": a["id"], "target": b["id"]} for a, b in itertools.pairwise(nodes)]
    return {"nodes": nodes, "edges": edges}


def allowance(**sub_workflows: Any) -> SubWorkflowAllowance:
    flow = {"subWorkflows": {"enabled": True, **sub_workflows}}
    document = capabilities(
        "automation",
        "scheduled",
        configuration={
            "workflowAdvanced": {"enabled": True, "flow": {"subWorkflows": True}, "detail": {"flow": flow}}
        },
    )
    return SubWorkflowAllowance.from_capabilities(ProductCapabilities.from_document(document))


def check(
    document: dict[str, Any],
    others: dict[uuid.UUID, dict[str, Any]],
    allow: SubWorkflowAllowance | None = None,
    root: uuid.UUID | None = D,
) -> dict[str, str]:
    stored: dict[uuid.UUID, Definition] = {k: parse_definition(v) for k, v in others.items()}
    errors = check_subworkflows(parse_definition(document), allow or allowance(maxDepth=3), root, stored.get)
    return {e.path: e.message for e in errors}


def test_a_chain_within_the_depth_limit_is_accepted() -> None:
    assert check(calling(A), {A: calling(B), B: calling(C), C: calling()}) == {}


def test_a_chain_deeper_than_the_limit_is_refused_at_the_node() -> None:
    found = check(calling(C, A), {A: calling(B), B: calling(C), C: calling()}, allowance(maxDepth=2))
    assert list(found) == ["nodes[2].config.workflowId"]
    assert "at most 2 deep" in found["nodes[2].config.workflowId"]
    assert "maxDepth" in found["nodes[2].config.workflowId"]


def test_a_cycle_back_to_the_saved_workflow_or_within_the_chain_is_refused() -> None:
    back = check(calling(A), {A: calling(B), B: calling(D)}, root=D)
    assert "cycle" in back["nodes[1].config.workflowId"]
    assert str(D) in back["nodes[1].config.workflowId"]
    inner = check(calling(A), {A: calling(B), B: calling(A)})
    assert "cycle" in inner["nodes[1].config.workflowId"]
    itself = check(calling(D), {D: calling()}, root=D)
    assert "cannot run itself" in itself["nodes[1].config.workflowId"]


def test_an_unknown_workflow_or_a_bad_id_is_refused() -> None:
    assert "no workflow" in check(calling(A), {})["nodes[1].config.workflowId"]
    bad = {"nodes": [START, {"id": "s", "type": "subworkflow", "config": {"workflowId": "x"}}],
           "edges": [{"source": "start", "target": "s"}]}  # fmt: skip
    assert "expected the id" in check(bad, {})["nodes[1].config.workflowId"]


def test_the_capability_and_its_passing_variables_switch_are_enforced() -> None:
    defaults = SubWorkflowAllowance.from_capabilities(
        ProductCapabilities.from_document(capabilities("automation", "scheduled"))
    )
    assert not defaults.enabled
    found = check(calling(A), {A: calling()}, defaults)
    assert "flow.subWorkflows is disabled" in found["nodes[1]"]
    passing = calling(A, extra={"input": {"sku": "{{ input.sku }}"}})
    refused = check(passing, {A: calling()}, allowance(passingVariables=False))
    assert "passingVariables is disabled" in refused["nodes[1].config.input"]
    assert check(passing, {A: calling()}, allowance(passingVariables=True)) == {}


def test_a_secret_is_never_passed_to_a_child() -> None:
    leaking = calling(A, extra={"input": {"token": "{{ secrets.API }}"}})
    found = check(leaking, {A: calling()}, allowance(passingVariables=True))
    assert "secret cannot be passed" in found["nodes[1].config.input"]


def test_a_subworkflow_compiles_to_a_callback_task_and_the_run_reports_its_steps() -> None:
    asl = compile_definition(
        parse_definition(calling(A)), queue_url="https://q", version_id="v-1", step_timeout_seconds=60
    )
    assert check_compiled(asl) == [] and check_asl(asl) == []
    task = asl["States"]["Run"]["Branches"][0]["States"]["sub0"]
    assert task["Resource"] == "arn:aws:states:::sqs:sendMessage.waitForTaskToken"
    assert task["Parameters"]["MessageBody"]["kind"] == "step"
    assert task["ResultPath"] == "$.steps.sub0"
    assert task["Parameters"]["MessageBody"]["timeout_seconds"] == task["TimeoutSeconds"] == 60
    success = asl["States"]["RecordSuccess"]["Parameters"]["MessageBody"]
    assert success["output.$"] == "$.result[0]"


def test_a_redelivered_step_maps_to_the_same_child_key() -> None:
    assert child_key("token-1") == child_key("token-1") != child_key("token-2")
    assert len(child_key("t" * 2000)) <= 255


NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _run(status: str = "running", deadline: datetime | None = None, error: str | None = None) -> Run:
    run = Run(uuid.uuid4(), A, B, C, 1, "subworkflow", {}, parent_deadline=deadline, error_message=error)
    run.status = status  # type: ignore[assignment]
    return run


def test_a_child_runs_while_its_parent_waits_and_stops_past_the_parents_step_timeout() -> None:
    parent = _run()
    assert parent_stopped_waiting(_run(deadline=NOW + timedelta(seconds=1)), parent, NOW) is None
    assert parent_stopped_waiting(_run(), parent, NOW + timedelta(days=30)) is None
    late = parent_stopped_waiting(_run(deadline=NOW), parent, NOW)
    assert late is not None and late["Error"] == "SubWorkflow.ParentTimedOut"
    assert str(parent.id) in late["Cause"] and "States.Timeout" in late["Cause"]


def test_a_child_stops_when_its_parent_ends_naming_the_parent_and_why() -> None:
    child = _run(deadline=NOW + timedelta(hours=1))
    for status, error in (("cancelled", None), ("failed", "States.Timeout"), ("succeeded", None)):
        why = parent_stopped_waiting(child, parent := _run(status, error=error), NOW)
        assert why is not None and why["Error"] == f"SubWorkflow.Parent{status.capitalize()}"
        assert why["Cause"].startswith(f"the parent run {parent.id} {status}")
        if error is not None:
            assert f"({error})" in why["Cause"]
