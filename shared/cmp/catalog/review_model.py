"""Review runs: the automated checks of a submitted product and the admin's decision. No I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from cmp.errors import Conflict, FieldError, ValidationFailed

RunStatus = Literal["queued", "checks_passed", "checks_failed", "approved", "rejected", "superseded"]


@dataclass(frozen=True)
class Check:
    """One automated review check: its name, whether it passed, and what is wrong when not."""

    name: str
    passed: bool
    details: tuple[str, ...] = ()

    @classmethod
    def of(cls, name: str, details: list[str]) -> Check:
        """A check that passed when `details` is empty."""
        return cls(name, not details, tuple(details))

    def to_dict(self) -> dict[str, Any]:
        """`{"name", "passed", "details"}` as stored in the run's `checks` column."""
        return {"name": self.name, "passed": self.passed, "details": list(self.details)}


@dataclass
class ReviewRun:
    """One submission's review: queued → checks_passed/checks_failed → approved/rejected, or superseded by
    a resubmission. `checks` are plain dicts (`Check.to_dict()`), as stored and shown."""

    id: uuid.UUID
    tenant_id: uuid.UUID
    product_id: uuid.UUID
    created_at: datetime
    updated_at: datetime
    status: RunStatus = "queued"
    checks: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    decided_by: uuid.UUID | None = None

    @property
    def open(self) -> bool:
        """Still waiting for checks or a decision (a resubmission supersedes it)."""
        return self.status in ("queued", "checks_passed")

    def record_checks(self, checks: list[Check], now: datetime) -> bool:
        """Store the outcome of the automated checks; True when all passed."""
        passed = all(c.passed for c in checks)
        self.status = "checks_passed" if passed else "checks_failed"
        self.checks = [c.to_dict() for c in checks]
        self.reasons = [f"{c.name}: {d}" for c in checks if not c.passed for d in c.details]
        self.updated_at = now
        return passed

    def ensure_approvable(self) -> None:
        """Raises `Conflict` unless the automated checks passed."""
        if self.status != "checks_passed":
            raise Conflict(f"automated checks are {self.status.replace('_', ' ')}; approve after they pass")

    def decide(self, status: Literal["approved", "rejected"], admin: uuid.UUID, now: datetime) -> None:
        """Record the admin's decision."""
        self.status = status
        self.decided_by = admin
        self.updated_at = now


def clean_reasons(reasons: list[Any]) -> list[str]:
    """The non-blank reasons, stripped; raises `ValidationFailed` when none is left."""
    cleaned = [r.strip() for r in reasons if isinstance(r, str) and r.strip()]
    if not cleaned:
        raise ValidationFailed("say why", errors=[FieldError("reasons", "give at least one reason")])
    return cleaned
