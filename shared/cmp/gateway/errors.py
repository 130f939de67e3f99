"""The gateway's refusals, as domain errors carrying the response headers API clients rely on."""

from __future__ import annotations

from collections.abc import Mapping

from cmp.errors import DomainError, FieldError
from cmp.errors import RateLimited as _RateLimited


class RateLimited(_RateLimited):
    """429: a rate limit or the concurrency cap is reached. `headers` carries `Retry-After` (seconds) and,
    for rate limits, `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-10)."""

    def __init__(self, message: str, headers: Mapping[str, str], *, errors: list[FieldError] | None = None):
        super().__init__(message, errors=errors or [])
        self.headers = dict(headers)


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
