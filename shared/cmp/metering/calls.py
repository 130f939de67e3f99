"""Metering of runtime API calls: one `api_calls` usage event per knowledge search, knowledge test and MCP
search (docs/metering.md, docs/widget-and-mcp.md: "each search counts one API call"), and with it the
call's `compute_ms` (from its admission to its recording).

The events' idempotency keys come from the API Gateway request id (with the MCP tool's name), so a call is
counted exactly once however often the recording is retried; both are recorded after the call's work
succeeded, in one unit of work of their own (a search writes nothing else), and count toward the plan's
`api_calls` quota, which `Gateway.admit` checks before the next call.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from cmp.metering.model import MAX_KEY_LENGTH, UsageEvent, compute_ms
from cmp.metering.ports import MeteringUnitOfWorkFactory
from cmp.ports import Clock


class CallMeter:
    """`record(...)` writes one `api_calls` and one `compute_ms` event through `uow.usage.record` (issue 10's
    exactly-once rule)."""

    def __init__(self, uow: MeteringUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def record(
        self,
        tenant_id: uuid.UUID | str,
        subscription_id: uuid.UUID,
        key_id: uuid.UUID | None,
        call_key: str,
        started_at: datetime,
    ) -> bool:
        """Count one API call of `subscription_id` made with API key `key_id` (None: a portal or widget
        credential) that started at `started_at` (this meter's clock; `Admission.started_at`), and its
        compute time until now; `call_key` names the call uniquely (its request id). True when counted now,
        False when that call was already counted (then neither event is written again)."""
        now = self._clock.now()
        events = [
            UsageEvent(
                subscription_id,
                metric,
                quantity,
                now,
                f"{prefix}:{call_key}"[:MAX_KEY_LENGTH],
                api_key_id=key_id,
            )
            for metric, quantity, prefix in (
                ("api_calls", 1, "call"),
                ("compute_ms", compute_ms(started_at, now), "compute"),
            )
        ]
        with self._uow(tenant_id) as uow:
            counted = [uow.usage.record(event) for event in events]
            uow.commit()
        return counted[0]
