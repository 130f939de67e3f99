"""Authorizing a runtime call: which credential it carries and what it may act for.

Three credentials are accepted (spec Part 4, "API Gateway"):
- an API key (`ar_sk_live_…` / `ar_sk_test_…`), found by its SHA-256 through `gateway_credential`;
- a widget token (`ar_wt_…`), found the same way, valid only from the browser origins it lists (the
  request's `Origin` header, normalised as `cmp.tenancy.credentials.normalise_origin` does);
- a portal JWT of a buyer of the organization owning the subscription named in the path; it has every scope.
  A workflow route names a workflow or a run instead (`OWNED_PARAMETERS`): the portal JWT then acts for the
  subscription owning that row in the caller's own organization (`authorize(..., owned=...)`).

A call needs its subscription callable (`CALLABLE_STATUSES`), except on a read-only route of the
subscription's history (`READ_ONLY_ROUTES`: its usage and dashboard): reading what happened is not a runtime
call, so a suspended, cancelled or expired subscription's owner (its buyer's portal token, or a key with
`analytics:read`) may still read it, and the same credential stays refused on every other route.

Results are kept per warm container for `cache_seconds` (default 10 s), keyed by the credential's hash, so a
burst of calls costs one database read. A key revoked meanwhile is still let through by this cache for at
most `cache_seconds`, but `Gateway.admit` reads the key's revocation in its own transaction on every call,
so no admitted call runs on a revoked key (docs/gateway.md, "Revocation"). Reading an API key or widget
token afresh (not from this cache) also records its `last_used_at`, at most once a minute per credential
(docs/integrate.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any
from uuid import UUID

from cmp.errors import Forbidden, NotFound, Unauthorized
from cmp.gateway.context import RuntimeContext
from cmp.gateway.errors import (
    API_KEY_HEADER,
    CredentialExpired,
    CredentialRevoked,
    CredentialUnknown,
    OriginRefused,
    SubscriptionNotCallable,
)
from cmp.ports import Clock
from cmp.tenancy.credentials import KEY_PREFIXES, SCOPES, WIDGET_TOKEN_PREFIX, normalise_origin, secret_hash

CALLABLE_STATUSES = frozenset({"provisioning", "active", "past_due"})
"""Subscription statuses whose credentials may call the product (suspended, cancelled and expired ones
may not)."""
READ_ONLY_ROUTES = frozenset(
    {
        ("GET", "/v1/subscriptions/{subscription_id}/usage"),
        ("GET", "/v1/subscriptions/{subscription_id}/dashboard"),
    }
)
"""(method, API Gateway resource) of the runtime routes that only read a subscription's history: they
accept a subscription in any status (`authorize(..., read_only=True)`)."""
ANALYTICS_READ, WORKFLOWS_MANAGE, WORKFLOWS_RUN = "analytics:read", "workflows:manage", "workflows:run"
"""The scopes of the analytics reads (usage, dashboard) and of the workflow routes (a portal token has every
scope)."""
ROUTE_SCOPES: dict[tuple[str, str], str] = {
    ("GET", "/v1/subscriptions/{subscription_id}/usage"): ANALYTICS_READ,
    ("GET", "/v1/subscriptions/{subscription_id}/dashboard"): ANALYTICS_READ,
    ("POST", "/v1/subscriptions/{subscription_id}/workflows"): WORKFLOWS_MANAGE,
    ("GET", "/v1/subscriptions/{subscription_id}/secrets"): WORKFLOWS_MANAGE,
    ("PUT", "/v1/subscriptions/{subscription_id}/secrets/{name}"): WORKFLOWS_MANAGE,
    ("DELETE", "/v1/subscriptions/{subscription_id}/secrets/{name}"): WORKFLOWS_MANAGE,
    ("GET", "/v1/workflows/{workflow_id}"): WORKFLOWS_MANAGE,
    ("PUT", "/v1/workflows/{workflow_id}"): WORKFLOWS_MANAGE,
    ("POST", "/v1/workflows/{workflow_id}/activate"): WORKFLOWS_MANAGE,
    ("POST", "/v1/workflows/{workflow_id}/pause"): WORKFLOWS_MANAGE,
    ("POST", "/v1/workflows/{workflow_id}/resume"): WORKFLOWS_MANAGE,
    ("POST", "/v1/workflows/{workflow_id}/runs"): WORKFLOWS_RUN,
    ("GET", "/v1/workflows/{workflow_id}/runs"): WORKFLOWS_RUN,
    ("GET", "/v1/workflows/{workflow_id}/runs/export"): WORKFLOWS_RUN,
    ("GET", "/v1/runs/{run_id}"): WORKFLOWS_RUN,
    ("POST", "/v1/runs/{run_id}/cancel"): WORKFLOWS_RUN,
    ("POST", "/v1/runs/{run_id}/rerun"): WORKFLOWS_RUN,
}
"""(method, API Gateway resource) of the runtime routes that need one fixed scope -> that scope (the route
checks it too). The authorizer refuses a widget token lacking it before looking at its Origin: no Origin
makes such a call work, so the scope is the refusal to name (`authorize(..., scope=...)`)."""
OWNED_PARAMETERS: dict[str, str] = {"workflow_id": "workflow", "run_id": "run"}
"""Path parameters of runtime routes that name a row of a subscription rather than the subscription (the
workflow routes, issue 11) -> the row's name in refusals."""
DEFAULT_CACHE_SECONDS = 10.0
MAX_CACHE_ENTRIES = 10_000


