"""Tenant onboarding steps, run by the onboarding worker through the Step Functions callback pattern.

Each step loads the tenant's onboarding, applies one transition, saves and commits, then answers the task
token. A step may be delivered twice: the transitions are idempotent, and the second answer finds the
execution gone on (`TaskTokenGone`), which makes that message poison (dead-lettered with its reason).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from cmp.aws.adapters import TaskTokenGone
from cmp.errors import NotFound, PoisonMessage
from cmp.ports import StateMachineRunner
from cmp.provisioning.model import DEFAULT_PROJECT, Onboarding, StepMessage
from cmp.provisioning.ports import ProvisioningUnitOfWork, ProvisioningUnitOfWorkFactory


class OnboardingService:
    def __init__(self, uow: ProvisioningUnitOfWorkFactory, machines: StateMachineRunner) -> None:
        self._uow = uow
        self._machines = machines

    def run_step(self, message: StepMessage) -> dict[str, Any]:
        """Run one step and answer its task token; returns the step's output (`{"step", …detail}`).

        An unknown tenant fails the task (`TenantNotFound`), not the message. Raises `PoisonMessage` when
        the execution no longer waits for this token; other errors propagate (SQS retries the message)."""
        try:
            try:
                output = self._run(message)
            except NotFound as e:
                self._machines.task_failed(message.task_token, "TenantNotFound", e.message)
                return {"step": message.step, "status": "failed", "reason": e.message}
            self._machines.task_succeeded(message.task_token, output)
        except TaskTokenGone as e:
            raise PoisonMessage(f"the state machine no longer waits for this step ({e})") from e
        return output

    def _run(self, message: StepMessage) -> dict[str, Any]:
        tenant_id = UUID(message.tenant_id)
        with self._uow(tenant_id) as uow:
            onboarding = self._load(uow, tenant_id)
            if message.step == "provision_workspace":
                outcome = onboarding.workspace_provisioned(
                    uow.onboardings.ensure_project(tenant_id, DEFAULT_PROJECT)
                )
            elif message.step == "assign_runtime_tier":
                outcome = onboarding.assign_runtime_tier()
            elif message.step == "complete":
                outcome = onboarding.complete()
            else:
                outcome = onboarding.fail(message.error)
            uow.onboardings.save(onboarding)
            uow.commit()
        if outcome.step == "complete":
            return {"step": "complete", "state": onboarding.state}
        return {"step": outcome.step, **outcome.detail}

    @staticmethod
    def _load(uow: ProvisioningUnitOfWork, tenant_id: UUID) -> Onboarding:
        onboarding = uow.onboardings.get(tenant_id)
        if onboarding is None:
            raise NotFound(f"tenant {tenant_id} does not exist")
        return onboarding
