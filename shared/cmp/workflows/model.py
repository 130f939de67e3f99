"""Workflow entities: a subscription's workflow, its versions and its runs (spec Part 7 Workflow Database Schema).

A `Workflow` is `draft` until activated, then `active` or `paused`. Every definition change is a new
`WorkflowVersion` (1, 2, …) holding the definition and its compiled ASL; `active_version` is the one runs
start with, set only by `activate`, so saving or activating a version never changes a run in flight (a run
keeps the version, and so the state machine, it started with).

A `Run` is `pending` → `running` → `succeeded` | `failed` | `cancelled`; a `StepExecution` records one
attempt of one step. A run a `subworkflow` step started (`cmp.workflows.subworkflows`) names its parent.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from cmp.errors import Conflict

WorkflowStatus = Literal["draft", "active", "paused"]
RunStatus = Literal["pending", "running", "succeeded", "failed", "cancelled"]
FINISHED: frozenset[str] = frozenset({"succeeded", "failed", "cancelled"})


@dataclass
class WorkflowVersion:
    id: uuid.UUID
    tenant_id: uuid.UUID
    workflow_id: uuid.UUID
    version: int
    definition: dict[str, Any]
    asl: dict[str, Any] | None
    """None when the definition cannot run; `problems` then says why."""
    problems: list[dict[str, str]] = field(default_factory=list)
    state_machine_arn: str | None = None
    created_at: datetime | None = None


@dataclass
class Workflow:
    id: uuid.UUID
    tenant_id: uuid.UUID
    subscription_id: uuid.UUID
    name: str
    description: str
    trigger_type: str
    trigger_config: dict[str, Any]
    webhook_id: str
    """The public id of its webhook URL (`POST /v1/hooks/{webhook_id}`); only a webhook trigger answers."""
    version: int = 1
    """The latest saved version."""
    active_version: int | None = None
    status: WorkflowStatus = "draft"
    source: str = "product"
    total_runs: int = 0
    successful_runs: int = 0
    failed_runs: int = 0
    last_run_at: datetime | None = None
    schedule_since: datetime | None = None
    """When its schedule was last (re)created (a rate counts from there); None without a schedule."""
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def new_version(self, trigger_type: str, trigger_config: dict[str, Any]) -> int:
        """Record that a new definition was saved; returns its version number. The active version (and
        every run) is unchanged until `activate`."""
        self.version += 1
        self.trigger_type, self.trigger_config = trigger_type, trigger_config
        return self.version

    def activate(self) -> None:
        """Runs start with the latest version from now on (draft, active or paused → active)."""
        self.active_version = self.version
        self.status = "active"

    def pause(self) -> None:
        """No new runs (schedules and webhooks stop firing); raises Conflict unless active."""
        if self.status != "active":
            raise Conflict(f"only an active workflow can be paused (this one is {self.status})")
        self.status = "paused"

    def resume(self) -> None:
        """Back to active with the same version; raises Conflict unless paused."""
        if self.status != "paused":
            raise Conflict(f"only a paused workflow can be resumed (this one is {self.status})")
        self.status = "active"

    def require_version(self) -> int:
        """The active version (after a pause or resume there always is one); raises Conflict when the
        workflow was never activated."""
        if self.active_version is None:
            raise Conflict("the workflow was never activated")
        return self.active_version

    def require_runnable(self) -> int:
        """The version a new run uses; raises Conflict when the workflow is not active."""
        if self.status != "active" or self.active_version is None:
            raise Conflict(f"the workflow is {self.status}: activate it (or resume it) to run it")
        return self.active_version

    def new_run(self, run_id: uuid.UUID, trigger_type: str, payload: dict[str, Any], **fields: Any) -> Run:
        """A pending run of the version new runs use, with `payload` as its input; `fields` are the other
        `Run` fields (`idempotency_key`, `rerun_of`, the parent links of a sub-workflow run). Raises Conflict
        when the workflow is not active."""
        return Run(
            run_id, self.tenant_id, self.id, self.subscription_id, self.require_runnable(), trigger_type, payload,
            **fields,
        )  # fmt: skip

    def count_finished(self, status: str, at: datetime) -> None:
        """Add one finished run to the stats."""
        self.total_runs += 1
        if status == "succeeded":
            self.successful_runs += 1
        elif status == "failed":
            self.failed_runs += 1
        self.last_run_at = at


@dataclass
class Run:
    id: uuid.UUID
    tenant_id: uuid.UUID
    workflow_id: uuid.UUID
    subscription_id: uuid.UUID
    version: int
    trigger_type: str
    trigger_payload: dict[str, Any]
    status: RunStatus = "pending"
    idempotency_key: str | None = None
    rerun_of: uuid.UUID | None = None
    execution_arn: str | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_ms: int | None = None
    output: dict[str, Any] | None = None
    error_message: str | None = None
    error_details: dict[str, Any] | None = None
    created_at: datetime | None = None
    parent_run_id: uuid.UUID | None = None
    """The run whose `subworkflow` step started this one (None for a run started by a trigger)."""
    parent_step_execution_id: uuid.UUID | None = None
    parent_task_token: str | None = None
    """The callback token the parent's execution waits on until this run finishes; never shown."""
    depth: int = 0
    """How many sub-workflow steps led here (0 for a run started by a trigger)."""
    parent_deadline: datetime | None = None
    """When the parent's `subworkflow` step stops waiting for this run (its start + TimeoutSeconds)."""

    def start(self, execution_arn: str, at: datetime) -> None:
        self.execution_arn, self.status, self.started_at = execution_arn, "running", at

    def finish(self, status: RunStatus, at: datetime, error: dict[str, Any] | None = None) -> bool:
        """Record the outcome; returns False (and changes nothing) when the run had already finished, so a
        repeated callback or a cancel racing the end is harmless."""
        if self.status in FINISHED:
            return False
        self.status, self.completed_at = status, at
        start = self.started_at or self.created_at or at
        self.duration_ms = max(0, int((at - start).total_seconds() * 1000))
        if error is not None:
            self.error_details = error
            self.error_message = str(error.get("Error") or "failed")[:500]
        return True


@dataclass
class StepExecution:
    id: uuid.UUID
    tenant_id: uuid.UUID
    run_id: uuid.UUID
    step_id: str
    step_type: str
    step_name: str
    status: str = "running"
    attempt: int = 0
    started_at: datetime | None = None
    completed_at: datetime | None = None
    duration_ms: int | None = None
    input: dict[str, Any] | None = None
    output: Any = None
    error_message: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def fail(self, at: datetime, error: str) -> None:
        """Close a step that is still running as failed with `error` (a step already closed is left)."""
        if self.status != "running":
            return
        self.status, self.completed_at, self.error_message = "failed", at, error[:2000]
        start = self.started_at or at
        self.duration_ms = max(0, int((at - start).total_seconds() * 1000))
