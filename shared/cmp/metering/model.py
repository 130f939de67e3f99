"""Usage events and the rule that places each one in a billing period.

An event is recorded exactly once per `(tenant, idempotency_key)`: the key is claimed by the insert of the
usage record itself, inside the transaction of the work being metered (issue 10: claiming it first and
failing the write would lose the event on retry). The event counts in the period of its own timestamp; if
that period is already closed (its roll-up final), it counts as an adjustment on the next open period.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cmp.errors import FieldError, ValidationFailed

METRICS: tuple[str, ...] = (
    "messages",
    "tokens_in",
    "tokens_out",
    "api_calls",
    "executions",
    "documents",
    "storage_bytes",
    "compute_ms",
)
"""What is metered (docs/metering.md): chat messages, model tokens in and out, runtime API calls, workflow
executions, knowledge documents ingested, bytes stored, compute milliseconds."""

MAX_KEY_LENGTH = 200
"""`usage_records.dedup_key` is varchar(200) (migration 0013)."""


@dataclass(frozen=True)
class UsageEvent:
    """One metered event: `quantity` (≥ 0, in the metric's unit) of `metric` for a subscription, at
    `occurred_at` (timezone-aware), deduplicated by `idempotency_key` (1 to 200 characters, unique per tenant
    for ever). Raises `ValidationFailed` naming the bad field."""

    subscription_id: uuid.UUID
    metric: str
    quantity: int
    occurred_at: datetime
    idempotency_key: str
    api_key_id: uuid.UUID | None = None
    metadata: dict[str, Any] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        errors: list[FieldError] = []
        if self.metric not in METRICS:
            errors.append(FieldError("metric", f"must be one of {', '.join(METRICS)}"))
        if isinstance(self.quantity, bool) or not isinstance(self.quantity, int) or self.quantity < 0:
            errors.append(FieldError("quantity", "must be a whole number ≥ 0"))
        if self.occurred_at.tzinfo is None:
            errors.append(FieldError("occurred_at", "must carry a timezone"))
        if not 1 <= len(self.idempotency_key) <= MAX_KEY_LENGTH:
            errors.append(FieldError("idempotency_key", f"must be 1 to {MAX_KEY_LENGTH} characters"))
        if errors:
            raise ValidationFailed("the usage event is invalid", errors=errors)


def compute_ms(started: datetime, ended: datetime) -> int:
    """The `compute_ms` quantity of a call that ran from `started` to `ended` (the runtime's clock): whole
    milliseconds, rounded down, never negative (a clock stepping back counts 0)."""
    return max(0, (ended - started) // timedelta(milliseconds=1))


@dataclass(frozen=True)
class BillingPeriod:
    """A period metering knows for a subscription: `[start, end)`; `closed` once its roll-up is final."""

    start: datetime
    end: datetime
    closed: bool = False

    def following(self) -> BillingPeriod:
        """The period after this one, of the same length (used when the subscription has not renewed)."""
        return BillingPeriod(self.end, self.end + (self.end - self.start))


@dataclass(frozen=True)
class DuePeriod:
    """An open period the roll-up job has work for (records past its watermark, or due to close)."""

    tenant_id: uuid.UUID
    subscription_id: uuid.UUID
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Placement:
    """Where an event counts: its period (possibly one metering has not stored yet), and whether it is an
    adjustment (its own period was closed, so it counts on a later one)."""

    period: BillingPeriod
    adjustment: bool


def own_period(periods: list[BillingPeriod], occurred_at: datetime) -> BillingPeriod:
    """The period an event at `occurred_at` belongs to: the latest whose start is not after it; the one
    following the last (same length) for an event after the last known end (the subscription has not
    renewed yet); the first period for an event older than every period (before the subscription).
    `periods` is non-empty, ordered by start."""
    owned = [p for p in periods if p.start <= occurred_at]
    if not owned:
        return periods[0]
    if occurred_at >= owned[-1].end and owned[-1] is periods[-1]:
        return periods[-1].following()
    return owned[-1]


def place(periods: list[BillingPeriod], occurred_at: datetime) -> Placement:
    """The event's own period when open; when closed, the first open period after it (or, when every later
    one is closed too, the period following the last), as an adjustment. `periods` is non-empty, ordered
    by start."""
    own = own_period(periods, occurred_at)
    if not own.closed:
        return Placement(own, adjustment=False)
    later = [p for p in periods if p.start > own.start and not p.closed]
    target = later[0] if later else max(periods, key=lambda p: p.start).following()
    return Placement(target, adjustment=True)


CLOSE_GRACE = timedelta(hours=1)
"""How long after its end a period stays open for late events before the roll-up closes it."""
