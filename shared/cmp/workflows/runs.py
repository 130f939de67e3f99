"""Workflow runs: start (manual or API, idempotent per key), history, details with every step, cancel, rerun.

A run is written with its state machine start and its metering (one `executions` usage record, keyed by the
run id, `cmp.metering`) in the same transaction (the outbox relays the start after the
commit, and a sweep retries it), so a run is never recorded without its execution nor started twice: the
execution is named after the run id, and an `Idempotency-Key` already used on the workflow returns the
first run. The execution input is the run context (`cmp.workflows.expressions`). The step worker records
each step and the run's end (`cmp.workflows.worker`). A `subworkflow` step starts a child run the same way
(`start_child`, `cmp.workflows.subworkflows`).
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any, NamedTuple

from cmp.aws.adapters import TaskTokenGone
from cmp.catalog.paging import ProductPage, encode_cursor
from cmp.db.outbox import OutboxMessage
from cmp.errors import BadRequest, Conflict, FieldError, NotFound, ValidationFailed
from cmp.metering.model import UsageEvent
from cmp.ports import Clock, IdGenerator
from cmp.workflows.masking import mask
from cmp.workflows.model import FINISHED, Run, StepExecution
from cmp.workflows.ports import WorkflowEngine, WorkflowUnitOfWork, WorkflowUnitOfWorkFactory
from cmp.workflows.subworkflows import child_key, parent_stopped_waiting

MAX_INPUT_BYTES = 64 * 1024
MAX_EXPORT_RUNS = 10_000
EXPORT_COLUMNS = (
    "run_id",
    "workflow_id",
    "version",
    "status",
    "trigger_type",
    "rerun_of",
    "created_at",
    "started_at",
    "completed_at",
    "duration_ms",
    "error",
    "input",
)
RUN_STATUSES = ("pending", "running", "succeeded", "failed", "cancelled")


class Stop(NamedTuple):
    """An execution to stop once a cancellation is committed, with the cause Step Functions records."""

    execution_arn: str
    cause: str


def execution_arn(state_machine_arn: str, name: str) -> str:
    """The ARN Step Functions gives the execution `name` of a state machine."""
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"


def run_context(run: Run, variables: dict[str, Any]) -> dict[str, Any]:
    """The execution input: the run's identity, its trigger payload, the workflow's variables, no steps yet."""
    return {
        "run": {
            "id": str(run.id),
            "tenant_id": str(run.tenant_id),
            "workflow_id": str(run.workflow_id),
            "version": run.version,
        },
        "input": run.trigger_payload,
        "vars": variables,
        "steps": {},
    }


def run_summary(run: Run) -> dict[str, Any]:
    return {
        "run_id": str(run.id),
        "workflow_id": str(run.workflow_id),
        "version": run.version,
        "status": run.status,
        "trigger_type": run.trigger_type,
        "rerun_of": str(run.rerun_of) if run.rerun_of else None,
        "parent_run_id": str(run.parent_run_id) if run.parent_run_id else None,
        "created_at": run.created_at,
        "started_at": run.started_at,
        "completed_at": run.completed_at,
        "duration_ms": run.duration_ms,
        "error": run.error_message,
    }


def step_view(step: StepExecution) -> dict[str, Any]:
    return {
        "step_id": step.step_id,
        "type": step.step_type,
        "name": step.step_name,
        "status": step.status,
        "attempt": step.attempt,
        "started_at": step.started_at,
        "completed_at": step.completed_at,
        "duration_ms": step.duration_ms,
        "input": step.input,
        "output": step.output,
        "error": step.error_message,
    }


def check_input(payload: object, idempotency_key: str | None, field: str = "input") -> dict[str, Any]:
    """`payload` as a run input; raises ValidationFailed at `field` (the input not an object, over 64 KiB of
    JSON; a webhook names `body`, what its caller sent) or BadRequest (a key not 1 to 255 characters)."""
    if not isinstance(payload, dict):
        raise ValidationFailed("The run input is not valid", errors=[FieldError(field, "expected an object")])
    if len(json.dumps(payload)) > MAX_INPUT_BYTES:
        raise ValidationFailed(
            "The run input is too large", errors=[FieldError(field, "at most 64 KiB of JSON")]
        )
    if idempotency_key is not None and not 0 < len(idempotency_key) <= 255:
        raise BadRequest(
            "Idempotency-Key must be 1 to 255 characters",
            errors=[FieldError("header.idempotency-key", "1 to 255 characters")],
        )
    return payload


def _check_status(status: str | None) -> None:
    """Raises ValidationFailed at `query.status` for a status filter that is not a run status."""
    if status is not None and status not in RUN_STATUSES:
        raise ValidationFailed(
            "Bad filter", errors=[FieldError("query.status", f"expected one of {', '.join(RUN_STATUSES)}")]
        )


class WorkflowRuns:
    """Starting, listing, reading, cancelling and re-running runs."""

    def __init__(
        self, uow: WorkflowUnitOfWorkFactory, engine: WorkflowEngine, clock: Clock, ids: IdGenerator
    ) -> None:
        self._uow = uow
        self._engine = engine
        self._clock = clock
        self._ids = ids

    def start(
        self,
        tenant_id: str,
        workflow_id: uuid.UUID,
        payload: object,
        *,
        trigger_type: str = "manual",
        idempotency_key: str | None = None,
        key_header: str | None = None,
        rerun_of: uuid.UUID | None = None,
        within: WorkflowUnitOfWork | None = None,
    ) -> dict[str, Any]:
        """Start a run of the workflow's active version with `payload` as its input; returns `run_summary`
        (the first run when `idempotency_key` was used before by a run of the same `trigger_type`: each
        trigger type is its own keyspace). `key_header` names the request header the caller's key came in
        (`Idempotency-Key`, `X-Delivery-Id`): a key a caller chose must replay the same input, so reusing it
        with a different input is a 422 naming that header (None: a key the platform derives, as a
        schedule's firing time, replays whatever the input). `within`: the caller's unit of work (of
        `tenant_id`), which this commits when it adds the run (a webhook delivery reads, starts and commits
        in one transaction); None: a unit of work of its own. Raises Conflict (not active),
        ValidationFailed (input not an object or over 64 KiB, a key reused with another input), NotFound."""
        checked = check_input(payload, idempotency_key)
        with self._unit(tenant_id, within) as uow:
            workflow = uow.workflows.get(workflow_id)
            run = workflow.new_run(
                self._ids.new_id(),
                trigger_type,
                checked,
                idempotency_key=idempotency_key,
                rerun_of=rerun_of,
            )
            existing = self._launch(uow, run)
            if existing is not None:
                if key_header is not None and existing.trigger_payload != payload:
                    raise ValidationFailed(
                        f"{key_header} was used before with a different input",
                        errors=[
                            FieldError(
                                f"header.{key_header.lower()}",
                                "the input differs from the first request's with this key; a retry sends "
                                "the same input, a new run needs a new key",
                            )
                        ],
                    )
                return run_summary(existing)
            summary = run_summary(uow.workflow_runs.get(run.id))
            uow.commit()
            return summary

    def replayed(
        self,
        tenant_id: str,
        workflow_id: uuid.UUID,
        trigger_type: str,
        idempotency_key: str | None,
        payload: object,
        within: WorkflowUnitOfWork | None = None,
    ) -> dict[str, Any] | None:
        """`run_summary` of the run `idempotency_key` already started with `payload` in `trigger_type`'s
        keyspace (a retry refused by a quota it used up itself is answered with its run); None when there is
        none (no key, no run, or a run of another input). `within` as `start`'s (only read here)."""
        if idempotency_key is None:
            return None
        with self._unit(tenant_id, within) as uow:
            run = uow.workflow_runs.by_key(workflow_id, trigger_type, idempotency_key)
        return run_summary(run) if run and run.trigger_payload == payload else None

    @contextlib.contextmanager
    def _unit(self, tenant_id: str, within: WorkflowUnitOfWork | None) -> Iterator[WorkflowUnitOfWork]:
        """The caller's unit of work `within`, left open for it, or a new one of `tenant_id`."""
        if within is not None:
            yield within
            return
        with self._uow(tenant_id) as uow:
            yield uow

    def refused(
        self,
        tenant_id: str,
        workflow_id: uuid.UUID,
        payload: dict[str, Any],
        error: dict[str, Any],
        finished: Callable[[Run], OutboxMessage],
        *,
        trigger_type: str,
        idempotency_key: str | None,
    ) -> dict[str, Any]:
        """Record a run the gateway refused (a schedule or event run over the `executions` quota) as failed
        with `error` (`{"Error", "Cause"}`), without an execution or metering, counted in the workflow's
        stats, with the `finished(run)` event (so failure alerts tell the buyer); returns `run_summary` (the
        first run of `idempotency_key` when it has one). Raises Conflict (not active), NotFound."""
        with self._uow(tenant_id) as uow:
            workflow = uow.workflows.get(workflow_id, for_update=True)
            now = self._clock.now()
            run = workflow.new_run(
                self._ids.new_id(),
                trigger_type,
                payload,
                idempotency_key=idempotency_key,
            )
            run.finish("failed", now, error)
            existing = uow.workflow_runs.add(run)
            if existing is not None:
                return run_summary(existing)
            workflow.count_finished("failed", now)
            uow.workflows.save(workflow)
            uow.outbox.add(finished(run))
            summary = run_summary(uow.workflow_runs.get(run.id))
            uow.commit()
            return summary

    def start_child(
        self,
        parent: Run,
        step_execution_id: uuid.UUID,
        workflow_id: uuid.UUID,
        payload: dict[str, Any],
        token: str,
        deadline: datetime | None = None,
    ) -> Run:
        """Start the run of `parent`'s `subworkflow` step (`cmp.workflows.subworkflows`): the active version
        of `workflow_id`, a workflow of the parent's subscription, with `payload` as its input; `token` is
        the callback the parent's execution waits on until `deadline` (None: no known timeout). A
        redelivered step (same token) returns the first child. Raises NotFound (no such workflow in the
        subscription), Conflict (not active), ValidationFailed (input not an object or over 64 KiB)."""
        check_input(payload, None)
        with self._uow(str(parent.tenant_id)) as uow:
            workflow = uow.workflows.get(workflow_id)
            if workflow.subscription_id != parent.subscription_id:
                raise NotFound(f"no workflow {workflow_id} in this subscription")
            run = workflow.new_run(
                self._ids.new_id(),
                "subworkflow",
                payload,
                idempotency_key=child_key(token),
                parent_run_id=parent.id,
                parent_step_execution_id=step_execution_id,
                parent_task_token=token,
                depth=parent.depth + 1,
                parent_deadline=deadline,
            )
            existing = self._launch(uow, run)
            uow.commit()
            return existing or run

    def _launch(self, uow: WorkflowUnitOfWork, run: Run) -> Run | None:
        """Add `run` with its metering (one execution) and its state machine start (outbox); returns the run
        that already holds its idempotency key instead (adding nothing)."""
        version = uow.workflows.version(run.workflow_id, run.version)
        assert version.state_machine_arn is not None
        now = self._clock.now()
        run.start(execution_arn(version.state_machine_arn, str(run.id)), now)
        existing = uow.workflow_runs.add(run)
        if existing is not None:
            return existing
        uow.usage.record(UsageEvent(run.subscription_id, "executions", 1, now, f"workflow-run:{run.id}"))
        variables = version.definition.get("variables") if isinstance(version.definition, dict) else None
        uow.outbox.add(
            OutboxMessage.start_execution(
                version.state_machine_arn, str(run.id), run_context(run, variables or {})
            )
        )
        return None

    def page(
        self, tenant_id: str, workflow_id: uuid.UUID, status: str | None, page: ProductPage
    ) -> dict[str, Any]:
        """`{"items": [run_summary…], "next_cursor"}`, newest first, optionally only runs in `status` (the
        paging of `cmp.catalog.paging`: `limit`, and the cursor of the last run's (created_at, id))."""
        _check_status(status)
        with self._uow(tenant_id) as uow:
            uow.workflows.get(workflow_id)
            runs = uow.workflow_runs.page(workflow_id, status, page.after, page.limit + 1)
        last = runs[page.limit - 1] if len(runs) > page.limit else None
        return {
            "items": [run_summary(r) for r in runs[: page.limit]],
            "next_cursor": encode_cursor(last.created_at, last.id) if last and last.created_at else None,
        }

    def export(self, tenant_id: str, workflow_id: uuid.UUID, status: str | None) -> dict[str, Any]:
        """`{"items": [run_summary + masked "input"…], "truncated"}`: the newest `MAX_EXPORT_RUNS` runs of
        the workflow (optionally only in `status`), newest first; raises ValidationFailed, NotFound."""
        _check_status(status)
        with self._uow(tenant_id) as uow:
            uow.workflows.get(workflow_id)
            runs = uow.workflow_runs.page(workflow_id, status, None, MAX_EXPORT_RUNS + 1)
        return {
            "items": [{**run_summary(r), "input": mask(r.trigger_payload)} for r in runs[:MAX_EXPORT_RUNS]],
            "truncated": len(runs) > MAX_EXPORT_RUNS,
        }

    def subscription_of(self, tenant_id: str, run_id: uuid.UUID) -> uuid.UUID:
        """The subscription the run belongs to (what a runtime credential must act for); raises NotFound
        (also for another tenant's)."""
        with self._uow(tenant_id) as uow:
            return uow.workflow_runs.get(run_id).subscription_id

    def detail(self, tenant_id: str, run_id: uuid.UUID) -> dict[str, Any]:
        """`run_summary` plus the masked input, error details and every step execution in order."""
        with self._uow(tenant_id) as uow:
            run = uow.workflow_runs.get(run_id)
            steps = uow.workflow_runs.steps(run_id)
        return {
            **run_summary(run),
            "input": mask(run.trigger_payload),
            "error_details": run.error_details,
            "steps": [step_view(s) for s in steps],
        }

    def cancel(self, tenant_id: str, run_id: uuid.UUID) -> dict[str, Any]:
        """Stop the execution and mark the run cancelled, with every running sub-workflow run it started
        (and theirs, each recorded with `SubWorkflow.ParentCancelled` naming its parent); a cancelled
        sub-workflow run fails its parent's step (`SubWorkflow.Cancelled`). Raises Conflict when it
        already finished."""
        with self._uow(tenant_id) as uow:
            run = uow.workflow_runs.get(run_id, for_update=True)
            if run.status in FINISHED:
                raise Conflict(f"the run already {run.status}")
            stopped = self._cancel(uow, run, None)
            uow.commit()
        self.stop_executions(stopped)
        if run.parent_task_token is not None:
            with contextlib.suppress(TaskTokenGone):
                self._engine.task_failed(
                    run.parent_task_token,
                    "SubWorkflow.Cancelled",
                    f"the sub-workflow run {run.id} was cancelled",
                )
        return run_summary(run)

    def _cancel(self, uow: WorkflowUnitOfWork, run: Run, error: dict[str, str] | None) -> list[Stop]:
        """Mark `run` cancelled (with `error`, None when the buyer cancelled it) and its running descendants
        (each with why its parent stopped waiting); close the parent's step it ran for when that still shows
        running. Returns the executions to stop with their causes, parents first."""
        now = self._clock.now()
        run.finish("cancelled", now, error)
        workflow = uow.workflows.get(run.workflow_id, for_update=True)
        workflow.count_finished("cancelled", now)
        uow.workflow_runs.save(run)
        uow.workflows.save(workflow)
        step = (
            uow.workflow_runs.step_by_id(run.parent_step_execution_id)
            if run.parent_step_execution_id
            else None
        )
        if step is not None and step.status == "running":
            why = f": {error['Cause']}" if error else ""
            step.fail(now, f"the sub-workflow run {run.id} was cancelled{why}")
            uow.workflow_runs.save_step(step)
        cause = error["Cause"] if error else "cancelled by the buyer"
        stopped = [Stop(run.execution_arn, cause)] if run.execution_arn else []
        return stopped + self.cancel_children(uow, run)

    def cancel_children(self, uow: WorkflowUnitOfWork, run: Run) -> list[Stop]:
        """Cancel the running sub-workflow runs of `run`, which has finished (and theirs) in `uow`, each with
        why it stopped (`subworkflows.parent_stopped_waiting`); returns the executions to stop once `uow` is
        committed (`stop_executions`)."""
        stopped: list[Stop] = []
        now = self._clock.now()
        for child in uow.workflow_runs.running_children(run.id):
            stopped += self._cancel(uow, child, parent_stopped_waiting(child, run, now))
        return stopped

    def orphaned(self, uow: WorkflowUnitOfWork, run: Run, now: datetime) -> dict[str, str] | None:
        """Why the running sub-workflow run `run` must stop at `now` because its parent no longer waits for it
        (`subworkflows.parent_stopped_waiting`); None for a run no step started, or a finished one."""
        if run.parent_run_id is None or run.status in FINISHED:
            return None
        return parent_stopped_waiting(run, uow.workflow_runs.get(run.parent_run_id), now)

    def stop_orphan(self, tenant_id: str, run_id: uuid.UUID, error: dict[str, str]) -> None:
        """Cancel the sub-workflow run `run_id` (and its running descendants) with `error`, the reason
        `orphaned` gave, and stop their executions; a run that finished meanwhile is left as it is."""
        with self._uow(tenant_id) as uow:
            run = uow.workflow_runs.get(run_id, for_update=True)
            if run.status in FINISHED:
                return
            stopped = self._cancel(uow, run, error)
            uow.commit()
        self.stop_executions(stopped)

    def stop_executions(self, stopped: list[Stop]) -> None:
        """Stop the executions `_cancel` listed, each with its cause (a finished one is left as it is)."""
        for stop in stopped:
            self._engine.stop(stop.execution_arn, stop.cause)

    def rerun(self, tenant_id: str, run_id: uuid.UUID) -> dict[str, Any]:
        """A new run of the workflow's active version with the same input (`rerun_of` names the first)."""
        with self._uow(tenant_id) as uow:
            run = uow.workflow_runs.get(run_id)
        return self.start(
            tenant_id, run.workflow_id, run.trigger_payload, trigger_type=run.trigger_type, rerun_of=run.id
        )


def runs_csv(items: list[dict[str, Any]]) -> str:
    """The exported runs as CSV (RFC 4180, a header row of `EXPORT_COLUMNS`; times in ISO 8601, the input
    as JSON text)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    for item in items:
        writer.writerow([_cell(column, item.get(column)) for column in EXPORT_COLUMNS])
    return out.getvalue()


def _cell(column: str, value: Any) -> Any:
    if column == "input":
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else value
