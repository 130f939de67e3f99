"""The gateway's SQL. `GatewayStatements` is the admission hot path: each method is ONE statement sent with its
transaction and tenant setting in one round trip (`Database.statement`) -- the call state with the period's
quota use and, when the caller's cached limits still hold, the admission in the same statement
(`gateway_admit_call`, migration 0035); the GCRA check with the concurrency lease alone (`gateway_admit`);
the lease release. `GatewayRepository` (`uow.gateway`) claims the once-per-period usage alerts inside a unit
of work, so the alert goes out through the outbox. Migrations 0016 and 0035."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from cmp.db.session import Session
from cmp.gateway.authorization import CALLABLE_STATUSES
from cmp.gateway.model import QUOTAS, CallRequest, RateOutcome, RatePolicy

Statement = Callable[[UUID, str, Any], list[dict[str, Any]]]
"""`Database.statement`: (tenant id, SQL, parameters) -> rows, one round trip."""
Send = Callable[[UUID, str, Sequence[str]], None]
"""`Database.send`: (tenant id, SQL with $1.., text parameters), sent without waiting for the answer."""


class GatewayStatements:
    """The admission statements, each run under row-level security of the given tenant (the rate buckets
    are reached only through `gateway_admit`)."""

    def __init__(self, statement: Statement, send: Send | None = None) -> None:
        self._statement = statement
        self._send = send

    def admit_call(
        self,
        tenant_id: UUID,
        call: CallRequest,
        policies: list[RatePolicy],
        lease: tuple[UUID, UUID, int, int] | None,
    ) -> tuple[dict[str, Any], tuple[list[RateOutcome], int | None] | None] | None:
        """One `gateway_admit_call`: the call state of `call.subscription_id` (None when it is not the
        tenant's: status, plan, `runtime_limits`, runtime type, provisioning, period, the credential's own
        rate limit, revocation and expiry, `used`: the units of `usage_records` of `call.quota` (a name of
        `QUOTAS`; any other sums nothing) that metering placed in the current period, as `usage_daily` and
        the usage routes count them, `alerted`: the alert thresholds sent this period, and `fingerprint` of
        the limits' sources), and the admission when `call.fingerprint` still matched and every check passed
        (then, as `admit` returns it; None when nothing was attempted and nothing consumed). `policies` and
        `lease` = (lease id, subscription id, cap, ttl seconds) as for `admit`."""
        ordered = sorted(policies, key=lambda p: p.bucket)
        lease_id, _, cap, ttl = lease or (None, None, None, None)
        rows = self._statement(
            tenant_id,
            "select * from gateway_admit_call(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                call.subscription_id,
                call.credential_id,
                call.fingerprint,
                call.now,
                sorted(CALLABLE_STATUSES),
                list(QUOTAS[call.quota][1]) if call.quota in QUOTAS else [],
                call.quota,
                call.quota_limit,
                call.cost,
                [p.bucket for p in ordered],
                [p.interval_ms for p in ordered],
                [p.tolerance_ms for p in ordered],
                lease_id,
                cap,
                ttl,
            ),
        )
        if not rows:
            return None
        state = rows[0]
        if not state["attempted"]:
            return state, None
        outcomes = [
            RateOutcome(p, allowed, tat, state["checked_at"])
            for p, allowed, tat in zip(ordered, state["allowed"] or [], state["tats"] or [], strict=False)
        ]
        return state, (sorted(outcomes, key=lambda o: policies.index(o.policy)), state["leases_held"])

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
        """Free a lease of `tenant_id` (releasing twice, or after it expired, is harmless): sent without
        waiting for the answer when a `send` was given (a release lost with its connection is a lease that
        expires), else one round trip."""
        if self._send is not None:
            self._send(tenant_id, "select gateway_lease_release($1::uuid)", [str(lease_id)])
        else:
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