@dataclass(frozen=True)
class _Grant:
    context: RuntimeContext
    allowed_origins: tuple[str, ...] | None
    expires_at: datetime | None
    status: str


def owned_in_path(path_parameters: dict[str, str]) -> tuple[str, str] | None:
    """The (parameter, value) of the first `OWNED_PARAMETERS` entry the path names, or None."""
    for parameter in OWNED_PARAMETERS:
        if path_parameters.get(parameter):
            return parameter, path_parameters[parameter]
    return None


def is_read_only(method: str | None, resource: str | None) -> bool:
    """Whether the route (`httpMethod`, `resource` of API Gateway's authorizer event) is in
    `READ_ONLY_ROUTES`."""
    return ((method or "").upper(), resource or "") in READ_ONLY_ROUTES


def route_scope(method: str | None, resource: str | None) -> str | None:
    """The scope `ROUTE_SCOPES` names for the route (`httpMethod`, `resource` of API Gateway's authorizer
    event), or None when the route needs none fixed (its own checks decide)."""
    return ROUTE_SCOPES.get(((method or "").upper(), resource or ""))


def is_credential(token: str) -> bool:
    """Whether `token` looks like an API key or a widget token (rather than a portal JWT)."""
    return token.startswith((*KEY_PREFIXES.values(), WIDGET_TOKEN_PREFIX))


