"""`RuntimeContext`: who is calling a bought product, as the runtime authorizer established it.

The authorizer passes it to the integration as API Gateway's `requestContext.authorizer` (a map of strings,
`to_authorizer`); routes read it back with `cmp.web.deps.runtime_context` (`from_authorizer`). Handlers read
the tenant only from here. No I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from cmp.errors import FieldError, Forbidden, NotFound, Unauthorized
from cmp.gateway.errors import API_KEY_HEADER, Refused

Principal = Literal["api_key", "widget_token", "portal", "trigger"]
RuntimeType = Literal["shared", "dedicated"]
PRINCIPALS: tuple[str, ...] = ("api_key", "widget_token", "portal")
"""What an authorizer context may carry; `trigger` (a workflow run no credential starts) never comes from one."""
RUNTIMES: tuple[str, ...] = ("shared", "dedicated")


@dataclass(frozen=True)
class RuntimeContext:
    """One runtime call's caller: the credential kind (`principal`), the subscription it acts for (its
    tenant, product, plan and runtime type), the credential's id (`key_id`: the API key's or widget token's
    id; None for a portal JWT), its scopes (`cmp.tenancy.credentials.SCOPES`; a portal JWT of the owning
    buyer has them all) and, for a widget token, the request's checked `Origin`. `user_id` is the portal
    user (None for credentials). `credential_header` is where the API key or widget token came from
    (`X-Api-Key`, `Authorization`, `query.api_key`…), named by a later refusal of it (revoked or expired
    since the authorizer let it through)."""

    principal: Principal
    tenant_id: UUID
    subscription_id: UUID
    product_id: UUID
    plan_id: str
    runtime: RuntimeType
    key_id: UUID | None
    scopes: tuple[str, ...]
    origin: str | None = None
    user_id: UUID | None = None
    trigger: str | None = None
    """For principal `trigger`: the workflow trigger that starts the run without a credential (`hook:<webhook
    id>`, `schedule:<workflow id>`, `event:<workflow id>`, `cmp.workflows.admission`)."""
    credential_header: str = API_KEY_HEADER

    @property
    def credential(self) -> str:
        """What the rate limiter counts this caller as: `key:<id>` for a credential, `user:<id>` for a
        portal user, the trigger for a workflow trigger."""
        if self.trigger is not None:
            return self.trigger
        return f"key:{self.key_id}" if self.key_id is not None else f"user:{self.user_id}"

    def require_scope(self, scope: str) -> None:
        """Raises Forbidden (403) naming `scope` unless the credential holds it."""
        if scope not in self.scopes:
            raise Forbidden(
                f"this credential lacks the scope '{scope}'",
                errors=[FieldError("scopes", f"does not include {scope} (has {', '.join(self.scopes)})")],
            )

    def require_subscription(self, subscription_id: UUID) -> None:
        """Raises NotFound (404) unless the call is for the credential's own subscription: a credential of
        one subscription never learns whether another exists."""
        if subscription_id != self.subscription_id:
            raise NotFound("subscription not found")

    def to_authorizer(self) -> dict[str, str]:
        """The context as API Gateway carries it from the authorizer (string values; absent = empty)."""
        return {
            "principal": self.principal,
            "tenant_id": str(self.tenant_id),
            "subscription_id": str(self.subscription_id),
            "product_id": str(self.product_id),
            "plan_id": self.plan_id,
            "runtime": self.runtime,
            "key_id": str(self.key_id) if self.key_id else "",
            "scopes": ",".join(self.scopes),
            "origin": self.origin or "",
            "user_id": str(self.user_id) if self.user_id else "",
            "credential_header": self.credential_header,
        }

    @classmethod
    def from_authorizer(cls, context: dict[str, str]) -> RuntimeContext:
        """The context `to_authorizer` wrote. Raises the refusal the authorizer carried instead
        (`cmp.gateway.errors.Refused`: its 401, 403 or 404, code and message), or Unauthorized (401) when
        the context is missing or malformed (a route reached without the runtime authorizer)."""
        refused = Refused.from_authorizer(context)
        if refused is not None:
            raise refused
        try:
            principal, runtime = context["principal"], context["runtime"]
            if principal not in PRINCIPALS or runtime not in RUNTIMES:
                raise ValueError(principal)
            return cls(
                principal=principal,  # type: ignore[arg-type]
                tenant_id=UUID(context["tenant_id"]),
                subscription_id=UUID(context["subscription_id"]),
                product_id=UUID(context["product_id"]),
                plan_id=context["plan_id"],
                runtime=runtime,  # type: ignore[arg-type]
                key_id=UUID(context["key_id"]) if context.get("key_id") else None,
                scopes=tuple(s for s in context.get("scopes", "").split(",") if s),
                origin=context.get("origin") or None,
                user_id=UUID(context["user_id"]) if context.get("user_id") else None,
                credential_header=context.get("credential_header") or API_KEY_HEADER,
            )
        except (KeyError, ValueError, TypeError) as e:
            raise Unauthorized("call this route with an API key, a widget token or a portal token") from e
