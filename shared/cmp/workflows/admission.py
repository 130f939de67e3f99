"""Admission of workflow runs by the runtime gateway (issue 10): every run is a call of its subscription.

Runs a credential starts (`POST /v1/workflows/{id}/runs`, re-run) are admitted by the workflows API with the
caller's own `RuntimeContext`. Runs no credential starts -- a webhook delivery, a schedule's firing, a
platform event -- are admitted here with a context of principal `trigger` built from the workflow's
subscription (`trigger_context`): the same rate limits per subscription and product, concurrency cap and
`executions` quota, with the trigger itself (`hook:<webhook id>`, `schedule:<workflow id>`, `event:<workflow
id>`) in the place of the credential, so one noisy webhook has its own bucket under the subscription's.

What a refusal does depends on who can retry: a webhook delivery is answered 429 with `Retry-After` (the
sender retries; nothing was started), a trigger message refused by a rate limit goes back to its queue (SQS
redelivers it), and a schedule or event run over the `executions` quota is recorded as a failed run naming
the quota (`WorkflowRuns.refused`), never dropped: its firing would only be refused again until the period
resets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from cmp.gateway.context import RuntimeContext
from cmp.gateway.errors import QuotaExceeded

if TYPE_CHECKING:
    from cmp.commerce.model import Subscription
    from cmp.gateway.services import Admission
    from cmp.workflows.ports import WorkflowUnitOfWork
    from cmp.workflows.runs import WorkflowRuns

EXECUTIONS = "executions"
"""The quota a run start is admitted against (`cmp.gateway.model.QUOTAS`); the run's start meters it."""


class Admit(Protocol):
    """`cmp.gateway.services.Gateway.admit`: admit one call of `cost` units of `metric`, or raise RateLimited
    / QuotaExceeded (429), RuntimeUnavailable (503), NotFound, Unauthorized or Forbidden."""

    def __call__(self, ctx: RuntimeContext, metric: str = "api_calls", cost: int = 1) -> Admission: ...


def trigger_context(subscription: Subscription, trigger: str) -> RuntimeContext:
    """The gateway context of a run `trigger` (`hook:<id>`, `schedule:<id>`, `event:<id>`) starts for
    `subscription`: no credential, no scopes (the trigger already proved its right to start the run)."""
    return RuntimeContext(
        principal="trigger",
        tenant_id=subscription.tenant_id,
        subscription_id=subscription.id,
        product_id=subscription.product_id,
        plan_id=subscription.plan_id,
        runtime=subscription.runtime_type,
        key_id=None,
        scopes=(),
        trigger=trigger,
    )


def start_admitted(
    admit: Admit,
    ctx: RuntimeContext,
    runs: WorkflowRuns,
    workflow_id: UUID,
    payload: object,
    *,
    trigger_type: str,
    idempotency_key: str | None,
    key_header: str | None,
    within: WorkflowUnitOfWork | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Start a run (`WorkflowRuns.start`, in the caller's unit of work `within` when given) once the gateway
    admits it against the `executions` quota; returns (its `run_summary`, the RateLimit headers). A retry
    whose run exists (same key, same input) is answered with that run even when the quota is used up now, by
    that very run, perhaps. Raises as `admit` and `WorkflowRuns.start`."""
    tenant_id = str(ctx.tenant_id)
    try:
        with admit(ctx, EXECUTIONS) as admission:
            started = runs.start(
                tenant_id,
                workflow_id,
                payload,
                trigger_type=trigger_type,
                idempotency_key=idempotency_key,
                key_header=key_header,
                within=within,
            )
            return started, admission.headers
    except QuotaExceeded:
        replayed = runs.replayed(
            tenant_id, workflow_id, trigger_type, idempotency_key, payload, within=within
        )
        if replayed is None:
            raise
        return replayed, {}
