"""What the SLA evaluator needs from outside: the runtime metrics' series (`MetricsSource`) and its unit
of work."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

from cmp.sla.model import Bucket


class MetricsSource(Protocol):
    """The runtime metrics of `cmp.sla.metrics`, summed per step."""

    def series(
        self,
        tenant_id: UUID,
        subscription_id: UUID,
        latency_bound_ms: int,
        start: datetime,
        end: datetime,
        step: timedelta,
    ) -> list[Bucket]:
        """The subscription's calls per step in `[start, end)` (`start` on a step boundary): requests,
        errors and successful calls within `latency_bound_ms`. Steps without calls may be missing. The
        store's own errors propagate (the evaluator counts the subscription as failed and goes on)."""
        ...


class SlaUnitOfWorkFactory(Protocol):
    """`Database.unit_of_work` as the evaluator uses it: `uow.subscriptions`, `uow.sla`, `uow.outbox`."""

    def __call__(self, tenant_id: UUID | str | None = None) -> AbstractContextManager[Any]: ...
