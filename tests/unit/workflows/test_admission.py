"""`cmp.workflows.admission`: a run no credential starts is counted as its trigger under its subscription, a
run start is admitted against the `executions` quota, and a retry refused by the quota is answered with its
own run only when that run exists with the same input."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest

from cmp.gateway.context import RuntimeContext
from cmp.gateway.errors import QuotaExceeded
from cmp.gateway.services import Admission
from cmp.workflows.admission import start_admitted, trigger_context


@dataclass
class Subscription:
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    tenant_id: uuid.UUID = field(default_factory=uuid.uuid4)
    product_id: uuid.UUID = field(default_factory=uuid.uuid4)
    plan_id: str = "plan_pro"
    runtime_type: str = "shared"


class Runs:
    """`WorkflowRuns.start` / `replayed` over one stored run per key."""

    def __init__(self) -> None:
        self.by_key: dict[str, tuple[object, dict[str, Any]]] = {}

    def start(self, tenant_id: str, workflow_id: uuid.UUID, payload: object, **kw: Any) -> dict[str, Any]:
        run = {"run_id": str(uuid.uuid4()), "status": "running"}
        self.by_key.setdefault(kw["idempotency_key"], (payload, run))
        return self.by_key[kw["idempotency_key"]][1]

    def replayed(
        self,
        tenant_id: str,
        workflow_id: uuid.UUID,
        trigger: str,
        key: str | None,
        payload: object,
        within: object = None,
    ) -> Any:
        found = self.by_key.get(key) if key else None
        return found[1] if found and found[0] == payload else None


class Gate:
    """Admits until `left` runs are used, then refuses with the quota."""

    def __init__(self, left: int) -> None:
        self.left = left
        self.seen: list[tuple[str, str]] = []

    def __call__(self, ctx: RuntimeContext, metric: str = "api_calls", cost: int = 1) -> Admission:
        self.seen.append((ctx.credential, metric))
        if self.left < cost:
            raise QuotaExceeded(metric, 1, 1, "2026-12-01T00:00:00+00:00", 60)
        self.left -= cost
        return Admission({"RateLimit": '"subscription";r=9;t=1'})


def test_a_trigger_is_its_own_caller_under_its_subscription() -> None:
    subscription = Subscription()
    ctx = trigger_context(subscription, "hook:wh_abc")  # type: ignore[arg-type]
    assert (ctx.principal, ctx.credential, ctx.subscription_id) == ("trigger", "hook:wh_abc", subscription.id)
    assert ctx.scopes == () and ctx.key_id is None


def test_a_start_is_admitted_against_executions_and_a_retry_survives_the_quota() -> None:
    gate, runs = Gate(left=1), Runs()
    ctx = trigger_context(Subscription(), "hook:wh_abc")  # type: ignore[arg-type]
    kw: dict[str, Any] = {"trigger_type": "webhook", "key_header": "X-Delivery-Id"}
    first, headers = start_admitted(gate, ctx, runs, uuid.uuid4(), {"a": 1}, idempotency_key="d1", **kw)  # type: ignore[arg-type]
    assert headers == {"RateLimit": '"subscription";r=9;t=1'} and gate.seen == [("hook:wh_abc", "executions")]
    again, headers = start_admitted(gate, ctx, runs, uuid.uuid4(), {"a": 1}, idempotency_key="d1", **kw)  # type: ignore[arg-type]
    assert again == first and headers == {}
    for payload, key in (({"a": 2}, "d1"), ({"a": 1}, "d2"), ({"a": 1}, None)):
        with pytest.raises(QuotaExceeded):
            start_admitted(gate, ctx, runs, uuid.uuid4(), payload, idempotency_key=key, **kw)  # type: ignore[arg-type]
