"""Runtime provisioning of dedicated subscriptions, run by the runtime provisioning worker through the Step
Functions callback pattern (like tenant onboarding).

Buying a dedicated plan creates the subscription `provisioning` and, in the same transaction, an outbox
message starting `RuntimeProvisioningStateMachine` (execution `provision-{subscription_id}`). Its steps:

- `request_namespace`: records that the tenant's namespace (`tenant-{tenant_id}`, DESIGN §4) is requested.
  Creating it on EKS is issue 14; until then the step records the request and succeeds.
- `complete`: the subscription becomes `active`.
- `mark_failed` (after any step failed): the subscription keeps `provisioning` with a readable
  `status_reason`, its `provisioning.state` is `failed`, and a `provisioning_failed` reconciliation issue
  is opened for operators.

Each step is recorded on the subscription (`provisioning.steps`) and is idempotent (SQS may deliver a step
twice; the second answer finds the token gone and the message is dead-lettered). A subscription cancelled
while it was provisioned is left cancelled.
"""

from __future__ import annotations

import uuid
from typing import Any

from cmp.aws.adapters import TaskTokenGone
from cmp.commerce.model import Subscription
from cmp.db.uow import UnitOfWorkFactory
from cmp.errors import DomainError, NotFound, PoisonMessage
from cmp.ports import Clock, StateMachineRunner
from cmp.provisioning.model import RuntimeStepMessage


def namespace_of(tenant_id: uuid.UUID) -> str:
    """The Kubernetes namespace of a tenant's dedicated runtime (DESIGN §4)."""
    return f"tenant-{tenant_id}"


class RuntimeProvisioning:
    def __init__(self, uow: UnitOfWorkFactory, machines: StateMachineRunner, clock: Clock) -> None:
        self._uow = uow
        self._machines = machines
        self._clock = clock

    def run_step(self, message: RuntimeStepMessage) -> dict[str, Any]:
        """Run one step and answer its task token; returns the step's output.

        A step that cannot succeed (an unknown subscription, a domain refusal) fails the task with its
        reason, which sends the execution to `mark_failed`. Raises `PoisonMessage` when the execution no
        longer waits for this token; other errors propagate (SQS retries the message)."""
        try:
            try:
                output = self._run(message)
            except DomainError as e:
                error = "SubscriptionNotFound" if isinstance(e, NotFound) else "ProvisioningRefused"
                if not isinstance(e, NotFound):
                    self._record_refusal(message, error, e.message)
                self._machines.task_failed(message.task_token, error, e.message)
                return {"step": message.step, "status": "failed", "reason": e.message}
            self._machines.task_succeeded(message.task_token, output)
        except TaskTokenGone as e:
            raise PoisonMessage(f"the state machine no longer waits for this step ({e})") from e
        return output

    def _run(self, message: RuntimeStepMessage) -> dict[str, Any]:
        tenant_id, subscription_id = uuid.UUID(message.tenant_id), uuid.UUID(message.subscription_id)
        now = self._clock.now()
        with self._uow(tenant_id) as uow:
            subscription: Subscription = uow.subscriptions.get(subscription_id, for_update=True)
            if message.step == "request_namespace":
                output = self.request_namespace(subscription)
            elif message.step == "complete":
                output = {"step": "complete", "status": subscription.status}
                if subscription.status == "provisioning":
                    subscription.record_provisioning("complete", "succeeded", {}, now)
                    subscription.provisioning_succeeded(now)
                    output["status"] = subscription.status
            else:
                reason = failure_reason(message.error, subscription.provisioning)
                subscription.record_provisioning("mark_failed", "failed", {"reason": reason}, now)
                subscription.provisioning_failed(reason, now)
                uow.reconciliation.open(
                    "provisioning_failed", reason, tenant_id, subscription_id=subscription_id
                )
                output = {"step": "mark_failed", "reason": reason}
            uow.subscriptions.save(subscription)
            uow.commit()
        return output

    def _record_refusal(self, message: RuntimeStepMessage, error: str, cause: str) -> None:
        """Keep a refused step's reason on the subscription (the failure step reads it back)."""
        with self._uow(uuid.UUID(message.tenant_id)) as uow:
            subscription: Subscription = uow.subscriptions.get(
                uuid.UUID(message.subscription_id), for_update=True
            )
            detail = {"error": error, "cause": cause[:500]}
            subscription.record_provisioning(message.step, "failed", detail, self._clock.now())
            uow.subscriptions.save(subscription)
            uow.commit()

    def request_namespace(self, subscription: Subscription) -> dict[str, Any]:
        """Record that the tenant's dedicated namespace is requested (its creation is issue 14)."""
        namespace = namespace_of(subscription.tenant_id)
        detail = {"namespace": namespace, "requested": True}
        subscription.record_provisioning("request_namespace", "succeeded", detail, self._clock.now())
        return {"step": "request_namespace", **detail}


def failure_reason(error: dict[str, Any] | None, provisioning: dict[str, Any]) -> str:
    """Step Functions' `{"Error", "Cause"}` as one readable sentence (the cause kept to 500 characters);
    when the cause did not come through, the one a refused step recorded in `provisioning`."""
    error = error or {}
    name = str(error.get("Error") or "unknown error")
    cause = str(error.get("Cause") or "").strip()[:500]
    if not cause:
        refused = [s["detail"] for s in provisioning.get("steps", {}).values() if s.get("status") == "failed"]
        if refused:
            name, cause = str(refused[-1].get("error", name)), str(refused[-1].get("cause", ""))
    return (
        f"runtime provisioning failed ({name}): {cause}" if cause else f"runtime provisioning failed ({name})"
    )
