"""The repositories metering uses, as services see them (unit tests pass in-memory fakes)."""

from __future__ import annotations

import uuid
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Protocol

from cmp.metering.model import DuePeriod, UsageEvent


class UsageRecords(Protocol):
    """`cmp.metering.repository.UsageRepository`."""

    def record(self, event: UsageEvent) -> bool:
        """Record the event in the caller's transaction; False for a duplicate idempotency key."""
        ...


class UsageRollups(Protocol):
    """`cmp.metering.repository.UsageRollupRepository`."""

    def due(self, now: datetime, grace: timedelta, limit: int) -> list[DuePeriod]:
        """Open periods to roll up or close, across tenants, earliest end first."""
        ...

    def roll_up(self, subscription_id: uuid.UUID, period_start: datetime, closed_at: datetime | None) -> int:
        """Roll the period's new records up (and close it with `closed_at`); returns how many were added."""
        ...


class MeteringUnitOfWork(Protocol):
    """The unit of work as metering uses it."""

    usage: UsageRecords
    usage_rollups: UsageRollups

    def commit(self) -> None: ...


class MeteringUnitOfWorkFactory(Protocol):
    """`Services.unit_of_work` as metering sees it."""

    def __call__(
        self, tenant_id: uuid.UUID | str | None = None
    ) -> AbstractContextManager[MeteringUnitOfWork]: ...
