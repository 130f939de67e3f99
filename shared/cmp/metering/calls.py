"""Metering of runtime API calls: one `api_calls` usage event per knowledge search, knowledge test and MCP
tool call (docs/metering.md, docs/widget-and-mcp.md: "each search counts one API call").

The event's idempotency key is the API Gateway request id (with the MCP tool's name), so a call is counted
exactly once however often the recording is retried; it is recorded after the call's work succeeded, in a
unit of work of its own (a search writes nothing else), and counts toward the plan's `api_calls` quota,
which `Gateway.admit` checks before the next call.
"""

from __future__ import annotations

import uuid

from cmp.metering.model import MAX_KEY_LENGTH, UsageEvent
from cmp.metering.ports import MeteringUnitOfWorkFactory
from cmp.ports import Clock


class CallMeter:
    """`record(...)` writes one `api_calls` event through `uow.usage.record` (issue 10's exactly-once rule)."""

    def __init__(self, uow: MeteringUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def record(
        self,
        tenant_id: uuid.UUID | str,
        subscription_id: uuid.UUID,
        key_id: uuid.UUID | None,
        call_key: str,
    ) -> bool:
        """Count one API call of `subscription_id` made with API key `key_id` (None: a portal or widget
        credential); `call_key` names the call uniquely (its request id). True when counted now, False
        when that call was already counted."""
        event = UsageEvent(
            subscription_id, "api_calls", 1, self._clock.now(), f"call:{call_key}"[:MAX_KEY_LENGTH],
            api_key_id=key_id,
        )  # fmt: skip
        with self._uow(tenant_id) as uow:
            counted = uow.usage.record(event)
            uow.commit()
        return counted
