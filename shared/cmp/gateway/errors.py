"""The gateway's refusals, as domain errors carrying the response headers API clients rely on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime

from cmp.errors import DomainError, FieldError, Forbidden, Unauthorized
from cmp.errors import RateLimited as _RateLimited


class RateLimited(_RateLimited):
    """429: a rate limit or the concurrency cap is reached. `headers` carries `Retry-After` (seconds) and,
    for rate limits, `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-10)."""

    def __init__(
        self,
        message: str,
        headers: Mapping[str, str],
        *,
        errors: list[FieldError] | None = None,
        checked_at: datetime | None = None,
    ):
        super().__init__(message, errors=errors or [])
        self.headers = dict(headers)
        self.checked_at = checked_at
        """The rate limiter's clock (the database's) when it refused; None when no bucket was read."""


class QuotaExceeded(_RateLimited):
    """429: the plan's quota of `quota` is used up (`used` of `limit`). A per-period quota resets at
    `resets_at` (ISO 8601, the period's end), which `Retry-After` also gives in seconds; the `storage`
    quota (bytes held) never resets by itself (`resets_at` None, no `Retry-After`): deleting frees it."""

    code = "quota_exceeded"

    def __init__(
        self, quota: str, used: int, limit: int, resets_at: str | None, retry_after: int | None
    ) -> None:
        reset = f"resets at {resets_at}" if resets_at else "frees as stored files are deleted"
        super().__init__(
            f"the plan's {quota} quota is used up ({used:,} of {limit:,}); it {reset}",
            errors=[FieldError(f"quota.{quota}", f"used {used} of {limit}; {reset}")],
        )
        self.quota, self.used, self.limit, self.resets_at = quota, used, limit, resets_at
        self.headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}


class RuntimeUnavailable(DomainError):
    """503: the subscription runs on a dedicated runtime that does not answer yet; `state` is its
    provisioning state (`subscriptions.provisioning.state`: pending, running, failed…)."""

    status = 503
    code = "runtime_unavailable"

    def __init__(self, state: str, retry_after: int = 30) -> None:
        super().__init__(
            f"this subscription's dedicated runtime is not ready yet (provisioning: {state})",
            errors=[FieldError("provisioning.state", state)],
        )
        self.state = state
        self.headers = {"Retry-After": str(retry_after)}


class RuntimeDown(DomainError):
    """503: the subscription's dedicated runtime exists but does not answer (its endpoint is marked down,
    or the call to it failed); `Retry-After` says when to try again. The call is never sent elsewhere."""

    status = 503
    code = "runtime_down"

    def __init__(self, reason: str, retry_after: int = 5) -> None:
        super().__init__(
            f"this subscription's dedicated runtime is not answering ({reason}); retry later",
            errors=[FieldError("runtime", reason)],
        )
        self.headers = {"Retry-After": str(retry_after)}


API_KEY_HEADER = "X-Api-Key"
"""The header a runtime credential is named by in refusals when the caller sent none (and when it came in
this header); a credential sent as `Authorization: Bearer` is named `Authorization` (`cmp.web.authorizer`)."""


class CredentialMissing(Unauthorized):
    """401: a runtime route called without a credential. The message holds on every runtime route: an API
    key or the buyer's portal token may call any of them (within the key's scopes), a widget token (scope
    `invoke` only, public) just the widget's own routes."""

    code = "credential_missing"

    def __init__(self) -> None:
        super().__init__(
            "send an API key (X-Api-Key or Authorization: Bearer) or your portal token (Authorization: "
            "Bearer); a widget token calls only the widget's own routes",
            errors=[FieldError(API_KEY_HEADER, "missing")],
        )


class ApiKeyOnPortalRoute(Unauthorized):
    """401: an API key sent to a portal route (the portal authorizer's, `functions/authorizer`), which takes
    only a signed-in user's access token; the key calls the runtime routes."""

    def __init__(self) -> None:
        super().__init__(
            "an API key calls the runtime routes (/v1/agents/…, /v1/mcp/…, and a subscription's knowledge,"
            " usage, dashboard and workflows: docs/integrate.md lists them); this route needs a portal access"
            " token: sign in (POST /v1/auth/login) and send Authorization: Bearer <access token>",
            errors=[FieldError("Authorization", "is an API key, not a portal access token")],
        )


class CredentialUnknown(Unauthorized):
    """401: no API key or widget token has this value (never issued, mistyped, or cut short). `header` is
    where the caller sent it (`X-Api-Key`, `Authorization`, or `query.<name>` on the chat WebSocket)."""

    code = "credential_unknown"

    def __init__(self, header: str = API_KEY_HEADER) -> None:
        super().__init__(
            "unknown API key or widget token: check it was copied whole (a key is shown once, at creation)",
            errors=[FieldError(header, "unknown")],
        )


def _kind(credential_kind: str) -> str:
    return "API key" if credential_kind == "api_key" else "widget token"


class CredentialRevoked(Unauthorized):
    """401: the credential (`credential_kind` `api_key` or `widget_token`) was revoked at `revoked_at`;
    `header` is where the caller sent it (as `CredentialUnknown`)."""

    code = "credential_revoked"

    def __init__(self, credential_kind: str, revoked_at: datetime, header: str = API_KEY_HEADER) -> None:
        when = revoked_at.isoformat(timespec="seconds")
        super().__init__(
            f"this {_kind(credential_kind)} was revoked at {when}; create a new one",
            errors=[FieldError(header, f"revoked at {when}")],
        )


class CredentialExpired(Unauthorized):
    """401: the API key expired at `expires_at` (its `expires_at` as created); `header` is where the caller
    sent it (as `CredentialUnknown`)."""

    code = "credential_expired"

    def __init__(self, expires_at: datetime, header: str = API_KEY_HEADER) -> None:
        when = expires_at.isoformat(timespec="seconds")
        super().__init__(
            f"this API key expired at {when}; create a new one",
            errors=[FieldError(header, f"expired at {when}")],
        )


class SubscriptionNotCallable(Forbidden):
    """403: the subscription's `status` (suspended, cancelled, expired) does not let its product be called."""

    code = "subscription_not_callable"

    def __init__(self, status: str) -> None:
        super().__init__(
            f"the subscription is {status}; its product cannot be called with any credential",
            errors=[FieldError("subscription.status", status)],
        )


class OriginRefused(Forbidden):
    """403: a widget token sent without an `Origin` header, or from an origin it does not list (the
    allowed origins are never named: a widget token is public, its list is the buyer's business)."""

    code = "origin_not_allowed"

    def __init__(self, origin: str | None) -> None:
        if origin is None:
            message = "a widget token needs the Origin header: call from a page of a site the token lists"
            reason = "missing"
        else:
            message = f"this widget token is not valid from the Origin {origin}; add the site to the token"
            reason = "not allowed"
        super().__init__(message, errors=[FieldError("Origin", reason)])


REFUSAL_STATUSES = frozenset({401, 403, 404})


class Refused(DomainError):
    """A refusal the runtime authorizer decided (any of the above, or an invalid portal token's 401, another
    organization's subscription's 404), raised again by the route's `cmp.web.deps.runtime_context` with the
    same status, code, message and errors: API Gateway can only pass strings from an authorizer, so the
    authorizer lets the call through carrying the refusal (`to_authorizer`) and the route refuses it."""

    def __init__(self, status: int, code: str, message: str, errors: list[FieldError]) -> None:
        super().__init__(message, errors=errors)
        self.status = status if status in REFUSAL_STATUSES else 401
        self.code = code

    @staticmethod
    def to_authorizer(error: DomainError) -> dict[str, str]:
        """`error` as the authorizer context's `refusal*` strings."""
        return {
            "refusal": error.code,
            "refusal_status": str(error.status),
            "refusal_message": error.message,
            "refusal_errors": json.dumps([e.to_dict() for e in error.errors]),
        }

    @classmethod
    def from_authorizer(cls, context: Mapping[str, str]) -> Refused | None:
        """The refusal `to_authorizer` wrote into `context`, or None when it carries none. A malformed one
        is still a refusal (401)."""
        code = context.get("refusal")
        if not code:
            return None
        try:
            status = int(context.get("refusal_status", "401"))
            errors = [
                FieldError(str(e["path"]), str(e["message"])) for e in json.loads(context["refusal_errors"])
            ]
        except (KeyError, ValueError, TypeError):
            status, errors = 401, []
        return cls(
            status, str(code), str(context.get("refusal_message") or "this credential is refused"), errors
        )
