"""The buyer's read side: a dedicated subscription's SLA in its current billing period
(`GET /v1/subscriptions/{id}/sla`)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from cmp.db.session import Session
from cmp.errors import Conflict, NotFound
from cmp.sla.model import SlaReport
from cmp.sla.targets import SlaTargets

SessionFactory = Callable[..., AbstractContextManager[Session]]


class SlaViews:
    """`sessions` is `Database.session` (read-only transactions in the caller's tenant)."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def subscription_sla(self, tenant_id: str, subscription_id: uuid.UUID) -> dict[str, Any]:
        """`{"subscription_id", **SlaReport.to_dict()}` of the current period as last evaluated, with
        `evaluated_at` None (and no calls) before the evaluator's first run in this period. Raises NotFound
        for a subscription of another organization, Conflict (409) for one on the shared runtime (SLAs
        cover dedicated plans only)."""
        with self._sessions(tenant_id, read_only=True) as session:
            sub = session.fetch_one(
                "select id, plan, runtime_type, current_period_start, current_period_end from subscriptions"
                " where id = %s",
                (subscription_id,),
            )
            if sub is None:
                raise NotFound("subscription not found")
            if sub["runtime_type"] != "dedicated":
                raise Conflict(
                    "this subscription runs on the shared runtime: SLA monitoring covers dedicated "
                    "(enterprise) plans only"
                )
            row = session.fetch_one(
                "select report from sla_periods where subscription_id = %s and period_start = %s",
                (subscription_id, sub["current_period_start"]),
            )
        if row is not None:
            report: dict[str, Any] = row["report"]
        else:
            empty = SlaReport(
                SlaTargets.from_plan(sub["plan"]),
                sub["current_period_start"],
                sub["current_period_end"],
                sub["current_period_start"],
                0,
                0,
                0,
                0,
            )
            report = {**empty.to_dict(), "evaluated_at": None}
        return {"subscription_id": str(subscription_id), **report}
