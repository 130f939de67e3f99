"""Domain errors. Each carries its HTTP status so one exception handler maps them (never by message text)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class FieldError:
    """One problem with one input field: `path` in dotted/indexed form (`interfaces.chat.modes[1]`)."""

    path: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, errors: Iterable[FieldError] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.errors = list(errors)
        self.headers: dict[str, str] = {}
        """Response headers the error adds (a 429's `Retry-After`…); none by default."""

    def to_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"error": self.code, "message": self.message}
        if self.errors:
            body["errors"] = [e.to_dict() for e in self.errors]
        return body


class ValidationFailed(DomainError):
    """Input is well-formed but breaks a rule; lists every broken rule, not just the first."""

    status = 422
    code = "validation_failed"


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class PayloadTooLarge(DomainError):
    status = 413
    code = "payload_too_large"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"


class PaymentUnavailable(DomainError):
    """The payment provider could not be reached or answered with a server error: retry later (503)."""

    status = 503
    code = "payment_unavailable"


class PoisonMessage(Exception):
    """Raised by a job for input that retrying cannot fix: it goes to the dead-letter queue at once."""