class RuntimeAuthorizer:
    """Turns a credential into a `RuntimeContext`, or refuses naming the reason (docs/gateway.md,
    "Refusals"): 401 `CredentialUnknown`, `CredentialRevoked`, `CredentialExpired`, or Unauthorized for an
    invalid portal token; 403 `OriginRefused` for a widget token without an Origin or from one it does not
    list (Forbidden naming the scope first when the route needs one the token lacks),
    `SubscriptionNotCallable` (suspended, cancelled, expired), Forbidden for a portal user who is not a
    buyer; NotFound (404) for a portal token and a subscription of another organization (as for a key)."""

    def __init__(
        self,
        uow: Callable[..., Any],
        authenticate_portal: Callable[[str], Any],
        clock: Clock,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._uow = uow
        self._authenticate_portal = authenticate_portal
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, _Grant]] = {}

    def authorize(
        self,
        token: str,
        origin: str | None,
        subscription_id: str | None,
        owned: tuple[str, str] | None = None,
        read_only: bool = False,
        header: str = API_KEY_HEADER,
        scope: str | None = None,
    ) -> RuntimeContext:
        """The context of a call carrying `token` (the API key, widget token or portal JWT), made from
        `origin` (the request's Origin header, or None) to the subscription named in the path (None when
        the route names none). `owned` is the path's (parameter, value) of a row of a subscription
        (`owned_in_path`): a portal JWT acts for the subscription owning it. With neither, a portal JWT has
        nothing to act for and is refused. A credential of another subscription than the path's is a 404.
        A subscription outside `CALLABLE_STATUSES` is refused (`SubscriptionNotCallable`, 403) unless
        `read_only` (the route is in `READ_ONLY_ROUTES`, `is_read_only`). `header` is where an API key or
        widget token came from (`X-Api-Key`, `Authorization`, `query.api_key`…): refusals of the credential
        name it in `errors[].path`, and the context keeps it (`RuntimeContext.credential_header`). `scope`
        is the one the route needs (`route_scope`): a widget token lacking it is refused naming the scope
        (Forbidden, 403) whatever its Origin, which is checked only on routes the token may call."""
        fresh = False  # a credential read from the database: its last use is written once the call passes
        if is_credential(token):
            cache_key = secret_hash(token)
            cached = self._cached(cache_key)
            grant = cached or self._remember(cache_key, self._credential_grant(cache_key, header))
            fresh = cached is None
            if subscription_id is not None and subscription_id.lower() != str(grant.context.subscription_id):
                raise NotFound("subscription not found")  # another subscription's path: as if none existed
        elif subscription_id is None and owned is not None:
            cache_key = secret_hash(f"{token}\n{owned[0]}={owned[1]}")
            grant = self._cached(cache_key) or self._remember(cache_key, self._owned_grant(token, *owned))
        else:
            if subscription_id is None:
                raise Unauthorized("use an API key here: this route names no subscription")
            cache_key = secret_hash(f"{token}\n{subscription_id}")
            grant = self._cached(cache_key) or self._remember(
                cache_key, self._portal_grant(token, subscription_id)
            )
        if grant.expires_at is not None and grant.expires_at <= self._clock.now():
            raise CredentialExpired(grant.expires_at, header)
        if not read_only and grant.status not in CALLABLE_STATUSES:
            raise SubscriptionNotCallable(grant.status)
        context = grant.context
        if is_credential(token):  # the cached grant may have come in another header
            context = replace(context, credential_header=header)
        if grant.allowed_origins is not None:
            if scope is not None:
                context.require_scope(scope)  # no Origin would make the call work: name the scope
            if not origin:
                raise OriginRefused(None)
            checked, _ = normalise_origin(origin)
            if checked is None or checked not in grant.allowed_origins:
                raise OriginRefused(checked or origin)
            context = replace(context, origin=checked)
        if fresh:  # never for a refused call: a refusal changes nothing
            with self._uow(context.tenant_id) as uow:
                uow.credential_lookup.touch(context.principal, context.key_id)
                uow.commit()
        return context

    def forget(self) -> None:
        """Drop every cached result (tests; a container has no other reason to)."""
        self._cache.clear()

    # ------------------------------------------------------------------------------------------ internals
    def _cached(self, cache_key: str) -> _Grant | None:
        entry = self._cache.get(cache_key)
        if entry is None:
            return None
        if entry[0] <= self._monotonic():
            del self._cache[cache_key]
            return None
        return entry[1]

    def _remember(self, cache_key: str, grant: _Grant) -> _Grant:
        """Keep `grant` for `cache_seconds`, unless its subscription is not callable (a grant kept for a
        read-only route would otherwise delay a resumed subscription's next call by up to `cache_seconds`)."""
        if self._cache_seconds > 0 and grant.status in CALLABLE_STATUSES:
            if len(self._cache) >= MAX_CACHE_ENTRIES:
                self._cache.clear()
            self._cache[cache_key] = (self._monotonic() + self._cache_seconds, grant)
        return grant

    def _credential_grant(self, hashed: str, header: str) -> _Grant:
        """The grant of the API key or widget token whose hash is `hashed`, sent in `header`; raises
        CredentialUnknown, CredentialRevoked or CredentialExpired (401) naming `header`."""
        with self._uow() as uow:
            found = uow.credential_lookup.by_hash(hashed)
        if found is None:
            raise CredentialUnknown(header)
        if found.revoked_at is not None:
            raise CredentialRevoked(found.kind, found.revoked_at, header)
        if found.expires_at is not None and found.expires_at <= self._clock.now():
            raise CredentialExpired(found.expires_at, header)
        is_key = found.kind == "api_key"
        context = RuntimeContext(
            principal="api_key" if is_key else "widget_token",
            tenant_id=found.tenant_id,
            subscription_id=found.subscription_id,
            product_id=found.product_id,
            plan_id=found.plan_id,
            runtime="dedicated" if found.runtime_type == "dedicated" else "shared",
            key_id=found.credential_id,
            scopes=tuple(found.scopes),
        )
        origins = None if is_key else tuple(found.allowed_origins or ())
        return _Grant(context, origins, found.expires_at, found.subscription_status)

    def _owned_grant(self, token: str, parameter: str, value: str) -> _Grant:
        """The portal grant for the subscription owning the workflow or run `value` in the caller's own
        organization; NotFound when it is not one of the organization's (or not an id)."""
        claims = self._authenticate_portal(token)
        noun = OWNED_PARAMETERS[parameter]
        try:
            wanted = UUID(value)
        except ValueError as e:
            raise NotFound(f"{noun} not found") from e
        with self._uow(claims.tenant_id) as uow:
            try:
                row = uow.workflows.get(wanted) if noun == "workflow" else uow.workflow_runs.get(wanted)
            except NotFound as e:
                raise NotFound(f"{noun} not found") from e
        return self._portal_grant(token, str(row.subscription_id))

    def _portal_grant(self, token: str, subscription_id: str) -> _Grant:
        claims = self._authenticate_portal(token)
        try:
            wanted = UUID(subscription_id)
        except ValueError as e:
            raise NotFound("subscription not found") from e
        with self._uow(claims.tenant_id) as uow:
            subscription = uow.subscriptions.get(wanted)  # NotFound for another organization's
        if "buyer" not in claims.roles:
            raise Forbidden("only a buyer of this subscription may call it with a portal token")
        context = RuntimeContext(
            principal="portal",
            tenant_id=subscription.tenant_id,
            subscription_id=subscription.id,
            product_id=subscription.product_id,
            plan_id=subscription.plan_id,
            runtime=subscription.runtime_type,
            key_id=None,
            scopes=SCOPES,
            user_id=UUID(claims.user_id),
        )
        return _Grant(context, None, None, subscription.status)
