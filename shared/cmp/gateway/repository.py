"""The gateway's SQL. `GatewayStatements` is the admission hot path: each method is ONE statement sent with its
transaction and tenant setting in one round trip (`Database.statement`) -- the call state with the period's
quota use, the GCRA check with the concurrency lease (`gateway_admit`), the lease release.
`GatewayRepository` (`uow.gateway`) claims the once-per-period usage alerts inside a unit of work, so the
alert goes out through the outbox. Migration 0016."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from cmp.db.session import Session
from cmp.gateway.model import QUOTAS, RateOutcome, RatePolicy

Statement = Callable[[UUID, str, Any], list[dict[str, Any]]]
"""`Database.statement`: (tenant id, SQL, parameters) -> rows, one round trip."""


class GatewayStatements:
    """The admission statements, each run under row-level security of the given tenant (the rate buckets
    are reached only through `gateway_admit`)."""

    def __init__(self, statement: Statement) -> None:
        self._statement = statement

    def call_state(
        self, tenant_id: UUID, subscription_id: UUID, credential_id: UUID | None, quota: str
    ) -> dict[str, Any] | None:
        """The subscription's status, plan, `runtime.limits`, runtime type, provisioning and period, the
        credential's own rate limit, revocation and expiry (None columns for a portal call), and for `quota`
        (a name of `QUOTAS`; any other name sums nothing) `used`: the units of `usage_records` that
        metering placed in the current period (`period_start`, as `usage_daily` and the usage routes count
        them; index `usage_records_period`), and `alerted`: the alert thresholds already sent this period. None when
        the subscription is not the tenant's."""
        metrics = list(QUOTAS[quota][1]) if quota in QUOTAS else []
        rows = self._statement(
            tenant_id,
            """
            select s.status, s.plan, s.capabilities #> '{runtime,limits}' as runtime_limits, s.runtime_type,
                   s.provisioning, s.current_period_start, s.current_period_end,
                   k.rate_limit_per_minute as key_rate_limit, coalesce(k.revoked_at, w.revoked_at) as revoked_at,
                   k.expires_at,
                   (select coalesce(sum(u.quantity), 0) from usage_records u
                    where u.subscription_id = s.id and u.metric = any(%(metrics)s)
                      and u.period_start = s.current_period_start) as used,
                   array(select a.threshold from usage_alerts a
                         where a.subscription_id = s.id and a.metric = %(quota)s
                           and a.period_start = s.current_period_start) as alerted
            from subscriptions s
            left join api_keys k on k.id = %(credential)s and k.subscription_id = s.id
            left join widget_tokens w on w.id = %(credential)s and w.subscription_id = s.id
            where s.id = %(subscription)s
            """,
            {
                "subscription": subscription_id,
                "credential": credential_id,
                "metrics": metrics,
                "quota": quota,
            },
        )
        return rows[0] if rows else None

    def admit(
        self,
        tenant_id: UUID,
        policies: list[RatePolicy],
        cost: int,
        lease: tuple[UUID, UUID, int, int] | None,
    ) -> tuple[list[RateOutcome], int | None]:
        """One `gateway_admit` call: take `cost` from every policy's bucket (in bucket order) or from none,
        and when `lease` = (lease id, subscription id, cap, ttl seconds) is given, a concurrency lease of
        `tenant_id`'s subscription too. Returns each policy's outcome and the leases held with the new one
        (0 without a cap, None when the cap refused; then no bucket was charged either)."""
        ordered = sorted(policies, key=lambda p: p.bucket)
        lease_id, subscription_id, cap, ttl = lease or (None, None, None, None)
        rows = self._statement(
            tenant_id,
            "select bucket, allowed, tat, checked_at, leases_held"
            " from gateway_admit(%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                [p.bucket for p in ordered],
                [p.interval_ms for p in ordered],
                [p.tolerance_ms for p in ordered],
                cost,
                lease_id,
                tenant_id if lease else None,
                subscription_id,
                cap,
                ttl,
            ),
        )
        by_bucket = {row["bucket"]: row for row in rows}
        outcomes = [
            RateOutcome(p, row["allowed"], row["tat"], row["checked_at"])
            for p in policies
            for row in [by_bucket[p.bucket]]
        ]
        return outcomes, rows[0]["leases_held"]

    def release_lease(self, tenant_id: UUID, lease_id: UUID) -> None:
        """Free a lease of `tenant_id` (releasing twice, or after it expired, is harmless)."""
        self._statement(tenant_id, "select gateway_lease_release(%s)", (lease_id,))


class GatewayRepository:
    """`uow.gateway`: the usage alert claims, in the unit of work whose outbox sends the alert."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def claim_alert(
        self,
        tenant_id: UUID,
        subscription_id: UUID,
        quota: str,
        period_start: datetime,
        threshold: int,
        used: int,
        limit: int,
    ) -> bool:
        """Record that the `threshold` % alert of `quota` was sent this period; False when it already was."""
        return (
            self._session.execute(
                "insert into usage_alerts (tenant_id, subscription_id, metric, period_start, threshold, used, quota)"
                " values (%s, %s, %s, %s, %s, %s, %s) on conflict do nothing",
                (tenant_id, subscription_id, quota, period_start, threshold, used, limit),
            )
            == 1
        )
