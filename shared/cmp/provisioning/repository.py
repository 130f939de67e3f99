"""All onboarding SQL: the onboarding columns of `tenants`, `onboarding_steps`, and the tenant's projects."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from cmp.db.session import Session
from cmp.provisioning.model import Onboarding, RuntimeEndpoint


class OnboardingRepository:
    """`uow.onboardings`; tenant-scoped (row-level security), so the unit of work names the tenant."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, tenant_id: UUID) -> Onboarding | None:
        """The tenant's onboarding, locked for this transaction; None when the tenant does not exist."""
        row = self._session.fetch_one(
            "select id, onboarding_state, runtime_tier from tenants where id = %s for update", (tenant_id,)
        )
        if row is None:
            return None
        return Onboarding(row["id"], row["onboarding_state"], row["runtime_tier"])

    def ensure_project(self, tenant_id: UUID, name: str) -> UUID:
        """The project's id, inserting it when missing (a second delivery finds the first one's)."""
        self._session.execute(
            "insert into projects (tenant_id, name) values (%s, %s) on conflict (tenant_id, name) do nothing",
            (tenant_id, name),
        )
        row = self._session.fetch_one(
            "select id from projects where tenant_id = %s and name = %s", (tenant_id, name)
        )
        if row is None:
            raise LookupError(f"project {name!r} of tenant {tenant_id} vanished inside its transaction")
        project_id: UUID = row["id"]
        return project_id

    def save(self, onboarding: Onboarding) -> None:
        """Write the state and tier, and upsert each recorded step outcome."""
        self._session.execute(
            "update tenants set onboarding_state = %s, runtime_tier = %s, updated_at = now() where id = %s",
            (onboarding.state, onboarding.runtime_tier, onboarding.tenant_id),
        )
        self._session.execute_many(
            "insert into onboarding_steps (tenant_id, step, status, detail) values (%s, %s, %s, %s)"
            " on conflict (tenant_id, step) do update set status = excluded.status,"
            " detail = excluded.detail, updated_at = now()",
            [(onboarding.tenant_id, o.step, o.status, Jsonb(o.detail)) for o in onboarding.outcomes],
        )


class RuntimeEndpointRepository:
    """`uow.runtime_endpoints`: the dedicated runtimes of the unit of work's tenant (`runtime_endpoints`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def get(self, subscription_id: UUID, for_update: bool = False) -> RuntimeEndpoint | None:
        """The subscription's endpoint (locked for this transaction with `for_update`); None if none."""
        row = self._session.fetch_one(
            "select subscription_id, tenant_id, namespace, url, product_version, role_arn, state, state_reason,"
            " consecutive_failures, checked_at from runtime_endpoints where subscription_id = %s"
            + (" for update" if for_update else ""),
            (subscription_id,),
        )
        return RuntimeEndpoint(**row) if row else None

    def save(self, endpoint: RuntimeEndpoint) -> None:
        """Insert or update the endpoint (registering twice keeps one row)."""
        self._session.execute(
            "insert into runtime_endpoints (subscription_id, tenant_id, namespace, url, product_version,"
            " role_arn, state, state_reason, consecutive_failures, checked_at)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " on conflict (subscription_id) do update set url = excluded.url,"
            " product_version = excluded.product_version, role_arn = excluded.role_arn,"
            " state = excluded.state, state_reason = excluded.state_reason,"
            " consecutive_failures = excluded.consecutive_failures, checked_at = excluded.checked_at,"
            " updated_at = now()",
            (
                endpoint.subscription_id,
                endpoint.tenant_id,
                endpoint.namespace,
                endpoint.url,
                endpoint.product_version,
                endpoint.role_arn,
                endpoint.state,
                endpoint.state_reason,
                endpoint.consecutive_failures,
                endpoint.checked_at,
            ),
        )

    def to_check(self, limit: int) -> list[tuple[UUID, UUID, str]]:
        """(tenant_id, subscription_id, url) of up to `limit` endpoints of every tenant the health checker
        probes (`ready` or `down`), least recently checked first (a security-definer function: the checker
        runs without a tenant and then writes in each tenant's own unit of work)."""
        rows = self._session.fetch_all("select * from runtime_endpoints_to_check(%s)", (limit,))
        return [(row["tenant_id"], row["subscription_id"], row["url"]) for row in rows]

    def dedicated_capabilities(self, tenant_id: UUID) -> list[dict[str, Any]]:
        """The capability snapshots of the tenant's live dedicated subscriptions (what its namespace quota
        is sized for), oldest first; a shared subscription upgraded to a dedicated plan counts from the
        upgrade (its plan is dedicated before its `runtime_type` switches)."""
        rows = self._session.fetch_all(
            "select capabilities from subscriptions where tenant_id = %s"
            " and (runtime_type = 'dedicated' or plan->>'runtimeType' = 'dedicated')"
            " and status in ('provisioning', 'active', 'past_due', 'suspended') order by created_at, id",
            (tenant_id,),
        )
        return [row["capabilities"] for row in rows]

    def route(self, subscription_id: UUID) -> dict[str, Any] | None:
        """Where the unit of work's tenant's subscription runs: `runtime_type`, its provisioning `state`
        and, once registered, its endpoint's `url`, `endpoint_state` and `state_reason`; None when the
        subscription is not the tenant's (row-level security hides it)."""
        return self._session.fetch_one(
            "select s.runtime_type, s.provisioning->>'state' as state, e.url, e.state as endpoint_state,"
            " e.state_reason from subscriptions s left join runtime_endpoints e"
            " on e.subscription_id = s.id and e.tenant_id = s.tenant_id where s.id = %s",
            (subscription_id,),
        )
