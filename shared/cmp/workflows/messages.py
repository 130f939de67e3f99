"""The SQS message workflow state machines send the step worker (built by `cmp.workflows.compiler`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class StepMessage(BaseModel):
    """One callback task: run a step, decide a branch, or record the run's end."""

    # Validators are built on first use: each function validates only the messages it consumes.
    model_config = ConfigDict(extra="ignore", defer_build=True)
    kind: Literal["step", "branch", "finish"]
    run_id: str = Field(pattern=r"^[0-9a-f-]{36}$")
    tenant_id: str = Field(pattern=r"^[0-9a-f-]{36}$")
    workflow_version_id: str = Field(pattern=r"^[0-9a-f-]{36}$")
    task_token: str = Field(min_length=1)
    node: str | None = None
    attempt: int | None = None
    context: dict[str, Any] | None = None
    status: Literal["succeeded", "failed"] | None = None
    error: dict[str, Any] | None = None
    output: Any = None
    """A finish message's run output (the `steps` of the run): kept on the run and handed to a parent run."""
    fair: bool = False
    """True on the copy of a `step` message the worker queued in its tenant's fair group (cmp.db.outbox);
    the message a state machine sends never carries it."""


class TriggerMessage(BaseModel):
    """A message of the workflow triggers queue, passed on whole to `cmp.workflows.triggers`: a schedule's
    firing (`{"kind": "schedule", "tenant_id", "workflow_id", "scheduled_time"}`) or an EventBridge event
    envelope (`{"id", "detail-type", "source", "detail", …}`)."""

    model_config = ConfigDict(extra="allow", defer_build=True)
