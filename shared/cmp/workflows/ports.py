"""What the workflow services need from outside: the unit of work with their repositories, and Step Functions."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol
from uuid import UUID

from cmp.commerce.ports import SubscriptionRepository
from cmp.db.outbox import Outbox
from cmp.metering.repository import UsageRepository
from cmp.workflows.repository import RunRepository, WorkflowRepository
from cmp.workflows.secret_repository import SecretRepository


class WorkflowUnitOfWork(Protocol):
    subscriptions: SubscriptionRepository
    workflows: WorkflowRepository
    workflow_runs: RunRepository
    workflow_secrets: SecretRepository
    outbox: Outbox
    usage: UsageRepository

    def set_tenant(self, tenant_id: UUID | str) -> None:
        """Scope the rest of the transaction to `tenant_id` (a webhook's, found by its id)."""

    def commit(self) -> None: ...


class WorkflowUnitOfWorkFactory(Protocol):
    def __call__(self, tenant_id: UUID | str | None = None) -> AbstractContextManager[WorkflowUnitOfWork]: ...


class WorkflowEngine(Protocol):
    """Step Functions as the workflows use it (`cmp.aws.adapters.StateMachines`)."""

    def create(self, name: str, definition: dict[str, Any], role_arn: str) -> str:
        """Create (idempotently, by name) a Standard state machine; returns its ARN. Raises
        `InvalidDefinition` when the ASL is rejected."""
        ...

    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        """Start (or find) the execution called `name`; returns its ARN."""
        ...

    def stop(self, execution_arn: str, cause: str) -> None:
        """Stop a running execution (a finished one is left as it is)."""
        ...

    def task_succeeded(self, token: str, output: dict[str, Any]) -> None: ...

    def task_failed(self, token: str, error: str, cause: str) -> None: ...
