"""The gateway's `RuntimeRouter` for dedicated subscriptions: the runtime endpoint provisioning registered
(`runtime_endpoints`), read in the caller's tenant (row-level security), so a call can only ever be sent
to its own organization's runtime."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from cmp.db.uow import UnitOfWorkFactory


class RegisteredRuntimes:
    """`cmp.gateway.ports.RuntimeRouter` over `uow.runtime_endpoints`."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    def endpoint(self, tenant_id: UUID, subscription_id: UUID, provisioning: dict[str, Any]) -> str | None:
        """The runtime's base URL when its endpoint is `ready`; None while it is provisioned, down or gone
        (the gateway answers 503 with the provisioning state)."""
        with self._uow(tenant_id) as uow:
            endpoint = uow.runtime_endpoints.get(subscription_id)
        if endpoint is None or endpoint.state != "ready":
            return None
        url: str = endpoint.url
        return url

    def route(self, tenant_id: UUID, subscription_id: UUID) -> dict[str, Any] | None:
        """`cmp.gateway.routing.RuntimeRoutes.route`: the subscription's runtime type, provisioning state
        and endpoint, read in `tenant_id` (None for another tenant's subscription)."""
        with self._uow(tenant_id) as uow:
            route: dict[str, Any] | None = uow.runtime_endpoints.route(subscription_id)
        return route
