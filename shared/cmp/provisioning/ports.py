"""What the onboarding service needs: its repository inside a unit of work, and the state machine."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Protocol
from uuid import UUID

from cmp.provisioning.model import Onboarding


class OnboardingRepository(Protocol):
    """A tenant's onboarding (the onboarding columns of `tenants`, `onboarding_steps`) and its projects."""

    def get(self, tenant_id: UUID) -> Onboarding | None:
        """The tenant's onboarding, or None when the tenant does not exist."""
        ...

    def ensure_project(self, tenant_id: UUID, name: str) -> UUID:
        """The id of the tenant's project called `name`, created when missing (idempotent)."""
        ...

    def save(self, onboarding: Onboarding) -> None:
        """Store the state, the runtime tier and every outcome recorded (an outcome replaces the step's last)."""
        ...


class ProvisioningUnitOfWork(Protocol):
    """The unit of work as the onboarding service uses it."""

    @property
    def onboardings(self) -> OnboardingRepository: ...

    def commit(self) -> None:
        """Commit (and deliver any outbox messages)."""
        ...


class ProvisioningUnitOfWorkFactory(Protocol):
    def __call__(
        self, tenant_id: UUID | str | None = None
    ) -> AbstractContextManager[ProvisioningUnitOfWork]: ...
