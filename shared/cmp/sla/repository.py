"""All SQL of `sla_periods` (migration 0031) and the cross-tenant list of watched subscriptions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from cmp.db.session import Session
from cmp.sla.model import SlaReport


class SlaRepository:
    """`uow.sla`; tenant-scoped (row-level security), except `watched` (a SECURITY DEFINER function)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def watched(self, limit: int) -> list[tuple[UUID, UUID]]:
        """`(tenant_id, subscription_id)` of every dedicated subscription that is active or past due,
        across tenants (`sla_subscriptions`), at most `limit`."""
        rows = self._session.fetch_all("select * from sla_subscriptions(%s)", (limit,))
        return [(r["tenant_id"], r["subscription_id"]) for r in rows]

    def latest(self, subscription_id: UUID) -> dict[str, Any] | None:
        """The subscription's most recent period row (`period_start`, `period_end`, `report`, `firing`,
        `evaluated_at`), locked for this transaction; None before its first evaluation."""
        return self._session.fetch_one(
            "select period_start, period_end, report, firing, evaluated_at from sla_periods"
            " where subscription_id = %s order by period_start desc limit 1 for update",
            (subscription_id,),
        )

    def save(self, tenant_id: UUID, subscription_id: UUID, report: SlaReport, firing: list[str]) -> None:
        """Insert or replace the row of the report's period."""
        self._session.execute(
            "insert into sla_periods (subscription_id, tenant_id, period_start, period_end, report, firing,"
            " evaluated_at) values (%s, %s, %s, %s, %s, %s, %s)"
            " on conflict (subscription_id, period_start) do update set period_end = excluded.period_end,"
            " report = excluded.report, firing = excluded.firing, evaluated_at = excluded.evaluated_at",
            (
                subscription_id,
                tenant_id,
                report.period_start,
                report.period_end,
                Jsonb(report.to_dict()),
                firing,
                report.evaluated_at,
            ),
        )
