"""The step worker: answers the callback tasks of workflow state machines (DESIGN §4).

Messages (`cmp.workflows.compiler`): `{"kind": "step" | "branch" | "finish", "run_id", "tenant_id",
"workflow_version_id", "task_token", …}`.

- `step`: render the node's configuration against the run context (`{{ }}` references), record a step
  execution (input and output masked; a `{{ secrets.NAME }}` is read from `cmp.workflows.secrets` here, only
  for the action, shown as `***` in the recorded input, and its value is redacted from the output and error
  that are stored or handed back to Step Functions, so no secret reaches the run history; a database node's
  `connection` names the secret holding its connection string), run the action (`cmp.workflows.actions`), answer `SendTaskSuccess`
  with its output (an object as it is, any other value as `{"value": …}`, so `{{ steps.x.value }}` reads it) or `SendTaskFailure` with its error (Step Functions then applies the node's `onError`).
- `branch`: decide an `if`/`switch` whose condition ASL cannot state, or a `while` loop's condition;
  answers `{"branch": name}`.
- `step` of a `subworkflow` node: start the child run (`WorkflowRuns.start_child`) and answer nothing; the
  child's `finish` answers (`cmp.workflows.subworkflows`).
- `finish`: record the run's end (succeeded with the output of every step, or failed with the error) and the
  workflow's stats, once, with the `workflow.run.finished` event (outbox, to `event_bus`) that event
  triggers and failure alerts use; a sub-workflow run then records its parent's step and answers the
  parent's task token.

Fair queuing (issue 10, the ingestion's way: `cmp.db.outbox`): the function takes each message through
`take`. A state machine's `step` message is not run as it arrives: it is written to the outbox as a fair job
of its tenant's group (one short transaction, the job's id derived from the task token so a redelivered
message writes it once), released into the same queue by the tenant's plan share, and run when it comes
back marked `fair`; the function reports it finished (`cmp.jobs.run_sqs_batch`), which releases the
tenant's next step. One tenant's thousands of steps so wait in PostgreSQL, not in the queue ahead of
another tenant's. `branch` and `finish` messages cost about what the re-queue costs and are answered at once.

Metering: a step that ran (succeeded or failed) records its `compute_ms` (its duration) in the transaction
that saves it, keyed by the task token (`step:{sha256 of the token}`), so a redelivered step message that
runs again does not count twice (cmp.metering).

A run that was cancelled gets no more steps (its execution was stopped; a late message is answered with
a failure nobody waits for), nor does a sub-workflow run whose parent no longer waits for it (its parent
ended, or its parent's step is past its timeout): it is cancelled then (`WorkflowRuns.orphaned`), and a
parent's end cancels its running children. A message whose task token is gone (timed out, stopped) is dropped; one naming a run or version that does
not exist is dead-lettered.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from functools import lru_cache
from typing import Any, Protocol

from cmp.aws.adapters import TaskTokenGone
from cmp.db.outbox import OutboxMessage
from cmp.errors import Conflict, NotFound, PoisonMessage, ValidationFailed
from cmp.metering.model import UsageEvent
from cmp.ports import Clock, IdGenerator
from cmp.workflows.actions import Actions, StepFailed
from cmp.workflows.definition import SUBWORKFLOW, Definition, Node, parse_definition
from cmp.workflows.expressions import evaluate, references, render
from cmp.workflows.masking import MASK, mask, redact
from cmp.workflows.model import Run, RunStatus, StepExecution
from cmp.workflows.ports import WorkflowEngine, WorkflowUnitOfWork, WorkflowUnitOfWorkFactory
from cmp.workflows.runs import WorkflowRuns
from cmp.workflows.subworkflows import SubWorkflowAllowance, target_of
from cmp.workflows.triggers import run_finished_event

MAX_STORED_BYTES = 64_000


class SecretValues(Protocol):
    """`cmp.workflows.secrets.WorkflowSecrets.resolve`: the values of the named secrets (NotFound when one
    is missing)."""

    def resolve(self, tenant_id: str, subscription_id: uuid.UUID, names: list[str]) -> dict[str, str]: ...


def secret_names(config: Any) -> list[str]:
    """The secret names a node's configuration references (`{{ secrets.NAME }}`), sorted."""
    return sorted({path.split(".")[1] for path in references(config) if path.startswith("secrets.")})


