"""An in-memory onboarding repository behaving like `cmp.provisioning.repository` for unit tests."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID, uuid5

from cmp.provisioning.model import Onboarding, StepOutcome


class InMemoryOnboardings:
    def __init__(self) -> None:
        self.onboardings: dict[UUID, Onboarding] = {}
        self.projects: dict[tuple[UUID, str], UUID] = {}
        self.steps: dict[tuple[UUID, str], StepOutcome] = {}
        self.saves = 0

    def add_tenant(self, tenant_id: UUID) -> None:
        self.onboardings[tenant_id] = Onboarding(tenant_id, "pending", None)

    def get(self, tenant_id: UUID) -> Onboarding | None:
        stored = self.onboardings.get(tenant_id)
        return replace(stored, outcomes=[]) if stored else None

    def ensure_project(self, tenant_id: UUID, name: str) -> UUID:
        return self.projects.setdefault((tenant_id, name), uuid5(tenant_id, name))

    def save(self, onboarding: Onboarding) -> None:
        self.saves += 1
        self.onboardings[onboarding.tenant_id] = replace(onboarding, outcomes=[])
        for outcome in onboarding.outcomes:
            self.steps[(onboarding.tenant_id, outcome.step)] = outcome
