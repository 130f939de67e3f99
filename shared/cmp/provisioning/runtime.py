"""Runtime provisioning of dedicated subscriptions, run by the runtime provisioning worker through the Step
Functions callback pattern (like tenant onboarding).

Buying a dedicated plan creates the subscription `provisioning` and, in the same transaction, an outbox
message starting `RuntimeProvisioningStateMachine` (execution `provision-{subscription_id}`). Its steps:

- `create_namespace`: the tenant's namespace `tenant-{tenant_id}` (DESIGN §4) on the cluster;
- `create_role`: the tenant's IAM role for its service account (its S3 prefix, queue and secrets only);
- `apply_manifests`: the tenant-level objects and the subscription's runtime (server-side apply);
- `wait_rollout`: answers `RolloutInProgress` until the Deployment is available (the state machine
  retries), `RolloutFailed` when it cannot become available;
- `register_endpoint`: where the gateway reaches the runtime (`runtime_endpoints`);
- `complete`: the subscription becomes `active` (an upgraded shared subscription, already active, gets
  `runtime_type` `dedicated` now: from here the gateway sends its calls to the runtime).
- After any failure, `compensate` deletes what the steps created (only the runtime's own objects when
  the tenant keeps another dedicated subscription), then `mark_failed`: the subscription keeps
  `provisioning` with a readable `status_reason`, its `provisioning.state` is `failed`, and a
  `provisioning_failed` reconciliation issue is opened for operators.

A shared subscription upgraded to a dedicated plan starts the same steps (execution `upgrade-{order_id}`,
`cmp.commerce.changes`); it stays `active` on the shared runtime throughout, and a failure leaves it there
with the reason in `status_reason` (the compensation and the reconciliation issue are the same).

A dedicated subscription moved to a newer product version (`cmp.commerce.versions`) runs execution
`version-{subscription_id}-{version}` (`action: update`): `apply_manifests`, `wait_rollout`,
`register_endpoint` and `complete` again, for the new version (server-side apply changes the Deployment's
pod template, which Kubernetes rolls out pod by pod, so the old version serves until the new one is
available; the endpoint stays registered). A failure goes straight to `mark_failed` (nothing is
compensated: the runtime keeps serving) with the reason and the reconciliation issue.

When a dedicated subscription ended at its period end, the billing job starts execution
`deprovision-{subscription_id}` (`action: deprovision`): `export_data` records the tenant's data location
on the subscription, `delete_namespace` removes its runtime (the namespace when no other dedicated
subscription of the tenant is live), `revoke_role` deletes the IAM role under the same condition.

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
from cmp.provisioning.cluster import ClusterError
from cmp.provisioning.dedicated import DedicatedRuntimes
from cmp.provisioning.iam import namespace_of
from cmp.provisioning.model import RuntimeEndpoint, RuntimeStepMessage

__all__ = ["RuntimeProvisioning", "failure_reason", "namespace_of"]

NO_CLUSTER = (
    "no Kubernetes cluster is configured for dedicated runtimes (set EKS_CLUSTER_NAME, or KUBERNETES_API_URL "
    "for a local API server)"
)


class StepRefused(DomainError):
    """A step cannot succeed; `error` names it for the state machine (`RolloutFailed`, `ClusterRefused`…)."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


class RolloutPending(Exception):
    """The rollout is not available yet; the state machine retries `wait_rollout` (`RolloutInProgress`)."""


