"""Every onboarding step against an in-memory repository and fake state machine: what it stores, what it
answers, what happens when it is delivered twice, for an unknown tenant, or after its execution moved on."""

from __future__ import annotations

from uuid import UUID

import pytest

from cmp.errors import PoisonMessage
from cmp.provisioning.model import Onboarding, StepMessage
from cmp.provisioning.services import OnboardingService
from tests.fakes import FakeStateMachines, FakeUnitOfWorkFactory

from .memory import InMemoryOnboardings

TENANT = UUID("6f1c2a4e-0000-4000-8000-000000000001")


@pytest.fixture
def repo() -> InMemoryOnboardings:
    repository = InMemoryOnboardings()
    repository.add_tenant(TENANT)
    return repository


@pytest.fixture
def machines() -> FakeStateMachines:
    return FakeStateMachines()


@pytest.fixture
def service(repo: InMemoryOnboardings, machines: FakeStateMachines) -> OnboardingService:
    return OnboardingService(FakeUnitOfWorkFactory(onboardings=repo), machines)


def step(name: str, token: str = "token-1", tenant: UUID = TENANT, **extra: object) -> StepMessage:
    return StepMessage.model_validate({"step": name, "tenant_id": str(tenant), "task_token": token, **extra})


def test_provision_workspace_creates_the_default_project_and_starts_running(
    service: OnboardingService, repo: InMemoryOnboardings, machines: FakeStateMachines
) -> None:
    output = service.run_step(step("provision_workspace"))
    project_id = repo.projects[(TENANT, "Default")]
    assert output == {"step": "provision_workspace", "default_project_id": str(project_id)}
    assert repo.onboardings[TENANT].state == "running"
    assert repo.steps[(TENANT, "provision_workspace")].status == "succeeded"
    assert machines.succeeded == [("token-1", output)]


def test_assign_runtime_tier_defaults_to_shared_and_keeps_an_assigned_tier(
    service: OnboardingService, repo: InMemoryOnboardings, machines: FakeStateMachines
) -> None:
    assert service.run_step(step("assign_runtime_tier")) == {
        "step": "assign_runtime_tier",
        "runtime_tier": "shared",
    }
    repo.onboardings[TENANT].runtime_tier = "dedicated"
    assert service.run_step(step("assign_runtime_tier", "token-2"))["runtime_tier"] == "dedicated"
    assert repo.steps[(TENANT, "assign_runtime_tier")].detail == {"runtime_tier": "dedicated"}


def test_complete_marks_the_onboarding_completed(
    service: OnboardingService, repo: InMemoryOnboardings, machines: FakeStateMachines
) -> None:
    assert service.run_step(step("complete")) == {"step": "complete", "state": "completed"}
    assert repo.onboardings[TENANT].state == "completed"
    assert machines.succeeded[0][1] == {"step": "complete", "state": "completed"}


def test_mark_failed_records_the_error_and_its_cause_capped(
    service: OnboardingService, repo: InMemoryOnboardings
) -> None:
    output = service.run_step(step("mark_failed", error={"Error": "States.Timeout", "Cause": "x" * 900}))
    assert output == {"step": "mark_failed", "error": "States.Timeout", "cause": "x" * 500}
    assert repo.onboardings[TENANT].state == "failed"
    assert repo.steps[(TENANT, "mark_failed")].status == "failed"
    assert service.run_step(step("mark_failed", "token-2"))["error"] == "unknown"


def test_a_step_delivered_twice_changes_nothing_more_and_its_stale_token_is_poison(
    service: OnboardingService, repo: InMemoryOnboardings, machines: FakeStateMachines
) -> None:
    first = service.run_step(step("provision_workspace"))
    machines.gone_tokens.add("token-1")  # the execution moved on after the first answer
    with pytest.raises(PoisonMessage, match="no longer waits"):
        service.run_step(step("provision_workspace"))
    assert len(repo.projects) == 1
    assert repo.onboardings[TENANT].state == "running"
    assert repo.steps[(TENANT, "provision_workspace")].detail == {
        k: v for k, v in first.items() if k != "step"
    }
    assert machines.succeeded == [("token-1", first)]


def test_a_late_provisioning_does_not_reopen_a_finished_onboarding(
    service: OnboardingService, repo: InMemoryOnboardings
) -> None:
    service.run_step(step("complete"))
    service.run_step(step("provision_workspace", "token-2"))
    assert repo.onboardings[TENANT].state == "completed"


def test_an_unknown_tenant_fails_the_task_not_the_message(
    service: OnboardingService, repo: InMemoryOnboardings, machines: FakeStateMachines
) -> None:
    unknown = UUID("00000000-0000-4000-8000-000000000000")
    output = service.run_step(step("provision_workspace", tenant=unknown))
    assert output["status"] == "failed"
    assert machines.failed == [("token-1", "TenantNotFound", f"tenant {unknown} does not exist")]
    assert repo.saves == 0


def test_a_gone_token_for_an_unknown_tenant_is_poison_too(
    service: OnboardingService, machines: FakeStateMachines
) -> None:
    machines.gone_tokens.add("token-9")
    with pytest.raises(PoisonMessage):
        service.run_step(step("complete", "token-9", tenant=UUID("00000000-0000-4000-8000-000000000000")))


def test_the_model_moves_pending_to_running_only_once() -> None:
    onboarding = Onboarding(TENANT, "failed", None)
    onboarding.workspace_provisioned(UUID(int=1))
    assert onboarding.state == "failed"
    assert [o.step for o in onboarding.outcomes] == ["provision_workspace"]
