"""What routes receive by injection (Powertools `Depends`): the services, the caller and the caller's role.

How the services arrive: each API handler module builds `bootstrap()` once, at import, and passes it to
`make_resolver(logger, services)`, which binds it as the resolver's override of `get_services` (the
dependency every route declares). Tests bind fakes the same way: `app.dependency_overrides[get_services]`.
Nothing else fetches services or reads the authorizer context by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from aws_lambda_powertools.event_handler import Depends
from aws_lambda_powertools.event_handler.request import Request
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

if TYPE_CHECKING:
    from cmp.bootstrap import Services

from cmp.errors import Forbidden, Unauthorized
from cmp.gateway.context import RuntimeContext
from cmp.gateway.errors import Refused


def get_services() -> Services:
    """The function's services; `make_resolver(logger, services)` replaces this dependency.

    Raises RuntimeError when a route needing services runs in a resolver built without them.
    """
    raise RuntimeError("this resolver was built without services; pass them to make_resolver")


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer established it. Read once per request, passed explicitly."""

    tenant_id: str
    user_id: str
    roles: tuple[str, ...]
    session_id: str

    def require(self, role: str) -> None:
        """Raises Forbidden (403) unless the caller holds `role` in the signed-in organization."""
        if role not in self.roles:
            raise Forbidden(f"this action needs the '{role}' role")


def current_caller(request: Request) -> Caller:
    """The caller from the authorizer context. Raises the refusal the portal authorizer carried
    (`cmp.gateway.errors.Refused`: an API key's 401), and Unauthorized (401) when there is no caller."""
    event = request.resolved_event
    assert isinstance(event, APIGatewayProxyEvent)
    context = event.request_context.authorizer.get_context() or {}
    refused = Refused.from_authorizer({k: str(v) for k, v in context.items() if v is not None})
    if refused is not None:
        raise refused
    tenant_id, user_id = context.get("tenant_id"), context.get("user_id")
    if not tenant_id or not user_id:
        raise Unauthorized("sign in first")
    roles = tuple(r for r in str(context.get("roles", "")).split(",") if r)
    return Caller(str(tenant_id), str(user_id), roles, str(context.get("session_id", "")))


def require_seller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """The caller, who must hold the seller role (401 signed out, 403 otherwise)."""
    caller.require("seller")
    return caller


def require_buyer(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """The caller, who must hold the buyer role (401 signed out, 403 otherwise)."""
    caller.require("buyer")
    return caller


def require_admin(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """The caller, who must hold the platform admin role (401 signed out, 403 otherwise)."""
    caller.require("admin")
    return caller


def runtime_context(request: Request) -> RuntimeContext:
    """The caller of a runtime route, from the runtime authorizer's context. Raises the refusal the
    authorizer carried (`cmp.gateway.errors.Refused`: 401 unknown, revoked or expired credential, 403 wrong
    Origin or subscription not callable, 404 another organization's subscription) before the route body
    runs, and Unauthorized (401) when there is no context. The route then checks the path's subscription with `ctx.require_subscription(subscription_id)`
    (404 for any other) and its scope with `ctx.require_scope(...)` (403)."""
    event = request.resolved_event
    assert isinstance(event, APIGatewayProxyEvent)
    context = event.request_context.authorizer.get_context() or {}
    return RuntimeContext.from_authorizer({k: str(v) for k, v in context.items() if v is not None})


if TYPE_CHECKING:
    ServicesDep = Annotated[Services, Depends(get_services)]
else:
    # At run time the annotation stays light: importing cmp.bootstrap costs a function that needs no
    # services (the capabilities API) half a second of cold start. Powertools only reads the Depends.
    ServicesDep = Annotated[object, Depends(get_services)]
SignedIn = Annotated[Caller, Depends(current_caller)]
Seller = Annotated[Caller, Depends(require_seller)]
Buyer = Annotated[Caller, Depends(require_buyer)]
Admin = Annotated[Caller, Depends(require_admin)]
Runtime = Annotated[RuntimeContext, Depends(runtime_context)]
