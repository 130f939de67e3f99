"""What the tenancy services need: the repositories of a tenancy unit of work, and the profile view."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import Protocol
from uuid import UUID

from cmp.db.outbox import OutboxMessage
from cmp.tenancy.model import Account, AuthSession, Membership, Tenant, User


class AccountRepository(Protocol):
    """Organizations, users and memberships; the sign-in lookups work before any tenant is known."""

    def add_tenant(self, tenant: Tenant) -> None:
        """Store a new organization (the unit of work must be scoped to it)."""
        ...

    def add_user(self, user: User) -> None:
        """Store a new user; raises `Conflict` (field `email`) when the e-mail is already registered."""
        ...

    def add_membership(self, membership: Membership) -> None:
        """Give a user a role in the unit of work's organization."""
        ...

    def account_by_email(self, email: str) -> Account | None:
        """The user with this (normalised) e-mail and all their memberships, across tenants; None if unknown."""
        ...

    def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        """Replace a user's password hash (rehash on sign-in)."""
        ...


class SessionRepository(Protocol):
    """Portal sessions of the unit of work's tenant, plus the cross-tenant purge."""

    def add(self, session: AuthSession) -> None:
        """Store a newly issued session."""
        ...

    def get(self, session_id: UUID) -> AuthSession | None:
        """The session, when it exists in the unit of work's tenant."""
        ...

    def save(self, session: AuthSession) -> None:
        """Store a session's changed state (revocation)."""
        ...

    def purge_ended_before(self, cutoff: datetime) -> int:
        """Delete every tenant's sessions that expired or were revoked before `cutoff`; returns how many."""
        ...


class Outbox(Protocol):
    def add(self, message: OutboxMessage) -> None:
        """Write a message in the unit of work's transaction; delivered after commit."""
        ...


class TenancyUnitOfWork(Protocol):
    """The unit of work as tenancy services use it (`cmp.db.UnitOfWork`, or a fake in unit tests)."""

    @property
    def accounts(self) -> AccountRepository: ...

    @property
    def auth_sessions(self) -> SessionRepository: ...

    @property
    def outbox(self) -> Outbox: ...

    def set_user(self, user_id: UUID | str) -> None:
        """Name the signed-in user for row-level security policies that need it."""
        ...

    def commit(self) -> None:
        """Commit, then deliver the outbox messages written in this unit of work."""
        ...


class TenancyUnitOfWorkFactory(Protocol):
    """Opens a tenancy unit of work scoped to a tenant (None: no tenant-owned rows are visible)."""

    def __call__(self, tenant_id: UUID | str | None = None) -> AbstractContextManager[TenancyUnitOfWork]: ...