class RuntimeProvisioning:
    """The steps of `RuntimeProvisioningStateMachine`. `runtimes` is None when no cluster is configured:
    every cluster step then fails with a reason saying so."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        machines: StateMachineRunner,
        clock: Clock,
        runtimes: DedicatedRuntimes | None = None,
    ) -> None:
        self._uow = uow
        self._machines = machines
        self._clock = clock
        self._runtimes = runtimes

    def run_step(self, message: RuntimeStepMessage) -> dict[str, Any]:
        """Run one step and answer its task token; returns the step's output.

        A step that cannot succeed (an unknown subscription, a domain refusal, the API server refusing)
        fails the task with its reason, which sends the execution to `compensate` and `mark_failed`; a
        rollout still in progress fails it with `RolloutInProgress` (retried by the state machine). Raises
        `PoisonMessage` when the execution no longer waits for this token; other errors propagate (SQS
        retries the message)."""
        try:
            try:
                output = self._run(message)
            except RolloutPending as e:
                self._machines.task_failed(message.task_token, "RolloutInProgress", str(e))
                return {"step": message.step, "status": "pending", "reason": str(e)}
            except DomainError as e:
                error = "SubscriptionNotFound" if isinstance(e, NotFound) else "ProvisioningRefused"
                error = e.error if isinstance(e, StepRefused) else error
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
            if message.step == "complete":
                output = {"step": "complete", "status": subscription.status}
                if subscription.awaits_runtime:
                    subscription.record_provisioning("complete", "succeeded", {}, now)
                    subscription.provisioning_succeeded(now)
                    output["status"] = subscription.status
                elif subscription.updating_version:
                    subscription.record_provisioning("complete", "succeeded", {}, now)
                    subscription.version_rolled_out(now)
            elif message.step == "mark_failed" and subscription.status == "cancelled":
                subscription.record_provisioning("mark_failed", "skipped", {"reason": CANCELLED}, now)
                subscription.provisioning_cancelled(now)
                output = {"step": "mark_failed", "skipped": CANCELLED}
            elif message.step == "mark_failed":
                reason = failure_reason(message.error, subscription.provisioning)
                subscription.record_provisioning("mark_failed", "failed", {"reason": reason}, now)
                subscription.provisioning_failed(reason, now)
                uow.reconciliation.open(
                    "provisioning_failed", reason, tenant_id, subscription_id=subscription_id
                )
                output = {"step": "mark_failed", "reason": reason}
            else:
                if subscription.status == "cancelled" and message.step in CREATING_STEPS:
                    raise StepRefused("SubscriptionCancelled", CANCELLED)
                detail = self._cluster_step(message.step, uow, subscription)
                subscription.record_provisioning(message.step, "succeeded", detail, now)
                output = {"step": message.step, **detail}
            uow.subscriptions.save(subscription)
            uow.commit()
        return output

    def _cluster_step(self, step: str, uow: Any, subscription: Subscription) -> dict[str, Any]:
        """One step that acts on the cluster or IAM; returns the detail recorded on the subscription."""
        runtimes = self._runtimes
        if runtimes is None:
            raise StepRefused("ClusterNotConfigured", NO_CLUSTER)
        tenant_id = subscription.tenant_id
        spec = runtimes.spec(subscription)
        try:
            if step == "create_namespace":
                return runtimes.create_namespace(tenant_id)
            if step == "create_role":
                return runtimes.create_role(tenant_id)
            if step == "apply_manifests":
                return runtimes.apply(spec, uow.runtime_endpoints.dedicated_capabilities(tenant_id))
            if step == "wait_rollout":
                state, reason = runtimes.rollout(spec)
                if state == "progressing":
                    raise RolloutPending(reason)
                if state == "failed":
                    raise StepRefused("RolloutFailed", f"the runtime's rollout failed: {reason}")
                return {"rollout": state, "reason": reason}
            if step == "register_endpoint":
                role = subscription.provisioning.get("steps", {}).get("create_role", {}).get("detail", {})
                endpoint = RuntimeEndpoint(
                    subscription.id,
                    tenant_id,
                    spec.namespace,
                    runtimes.url(spec),
                    spec.product_version,
                    role.get("role_arn"),
                )
                uow.runtime_endpoints.save(endpoint)
                return {"url": endpoint.url, "product_version": endpoint.product_version}
            if step == "export_data":
                location = runtimes.data_location(tenant_id)
                subscription.provisioning = {**subscription.provisioning, "data_location": location}
                return {"data_location": location}
            return self._remove(step, uow, subscription, runtimes)
        except ClusterError as e:
            if e.status == 0 or e.status >= 500:
                raise
            raise StepRefused("ClusterRefused", f"the Kubernetes API refused {step}: {e}") from e

    def _remove(
        self, step: str, uow: Any, subscription: Subscription, runtimes: DedicatedRuntimes
    ) -> dict[str, Any]:
        """compensate / delete_namespace / revoke_role: remove this subscription's runtime, and the tenant's
        namespace and role unless another dedicated subscription of the tenant is live."""
        tenant_id = subscription.tenant_id
        live = uow.runtime_endpoints.dedicated_capabilities(tenant_id)
        shared = len(live) > (1 if subscription.is_live else 0)
        steps = subscription.provisioning.get("steps", {})
        done = {name for name, s in steps.items() if s.get("status") == "succeeded"}
        detail: dict[str, Any] = {}
        if step in ("compensate", "delete_namespace"):
            if shared:
                detail["runtime_deleted"] = runtimes.delete_runtime(runtimes.spec(subscription))
            elif step == "delete_namespace" or done & {"create_namespace", "apply_manifests"}:
                detail.update(runtimes.delete_namespace(tenant_id))
        revoke = step == "revoke_role" or (step == "compensate" and "create_role" in done)
        if revoke and not shared:
            detail.update(runtimes.revoke_role(tenant_id))
        if step == "delete_namespace":
            endpoint = uow.runtime_endpoints.get(subscription.id)
            if endpoint is not None and endpoint.deprovision():
                uow.runtime_endpoints.save(endpoint)
        detail["kept_for_other_subscriptions"] = shared
        return detail

    def _record_refusal(self, message: RuntimeStepMessage, error: str, cause: str) -> None:
        """Keep a refused step's reason on the subscription (the failure step reads it back)."""
        with self._uow(uuid.UUID(message.tenant_id)) as uow:
            subscription: Subscription = uow.subscriptions.get(
                uuid.UUID(message.subscription_id), for_update=True
            )
            detail = {"error": error, "cause": cause[:500]}
            status = "skipped" if subscription.status == "cancelled" else "failed"
            subscription.record_provisioning(message.step, status, detail, self._clock.now())
            uow.subscriptions.save(subscription)
            uow.commit()


CREATING_STEPS = frozenset(
    {"create_namespace", "create_role", "apply_manifests", "wait_rollout", "register_endpoint"}
)
"""The steps that create a runtime: refused for a cancelled subscription, whose deprovisioning removes it."""

CANCELLED = "the subscription was cancelled while its runtime was provisioned; nothing more is created"


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
