"""What the gateway needs from outside: where a dedicated subscription's runtime answers."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID


class RuntimeRouter(Protocol):
    """Where calls of a dedicated-plan subscription go (shared-plan calls run in-process, in the pooled
    functions). The dedicated runtime (its EKS namespace) plugs its implementation in `bootstrap()`."""

    def endpoint(self, tenant_id: UUID, subscription_id: UUID, provisioning: dict[str, Any]) -> str | None:
        """The base URL of the subscription's dedicated runtime, or None while it does not exist yet
        (`provisioning` is the subscription's `provisioning` document: its `state` and steps)."""
        ...


class NoDedicatedRuntime:
    """The default router: no dedicated runtime exists yet, so a dedicated call is a 503 naming the
    subscription's provisioning state (`Gateway.admit`)."""

    def endpoint(self, tenant_id: UUID, subscription_id: UUID, provisioning: dict[str, Any]) -> str | None:
        """Always None."""
        return None
