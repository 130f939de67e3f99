"""Tenant onboarding as an entity: its state machine (pending → running → completed | failed), the runtime
tier it assigns, and the outcome of each step, as the onboarding state machine's callback tasks drive it.

Every transition is idempotent, because Step Functions' SQS callback messages may arrive twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

OnboardingStep = Literal["provision_workspace", "assign_runtime_tier", "complete", "mark_failed"]
OnboardingState = Literal["pending", "running", "completed", "failed"]
StepStatus = Literal["succeeded", "failed"]
RuntimeTier = Literal["shared", "dedicated"]
DEFAULT_PROJECT = "Default"
DEFAULT_RUNTIME_TIER: RuntimeTier = "shared"


class StepMessage(BaseModel):
    """The SQS message the state machine sends for each step (`sqs:sendMessage.waitForTaskToken`)."""

    # Validators are built on first use: each function validates only the messages it consumes.
    model_config = ConfigDict(extra="ignore", defer_build=True)
    step: OnboardingStep
    tenant_id: str = Field(pattern=r"^[0-9a-f-]{36}$")
    task_token: str = Field(min_length=1)
    error: dict[str, Any] | None = None


@dataclass(frozen=True)
class StepOutcome:
    """What one step did, shown on `GET /v1/me` (`detail` is JSON)."""

    step: OnboardingStep
    status: StepStatus
    detail: dict[str, Any]


@dataclass
class Onboarding:
    """One tenant's onboarding. `outcomes` holds the steps recorded since it was loaded (to be saved)."""

    tenant_id: UUID
    state: OnboardingState
    runtime_tier: RuntimeTier | None
    outcomes: list[StepOutcome] = field(default_factory=list)

    def workspace_provisioned(self, default_project_id: UUID) -> StepOutcome:
        """The workspace (its default project) exists: a pending onboarding is now running."""
        if self.state == "pending":
            self.state = "running"
        return self._record(
            "provision_workspace", "succeeded", {"default_project_id": str(default_project_id)}
        )

    def assign_runtime_tier(self) -> StepOutcome:
        """New organizations start on the shared tier; an organization already placed keeps its tier."""
        self.runtime_tier = self.runtime_tier or DEFAULT_RUNTIME_TIER
        return self._record("assign_runtime_tier", "succeeded", {"runtime_tier": self.runtime_tier})

    def complete(self) -> StepOutcome:
        """Every step succeeded."""
        self.state = "completed"
        return self._record("complete", "succeeded", {})

    def fail(self, error: dict[str, Any] | None) -> StepOutcome:
        """A step failed; `error` is Step Functions' `{"Error", "Cause"}` (the cause kept to 500 chars)."""
        error = error or {}
        self.state = "failed"
        detail = {"error": str(error.get("Error", "unknown")), "cause": str(error.get("Cause", ""))[:500]}
        return self._record("mark_failed", "failed", detail)

    def _record(self, step: OnboardingStep, status: StepStatus, detail: dict[str, Any]) -> StepOutcome:
        outcome = StepOutcome(step, status, detail)
        self.outcomes.append(outcome)
        return outcome


RuntimeStep = Literal[
    "create_namespace",
    "create_role",
    "apply_manifests",
    "wait_rollout",
    "register_endpoint",
    "complete",
    "compensate",
    "mark_failed",
    "export_data",
    "delete_namespace",
    "revoke_role",
]
"""Provisioning steps in order, its failure path (compensate, mark_failed), then deprovisioning's."""


class RuntimeStepMessage(BaseModel):
    """The SQS message the runtime-provisioning state machine sends for each step of a dedicated
    subscription's provisioning (`sqs:sendMessage.waitForTaskToken`)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    step: RuntimeStep
    tenant_id: str = Field(pattern=r"^[0-9a-f-]{36}$")
    subscription_id: str = Field(pattern=r"^[0-9a-f-]{36}$")
    task_token: str = Field(min_length=1)
    error: dict[str, Any] | None = None


EndpointState = Literal["ready", "down", "deprovisioned"]
HealthTransition = Literal["runtime.down", "runtime.recovered"]


@dataclass
class RuntimeEndpoint:
    """Where the gateway reaches a dedicated subscription's runtime (`url`), the product version it runs
    and its state: `ready` once its rollout was available, `down` when the health checker found it not
    answering (`state_reason`), `deprovisioned` after the subscription ended. `consecutive_failures` counts
    the health probes failed in a row, `checked_at` is the last probe's time."""

    subscription_id: UUID
    tenant_id: UUID
    namespace: str
    url: str
    product_version: str
    role_arn: str | None
    state: EndpointState = "ready"
    state_reason: str | None = None
    consecutive_failures: int = 0
    checked_at: datetime | None = None

    def deprovision(self) -> bool:
        """The runtime is gone; False when it already was."""
        if self.state == "deprovisioned":
            return False
        self.state, self.state_reason = "deprovisioned", None
        return True

    def probed(self, failure: str | None, at: datetime, down_after: int) -> HealthTransition | None:
        """Record one health probe (`failure` None: it answered; else why not). A `ready` endpoint becomes
        `down` at its `down_after`-th failure in a row, a `down` one `ready` at its first answer; returns the
        transition (`runtime.down`, `runtime.recovered`) or None. A deprovisioned endpoint stays so."""
        self.checked_at = at
        if self.state == "deprovisioned":
            return None
        if failure is None:
            self.consecutive_failures = 0
            if self.state == "down":
                self.state, self.state_reason = "ready", None
                return "runtime.recovered"
            return None
        self.consecutive_failures += 1
        if self.state == "down":
            self.state_reason = failure
        elif self.consecutive_failures >= down_after:
            self.state, self.state_reason = "down", failure
            return "runtime.down"
        return None
