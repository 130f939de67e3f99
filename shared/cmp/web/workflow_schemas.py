"""Request and response models of the workflow routes (`cmp.web.routes.workflows`).

The flow definition is the model of `cmp.workflows.definition` (camelCase keys, as the portal's editor and
docs/automations.md write it); every other field is snake_case like the rest of the API.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from cmp.web.schemas import ApiModel, RequestModel


class Problem(ApiModel):
    path: str = Field(examples=["definition.nodes[3]"])
    message: str


class Trigger(ApiModel):
    type: str = Field(examples=["schedule"])
    config: dict[str, Any]


class WorkflowStats(ApiModel):
    total_runs: int
    successful_runs: int
    failed_runs: int
    last_run_at: datetime | None
    next_run_at: datetime | None = Field(
        default=None,
        description="The next firing of an active workflow's schedule trigger (UTC); null otherwise",
    )


class Webhook(ApiModel):
    """Where a webhook trigger answers and how its callers authenticate (docs/automations.md, Webhooks)."""

    path: str = Field(examples=["/v1/hooks/wh_3kVb9xQm2Lr8TzPw0aYdFnUe"])
    auth: Literal["none", "api_key", "signature", "basic"]
    signing_key: str = Field(
        description="The key callers sign with (signature), send (api_key) or use as password (basic)"
    )


class Workflow(ApiModel):
    """A workflow with its latest version's definition. `runnable` false: `problems` lists what stops it
    (nodes of an imported flow this platform does not run); it cannot be activated until fixed."""

    workflow_id: str
    subscription_id: str
    name: str
    description: str
    source: Literal["product", "n8n", "langflow", "custom"]
    status: Literal["draft", "active", "paused"]
    version: int = Field(description="The latest saved version")
    active_version: int | None = Field(description="The version new runs use (set by activate)")
    trigger: Trigger
    webhook: Webhook | None = Field(description="For a webhook trigger: its URL path and key")
    definition: dict[str, Any] = Field(description="nodes, edges and variables (docs/automations.md)")
    runnable: bool
    problems: list[Problem]
    stats: WorkflowStats
    created_at: datetime | None
    updated_at: datetime | None


class WorkflowList(ApiModel):
    items: list[Workflow]


class WorkflowBody(RequestModel):
    """A new version of the workflow: its whole definition, and optionally a new name or description."""

    definition: dict[str, Any] = Field(description="nodes, edges and variables (docs/automations.md)")
    name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=2000)


class NewWorkflowBody(RequestModel):
    """A new workflow of the subscription (a draft: activate it to run it)."""

    definition: dict[str, Any] = Field(description="nodes, edges and variables (docs/automations.md)")
    name: str = Field(min_length=1, max_length=255)
    description: str | None = Field(default=None, max_length=2000)


class RunBody(RequestModel):
    input: dict[str, Any] = Field(
        default_factory=dict, description="The run's input, `{{ input.… }}` in steps"
    )


class RunSummary(ApiModel):
    run_id: str
    workflow_id: str
    version: int
    status: Literal["pending", "running", "succeeded", "failed", "cancelled"]
    trigger_type: str
    rerun_of: str | None
    parent_run_id: str | None = Field(
        default=None, description="The run whose subworkflow step started this one"
    )
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    duration_ms: int | None
    error: str | None = Field(description="The error name of a failed run (e.g. Http.Status)")


class RunList(ApiModel):
    items: list[RunSummary]
    next_cursor: str | None


class RunResult(RunSummary):
    output: Any = Field(default=None, description="The output of the run's last successful step")


class ExportedRun(RunSummary):
    input: dict[str, Any] = Field(description="The run's input, credentials masked")


class RunExport(ApiModel):
    items: list[ExportedRun]
    truncated: bool = Field(description="True when the workflow has more runs than the export holds")


class StepExecution(ApiModel):
    step_id: str
    type: str
    name: str | None
    status: Literal["running", "succeeded", "failed"]
    attempt: int = Field(description="0 for the first attempt, then each retry")
    started_at: datetime | None
    completed_at: datetime | None
    duration_ms: int | None
    input: Any = Field(description="The step's configuration as rendered for this run, credentials masked")
    output: Any = Field(description="What the step returned, credentials masked")
    error: str | None


class RunDetail(RunSummary):
    input: dict[str, Any] = Field(description="The run's input, credentials masked")
    error_details: dict[str, Any] | None
    steps: list[StepExecution]


class SecretBody(RequestModel):
    value: str = Field(min_length=1, max_length=8192, description="The secret; never shown again")


class SecretOut(ApiModel):
    name: str
    created_at: datetime | None
    rotated_at: str | None = Field(description="When the value was last replaced (ISO 8601)")
    rotations: list[str] = Field(description="Every replacement time, oldest first")
    last_used_at: datetime | None = Field(description="When a step last read it")


class SecretList(ApiModel):
    items: list[SecretOut]
