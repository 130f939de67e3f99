"""Tenant onboarding: a state machine whose steps run here through the callback pattern.

Each step is idempotent (it may be delivered twice) and records its outcome for `GET /v1/me`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from cmp.aws.adapters import StateMachines, TaskTokenGone
from cmp.db import Database
from cmp.errors import NotFound, PoisonMessage

OnboardingStep = Literal["provision_workspace", "assign_runtime_tier", "complete", "mark_failed"]
DEFAULT_PROJECT = "Default"


class StepMessage(BaseModel):
    """The SQS message the state machine sends for each step (`sqs:sendMessage.waitForTaskToken`)."""

    model_config = ConfigDict(extra="ignore")
    step: OnboardingStep
    tenant_id: str = Field(pattern=r"^[0-9a-f-]{36}$")
    task_token: str = Field(min_length=1)
    error: dict[str, Any] | None = None


class OnboardingStarter:
    def __init__(self, machines: StateMachines, state_machine_arn: Callable[[], str]) -> None:
        self._machines = machines
        self._arn = state_machine_arn

    def start(self, tenant_id: str) -> str:
        # The execution name is the tenant id: starting twice is a no-op, not a second onboarding.
        return self._machines.start(self._arn(), f"onboard-{tenant_id}", {"tenant_id": tenant_id})


class OnboardingService:
    def __init__(self, db: Database, machines: StateMachines) -> None:
        self._db = db
        self._machines = machines

    def run_step(self, message: StepMessage) -> dict[str, Any]:
        """Run one step and report to Step Functions; a domain failure fails the task, not the message.

        A token the execution no longer waits for can never be answered: that message is poison.
        """
        try:
            try:
                output = self._steps()[message.step](message)
            except NotFound as e:
                self._machines.task_failed(message.task_token, "TenantNotFound", e.message)
                return {"step": message.step, "status": "failed", "reason": e.message}
            self._machines.task_succeeded(message.task_token, output)
        except TaskTokenGone as e:
            raise PoisonMessage(f"the state machine no longer waits for this step ({e})") from e
        return output

    def _steps(self) -> dict[str, Callable[[StepMessage], dict[str, Any]]]:
        return {
            "provision_workspace": self._provision_workspace,
            "assign_runtime_tier": self._assign_runtime_tier,
            "complete": self._complete,
            "mark_failed": self._mark_failed,
        }

    def _provision_workspace(self, message: StepMessage) -> dict[str, Any]:
        with self._db.unit_of_work(message.tenant_id) as uow:
            self._require_tenant(uow, message.tenant_id)
            uow.execute(
                "update tenants set onboarding_state = 'running', updated_at = now()"
                " where id = %s and onboarding_state in ('pending', 'running')",
                (message.tenant_id,),
            )
            uow.execute(
                "insert into projects (tenant_id, name) values (%s, %s) on conflict (tenant_id, name) do nothing",
                (message.tenant_id, DEFAULT_PROJECT),
            )
            project = uow.fetch_one(
                "select id from projects where tenant_id = %s and name = %s",
                (message.tenant_id, DEFAULT_PROJECT),
            )
            detail = {"default_project_id": str(project["id"]) if project else None}
            self._record(uow, message.tenant_id, "provision_workspace", "succeeded", detail)
        return {"step": "provision_workspace", **detail}

    def _assign_runtime_tier(self, message: StepMessage) -> dict[str, Any]:
        """New organizations start on the shared tier; an Enterprise purchase moves them to dedicated."""
        with self._db.unit_of_work(message.tenant_id) as uow:
            tenant = self._require_tenant(uow, message.tenant_id)
            tier = tenant["runtime_tier"] or "shared"
            uow.execute(
                "update tenants set runtime_tier = %s, updated_at = now() where id = %s",
                (tier, message.tenant_id),
            )
            self._record(uow, message.tenant_id, "assign_runtime_tier", "succeeded", {"runtime_tier": tier})
        return {"step": "assign_runtime_tier", "runtime_tier": tier}

    def _complete(self, message: StepMessage) -> dict[str, Any]:
        with self._db.unit_of_work(message.tenant_id) as uow:
            self._require_tenant(uow, message.tenant_id)
            uow.execute(
                "update tenants set onboarding_state = 'completed', updated_at = now() where id = %s",
                (message.tenant_id,),
            )
            self._record(uow, message.tenant_id, "complete", "succeeded", {})
        return {"step": "complete", "state": "completed"}

    def _mark_failed(self, message: StepMessage) -> dict[str, Any]:
        error = message.error or {}
        detail = {"error": str(error.get("Error", "unknown")), "cause": str(error.get("Cause", ""))[:500]}
        with self._db.unit_of_work(message.tenant_id) as uow:
            self._require_tenant(uow, message.tenant_id)
            uow.execute(
                "update tenants set onboarding_state = 'failed', updated_at = now() where id = %s",
                (message.tenant_id,),
            )
            self._record(uow, message.tenant_id, "mark_failed", "failed", detail)
        return {"step": "mark_failed", **detail}

    @staticmethod
    def _require_tenant(uow: Any, tenant_id: str) -> dict[str, Any]:
        tenant: dict[str, Any] | None = uow.fetch_one("select * from tenants where id = %s", (tenant_id,))
        if tenant is None:
            raise NotFound(f"tenant {tenant_id} does not exist")
        return tenant

    @staticmethod
    def _record(uow: Any, tenant_id: str, step: str, status: str, detail: dict[str, Any]) -> None:
        uow.execute(
            "insert into onboarding_steps (tenant_id, step, status, detail) values (%s, %s, %s, %s)"
            " on conflict (tenant_id, step) do update set status = excluded.status, detail = excluded.detail,"
            " updated_at = now()",
            (tenant_id, step, status, json.dumps(detail)),
        )
