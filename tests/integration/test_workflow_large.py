"""A 200-node workflow (issue 11: "a 200-node workflow compiles and runs") against real PostgreSQL and moto's
Step Functions: a manual trigger and 199 transform steps, each passing the previous step's value on, is
saved, compiled to one state machine, activated and run to success with every step recorded in order.
Not timed (bench/workflow_bench.py times it)."""

from __future__ import annotations

import uuid
from typing import Any

from cmp.bootstrap import Services
from cmp.db import Database

from .commerce_support import new_tenant
from .workflow_support import automation, drive, with_workflow_engine

NODES = 200


def chain(nodes: int) -> dict[str, Any]:
    """A manual trigger and `nodes - 1` transforms; step i sets `n` to step i-1's `n` (the first: the input's)."""
    steps = [{"id": "s0", "type": "transform", "config": {"set": {"n": "{{ input.n }}", "at": 0}}}] + [
        {"id": f"s{i}", "type": "transform", "config": {"set": {"n": f"{{{{ steps.s{i - 1}.n }}}}", "at": i}}}
        for i in range(1, nodes - 1)
    ]
    edges = [{"source": "start", "target": "s0"}] + [
        {"source": f"s{i - 1}", "target": f"s{i}"} for i in range(1, nodes - 1)
    ]
    return {"nodes": [{"id": "start", "type": "manual"}, *steps], "edges": edges}


def test_a_200_node_workflow_compiles_and_runs_to_success(db: Database, services: Services) -> None:
    services, queue = with_workflow_engine(services)
    tenant = new_tenant(db, "Large Flow Buyer")
    [first] = services.workflows.list(tenant, automation(db, tenant).id)
    workflow_id = uuid.UUID(first["workflow_id"])
    definition = chain(NODES)
    assert len(definition["nodes"]) == NODES
    saved = services.workflows.replace(tenant, workflow_id, {"definition": definition})
    assert saved["problems"] == [], saved["problems"]
    services.workflows.activate(tenant, workflow_id)
    started = services.workflow_runs.start(tenant, workflow_id, {"n": "carried"})
    detail = drive(services, queue, tenant, started["run_id"], timeout=600)
    assert detail["status"] == "succeeded", detail["error_details"]
    assert [s["step_id"] for s in detail["steps"]] == [f"s{i}" for i in range(NODES - 1)]
    assert detail["steps"][-1]["output"] == {"n": "carried", "at": NODES - 2}
