"""Sub-workflows (spec Part 7 `flow.subWorkflows`): a `subworkflow` node runs another workflow of the same
subscription as a nested run and hands its outcome back.

Node: `{"id": "sync", "type": "subworkflow", "config": {"workflowId": "<uuid>", "input": {...}}}`; `input`
(`{{ }}` templates over the parent's run, only with `flow.subWorkflows.passingVariables`) is the child
run's input (a secret is refused there: the child's own steps read theirs). The node's output is `{"run_id", "workflow_id", "status", "steps"}`, `steps` holding the
output of every step of the child run, so a later step reads `{{ steps.sync.steps.<child step id>.… }}`.

- At save (`check_subworkflows`): the product enables sub-workflows; `workflowId` is a workflow of the same
  subscription; the chain of sub-workflows that starts there (each reached workflow read at its active
  version, else its latest) has no cycle back to a workflow already on it and is at most
  `flow.subWorkflows.maxDepth` deep (the saved workflow's own children are depth 1). Each refusal is a
  `FieldError` at the node's `config.workflowId`.
- At run time (`cmp.workflows.worker`): the node is a callback task like any step; the worker starts the
  child run (pinned to the child workflow's active version at that moment, metered as one execution,
  `parent_run_id` set) instead of answering, and the child's finish answers the parent's task token. The
  depth is checked again there (a child may have changed since the parent was saved): a run deeper than
  `maxDepth` fails the step with `SubWorkflow.DepthExceeded`.
- A child runs only while its parent waits for it (`parent_stopped_waiting`): when the parent run ends
  (cancelled, failed, or gone on past a timed-out step), or once the parent's step is past its
  `TimeoutSeconds` (`parent_deadline`, the step's start as the worker saw it + the state's timeout, so never
  before Step Functions' own), the child's execution is stopped and the run recorded cancelled with an
  error naming the parent, its running descendants with it; no further child step runs
  (`cmp.workflows.runs`).

The callback pattern is used instead of `states:startExecution.sync:2` so the child is pinned to its
active version when it starts and recorded (metered, depth-checked) before it runs (docs/decisions.md).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cmp.capabilities.models import ProductCapabilities
from cmp.capabilities.workflow_detail import WorkflowDetail
from cmp.errors import FieldError
from cmp.workflows.definition import SUBWORKFLOW, Definition
from cmp.workflows.expressions import references
from cmp.workflows.model import FINISHED, Run

DISABLED = "configuration.workflowAdvanced.flow.subWorkflows is disabled for this product"

Lookup = Callable[[uuid.UUID], Definition | None]
"""The definition of a workflow of the same subscription (active version, else latest); None when the
subscription has no such workflow."""


@dataclass(frozen=True)
class SubWorkflowAllowance:
    """`flow.subWorkflows` of a subscription's capability snapshot: the master switch (and the detail's
    `enabled`), `maxDepth` and `passingVariables` (allowed when the seller gave no detail)."""

    enabled: bool
    max_depth: int
    passing_variables: bool

    @classmethod
    def from_capabilities(cls, caps: ProductCapabilities) -> SubWorkflowAllowance:
        advanced = caps.configuration.workflow_advanced
        detail = (advanced.detail or WorkflowDetail()).flow.sub_workflows
        return cls(
            enabled=advanced.enabled and advanced.flow.sub_workflows and detail.enabled is not False,
            max_depth=detail.max_depth,
            passing_variables=advanced.detail is None or detail.passing_variables,
        )

    @classmethod
    def from_document(cls, capabilities: dict[str, Any]) -> SubWorkflowAllowance:
        """From a subscription's stored capability snapshot."""
        return cls.from_capabilities(ProductCapabilities.from_document(capabilities))


def target_of(config: dict[str, Any]) -> uuid.UUID | None:
    """The workflow id a node's `config.workflowId` names; None when it is not a UUID."""
    try:
        return uuid.UUID(str(config.get("workflowId")))
    except ValueError:
        return None


def called(definition: Definition) -> list[uuid.UUID]:
    """The workflows `definition`'s `subworkflow` nodes run (nested ones included), in node order."""
    found = [target_of(n.config) for n in definition.all_nodes() if n.type == SUBWORKFLOW]
    return [t for t in found if t is not None]


