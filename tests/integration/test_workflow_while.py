"""`while` loops in real runs (moto Step Functions, the step worker deciding the condition): the body runs
while the condition holds, and a loop still true after `maxIterations` fails the run."""

from __future__ import annotations

import uuid
from typing import Any

from cmp.bootstrap import Services
from cmp.db import Database

from .commerce_support import new_tenant
from .workflow_support import automation, drive, with_workflow_engine


def _definition(below: int, limit: int) -> dict[str, Any]:
    return {
        "nodes": [
            {"id": "start", "type": "manual"},
            {
                "id": "again",
                "type": "loop",
                "config": {
                    "type": "while",
                    "condition": {"left": "{{ loops.again.count }}", "operator": "less", "right": below},
                    "maxIterations": limit,
                },
                "body": {
                    "nodes": [
                        {
                            "id": "tick",
                            "type": "transform",
                            "config": {"set": {"source": "{{ input.source }}"}},
                        }
                    ]
                },
            },
            {"id": "after", "type": "transform", "config": {"expression": "steps.again.steps.tick"}},
        ],
        "edges": [{"source": "start", "target": "again"}, {"source": "again", "target": "after"}],
    }


def _run(services: Services, queue: str, db: Database, definition: dict[str, Any]) -> dict[str, Any]:
    tenant = new_tenant(db, "Loop Buyer")
    [first] = services.workflows.list(tenant, automation(db, tenant).id)
    workflow_id = uuid.UUID(first["workflow_id"])
    services.workflows.replace(tenant, workflow_id, {"definition": definition})
    services.workflows.activate(tenant, workflow_id)
    started = services.workflow_runs.start(tenant, workflow_id, {"source": "crm"})
    return drive(services, queue, tenant, started["run_id"])


def test_a_while_loop_runs_its_body_while_the_condition_holds(db: Database, services: Services) -> None:
    services, queue = with_workflow_engine(services)
    detail = _run(services, queue, db, _definition(3, 10))
    assert detail["status"] == "succeeded", [s["error"] for s in detail["steps"]]
    assert [s["step_id"] for s in detail["steps"]] == ["tick", "tick", "tick", "after"]
    assert detail["steps"][-1]["output"] == {"source": "crm"}


def test_a_while_loop_still_true_after_its_limit_fails_the_run(db: Database, services: Services) -> None:
    services, queue = with_workflow_engine(services)
    detail = _run(services, queue, db, _definition(100, 2))
    assert detail["status"] == "failed"
    assert "LoopLimitExceeded" in f"{detail['error']} {detail['error_details']}", detail
    assert [s["step_id"] for s in detail["steps"]] == ["tick", "tick"]