class StepWorker:
    def __init__(
        self,
        uow: WorkflowUnitOfWorkFactory,
        engine: WorkflowEngine,
        actions: Actions,
        secrets: SecretValues,
        clock: Clock,
        ids: IdGenerator,
        *,
        event_bus: Callable[[], str],
        runs: WorkflowRuns,
        queue_url: Callable[[], str],
    ) -> None:
        """`queue_url` is the steps queue, where fair step jobs are released."""
        self._uow = uow
        self._queue_url = queue_url
        self._runs = runs
        self._engine = engine
        self.actions = actions
        self._secrets = secrets
        self._event_bus = event_bus
        self._clock = clock
        self._ids = ids
        self._definition = lru_cache(maxsize=256)(self._load_definition)

    def take(self, message: dict[str, Any]) -> None:
        """What the function does with a message of the steps queue: a state machine's `step` is queued as a
        fair job of its tenant (see the module doc); a fair step, a branch or a finish is handled now."""
        if message["kind"] == "step" and not message.get("fair"):
            self.queue_fairly(message)
        else:
            self.handle(message)

    def queue_fairly(self, message: dict[str, Any]) -> None:
        """Write `message` (a state machine's step) to the outbox as a fair job of its tenant, marked `fair`;
        its id is derived from the task token, so a second delivery of the same message writes nothing."""
        tenant_id = str(message["tenant_id"])
        job = OutboxMessage.to_queue(self._queue_url(), {**message, "fair": True}, group_id=tenant_id)
        job = replace(job, id=uuid.uuid5(uuid.NAMESPACE_URL, f"cmp:workflow-step:{message['task_token']}"))
        with self._uow(tenant_id) as uow:
            uow.outbox.add(job, once=True)
            uow.commit()

    def handle(self, message: dict[str, Any]) -> None:
        """Answer one callback message. Raises PoisonMessage (dead-lettered at once) when its run or version
        does not exist; any other exception is transient (the queue redelivers the message)."""
        token = str(message["task_token"])
        try:
            self._answer(message, token)
        except TaskTokenGone:
            return
        except NotFound as e:
            raise PoisonMessage(f"{e.message}: the run or its workflow version no longer exists") from e

    def _answer(self, message: dict[str, Any], token: str) -> None:
        if message["kind"] == "finish":
            self._finish(message)
            self._engine.task_succeeded(token, {})
        elif message["kind"] == "branch":
            self._engine.task_succeeded(token, {"branch": self._branch(message)})
        else:
            self._step(message, token)

    def _node(self, message: dict[str, Any]) -> Node:
        definition = self._definition(str(message["tenant_id"]), str(message["workflow_version_id"]))
        return next(n for n in definition.all_nodes() if n.id == message["node"])

    def _load_definition(self, tenant_id: str, version_id: str) -> Definition:
        with self._uow(tenant_id) as uow:
            version = uow.workflows.version_by_id(uuid.UUID(version_id))
        return parse_definition(version.definition)

    def _branch(self, message: dict[str, Any]) -> str:
        node, context = self._node(message), message["context"]
        if node.type in ("if", "loop"):
            return "true" if evaluate(node.config["condition"], context) else "false"
        for case in node.config["cases"]:
            if evaluate(case["condition"], context):
                return str(case["name"])
        return "default"

    def _step(self, message: dict[str, Any], token: str) -> None:
        tenant_id, run_id = str(message["tenant_id"]), uuid.UUID(str(message["run_id"]))
        node, context = self._node(message), message["context"]
        view = {key: context[key] for key in ("input", "vars", "steps", "item", "index") if key in context}
        connection = str(node.config["connection"]) if node.type == "database" else None
        names = sorted({*secret_names(node.config), *([connection] if connection else [])})
        shown = render(node.config, {**view, "secrets": dict.fromkeys(names, MASK)})
        started = self._clock.now()
        step = StepExecution(
            self._ids.new_id(),
            uuid.UUID(tenant_id),
            run_id,
            node.id,
            node.type,
            node.name,
            attempt=int(message.get("attempt") or 0),
            started_at=started,
            input=_bounded(mask(shown)),
        )
        with self._uow(tenant_id) as uow:
            run = uow.workflow_runs.get(run_id)
            orphaned = self._runs.orphaned(uow, run, started)
            if run.status != "cancelled" and orphaned is None:
                uow.workflow_runs.add_step(step)
                uow.commit()
        if orphaned is not None:
            self._runs.stop_orphan(tenant_id, run_id, orphaned)
        if run.status == "cancelled" or orphaned is not None:
            self._engine.task_failed(token, "Run.Cancelled", "the run was cancelled")
            return
        values: dict[str, str] = {}
        try:
            values = self._secret_values(tenant_id, run.subscription_id, names)
            config = render(node.config, {**view, "secrets": values})
            if connection is not None:
                config["connection"] = values[connection]
            if node.type == SUBWORKFLOW:
                self._start_child(run, step, config, token, message.get("timeout_seconds"))
                return
            result = self.actions.run(node.type, config, view, tenant_id)
        except StepFailed as failure:
            cause = redact(failure.cause, values.values())
            self._record(run, step, "failed", None, cause, token)
            self._engine.task_failed(token, failure.error, cause)
            return
        output = redact(result if isinstance(result, dict) else {"value": result}, values.values())
        self._record(run, step, "succeeded", output, None, token)
        self._engine.task_succeeded(token, output)

    def _start_child(
        self, run: Run, step: StepExecution, config: dict[str, Any], token: str, timeout: int | None
    ) -> None:
        """Start the child run of a `subworkflow` step (its finish answers `token`, waited for `timeout`
        seconds from the step's start); the step shows the child's run id while it runs. Raises StepFailed
        when the chain is too deep or the child cannot start."""
        tenant_id = str(run.tenant_id)
        with self._uow(tenant_id) as uow:
            capabilities = uow.subscriptions.get(run.subscription_id).capabilities
        limit = SubWorkflowAllowance.from_document(capabilities).max_depth
        if run.depth + 1 > limit:
            raise StepFailed(
                "SubWorkflow.DepthExceeded",
                f"this run is at sub-workflow depth {run.depth}; starting another would pass the product's "
                f"limit of {limit} (flow.subWorkflows.maxDepth)",
            )
        workflow_id = target_of(config)
        try:
            if workflow_id is None:
                raise NotFound("the step names no workflow")
            assert step.started_at is not None
            deadline = step.started_at + timedelta(seconds=timeout) if timeout else None
            child = self._runs.start_child(
                run, step.id, workflow_id, config.get("input") or {}, token, deadline
            )
        except (NotFound, Conflict, ValidationFailed) as e:
            raise StepFailed("SubWorkflow.NotStarted", f"the sub-workflow did not start: {e.message}") from e
        step.output = {"run_id": str(child.id), "workflow_id": str(child.workflow_id), "status": "running"}
        with self._uow(tenant_id) as uow:
            uow.workflow_runs.save_step(step)
            uow.commit()

    def _answer_parent(self, uow: WorkflowUnitOfWork, run: Run, output: Any) -> None:
        """A finished sub-workflow run: record its parent's step and answer the parent's task token (a parent
        that no longer waits, stopped or timed out, is left as it is). The child's steps travel back only up
        to 64 kB (else a `{"truncated": true, "bytes"}` note), within Step Functions' 256 KB state."""
        assert run.parent_task_token is not None
        outcome = {"run_id": str(run.id), "workflow_id": str(run.workflow_id), "status": run.status}
        step = (
            uow.workflow_runs.step_by_id(run.parent_step_execution_id)
            if run.parent_step_execution_id
            else None
        )
        result = {**outcome, "steps": _bounded(output) if isinstance(output, dict) else {}}
        error = None if run.status == "succeeded" else f"the sub-workflow run {run.id} {run.status}"
        cause = (run.error_details or {}).get("Cause") or _last_step_error(uow.workflow_runs.steps(run.id))
        if run.status != "succeeded" and run.error_message:
            error = f"{error}: {run.error_message}" + (f" ({str(cause)[:1000]})" if cause else "")
        if step is not None:
            self._close(
                step, "succeeded" if error is None else "failed", result if error is None else outcome, error
            )
            uow.workflow_runs.save_step(step)
        try:
            if error is None:
                self._engine.task_succeeded(run.parent_task_token, result)
            else:
                self._engine.task_failed(run.parent_task_token, "SubWorkflow.Failed", error)
        except TaskTokenGone:
            return

    def _secret_values(self, tenant_id: str, subscription_id: uuid.UUID, names: list[str]) -> dict[str, str]:
        if not names:
            return {}
        try:
            return self._secrets.resolve(tenant_id, subscription_id, names)
        except NotFound as e:
            raise StepFailed("Secret.Missing", e.message) from e

    def _record(
        self, run: Run, step: StepExecution, status: str, output: Any, error: str | None, token: str
    ) -> None:
        """Save the step that ran and, in the same transaction, its `compute_ms` usage once per task token."""
        self._close(step, status, output, error)
        assert step.completed_at is not None and step.duration_ms is not None
        key = f"step:{hashlib.sha256(token.encode()).hexdigest()}:compute_ms"
        with self._uow(str(run.tenant_id)) as uow:
            uow.workflow_runs.save_step(step)
            uow.usage.record(
                UsageEvent(run.subscription_id, "compute_ms", step.duration_ms, step.completed_at, key)
            )
            uow.commit()

    def _close(self, step: StepExecution, status: str, output: Any, error: str | None) -> None:
        step.status, step.completed_at = status, self._clock.now()
        assert step.started_at is not None
        step.duration_ms = int((step.completed_at - step.started_at).total_seconds() * 1000)
        step.output, step.error_message = _bounded(mask(output)), error

    def _finish(self, message: dict[str, Any]) -> None:
        tenant_id, run_id = str(message["tenant_id"]), uuid.UUID(str(message["run_id"]))
        now = self._clock.now()
        with self._uow(tenant_id) as uow:
            run = uow.workflow_runs.get(run_id, for_update=True)
            status: RunStatus = "succeeded" if message.get("status") == "succeeded" else "failed"
            if not run.finish(status, now, message.get("error") if status == "failed" else None):
                return
            if status == "succeeded":
                run.output = _bounded(mask(message.get("output")))
            workflow = uow.workflows.get(run.workflow_id, for_update=True)
            workflow.count_finished(status, now)
            uow.workflow_runs.save(run)
            uow.workflows.save(workflow)
            uow.outbox.add(run_finished_event(self._event_bus(), run))
            if run.parent_task_token is not None:
                self._answer_parent(uow, run, message.get("output"))
            stopped = self._runs.cancel_children(uow, run)
            uow.commit()
        self._runs.stop_executions(stopped)


def _last_step_error(steps: list[StepExecution]) -> str | None:
    """The error message of the last failed step (why a child run failed when its run error names only a
    code, such as `Http.Refused`), or None."""
    failed = [s for s in steps if s.status == "failed" and s.error_message]
    return failed[-1].error_message if failed else None


def _bounded(value: Any) -> Any:
    """`value`, or a note saying it was too large to keep (step history stores at most 64 kB per field)."""
    import json

    text = json.dumps(value, default=str)
    if len(text) <= MAX_STORED_BYTES:
        return value
    return {"truncated": True, "bytes": len(text)}