def check_subworkflows(
    definition: Definition,
    allowance: SubWorkflowAllowance,
    workflow_id: uuid.UUID | None,
    lookup: Lookup,
) -> list[FieldError]:
    """Every problem of `definition`'s `subworkflow` nodes (see the module docstring), `workflow_id` being
    the workflow it is saved to (None for a workflow not created yet)."""
    errors: list[FieldError] = []
    for node in definition.all_nodes():
        if node.type != SUBWORKFLOW:
            continue
        if not allowance.enabled:
            errors.append(FieldError(node.path, DISABLED))
            continue
        path = f"{node.path}.config"
        inputs = node.config.get("input")
        if inputs is not None and not isinstance(inputs, dict):
            errors.append(FieldError(f"{path}.input", "expected an object (the child run's input)"))
        elif any(ref.startswith("secrets.") for ref in references(inputs)):
            errors.append(
                FieldError(
                    f"{path}.input",
                    "a secret cannot be passed to a sub-workflow; its own steps read {{ secrets.NAME }}",
                )
            )
        elif inputs and not allowance.passing_variables:
            errors.append(
                FieldError(
                    f"{path}.input",
                    "configuration.workflowAdvanced.flow.subWorkflows.passingVariables is disabled for "
                    "this product",
                )
            )
        target = target_of(node.config)
        if target is None:
            errors.append(
                FieldError(f"{path}.workflowId", "expected the id of a workflow of this subscription")
            )
            continue
        problem = chain_problem(target, workflow_id, lookup, allowance.max_depth)
        if problem is not None:
            errors.append(FieldError(f"{path}.workflowId", problem))
    return errors


def chain_problem(target: uuid.UUID, root: uuid.UUID | None, lookup: Lookup, max_depth: int) -> str | None:
    """Why running `target` from `root` is refused (unknown, a cycle, deeper than `max_depth`); None when
    it is not."""
    if target == root:
        return "a workflow cannot run itself as a sub-workflow"
    cache: dict[uuid.UUID, Definition | None] = {}

    def definition_of(workflow_id: uuid.UUID) -> Definition | None:
        if workflow_id not in cache:
            cache[workflow_id] = lookup(workflow_id)
        return cache[workflow_id]

    if definition_of(target) is None:
        return f"no workflow {target} in this subscription"

    def walk(chain: tuple[uuid.UUID, ...]) -> str | None:
        definition = definition_of(chain[-1])
        for child in called(definition) if definition is not None else []:
            if child == root or child in chain:
                names = " → ".join(str(w) for w in (*chain, child))
                return f"the sub-workflows form a cycle ({names}); a workflow cannot run itself again"
            if len(chain) + 1 > max_depth:
                return (
                    f"sub-workflows nest at most {max_depth} deep (flow.subWorkflows.maxDepth); "
                    f"{chain[-1]} runs {child} at depth {len(chain) + 1}"
                )
            problem = walk((*chain, child))
            if problem is not None:
                return problem
        return None

    return walk((target,))


def child_key(task_token: str) -> str:
    """The idempotency key of the child run a step's callback starts: a redelivered step message (same
    task token) finds the first child instead of starting a second."""
    return "subworkflow:" + hashlib.sha256(task_token.encode()).hexdigest()[:48]


def parent_stopped_waiting(child: Run, parent: Run, now: datetime) -> dict[str, str] | None:
    """Why `child` (a run `parent`'s `subworkflow` step started) must stop at `now`, as the run error
    `{"Error", "Cause"}` recorded with its cancellation; None while the parent still waits for it. The parent
    no longer waits when it finished (`SubWorkflow.ParentCancelled`, `…ParentFailed`, `…ParentSucceeded`:
    a step that timed out with `onError: continue` lets the parent end while the child still runs) or when
    its step is past its timeout (`SubWorkflow.ParentTimedOut`; Step Functions failed the step with
    `States.Timeout` and answers to its token are refused)."""
    if parent.status in FINISHED:
        why = f" ({parent.error_message})" if parent.error_message else ""
        return {
            "Error": f"SubWorkflow.Parent{parent.status.capitalize()}",
            "Cause": f"the parent run {parent.id} {parent.status}{why} while this run was running",
        }
    if child.parent_deadline is not None and now >= child.parent_deadline:
        return {
            "Error": "SubWorkflow.ParentTimedOut",
            "Cause": f"the parent run {parent.id} stopped waiting at {child.parent_deadline.isoformat()}: "
            "its subworkflow step timed out (States.Timeout)",
        }
    return None
