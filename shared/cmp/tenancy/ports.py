"""What the tenancy services need: the repositories of a tenancy unit of work (accounts and sessions; API keys,
widget tokens and the subscriptions they belong to)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from uuid import UUID

from cmp.db.outbox import OutboxMessage
from cmp.tenancy.model import Account, AuthSession, Membership, Tenant, User

if TYPE_CHECKING:  # the credential model loads the capability models (pydantic): the authorizer must not
    from cmp.commerce.model import Subscription
    from cmp.tenancy.credentials import ApiKey, WidgetToken


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


class SubscriptionReader(Protocol):
    """The subscriptions a buyer's credentials belong to (`cmp.commerce.repository.SubscriptionRepository`)."""

    def get(self, subscription_id: UUID, for_update: bool = False) -> Subscription:
        """The subscription of the unit of work's tenant; raises `NotFound` (also for another tenant's id)."""
        ...


class ApiKeyRepository(Protocol):
    """API keys of the unit of work's tenant."""

    def add(self, key: ApiKey) -> None:
        """Store a new key (its hash, never its secret)."""
        ...

    def get(self, subscription_id: UUID, key_id: UUID, for_update: bool = False) -> ApiKey:
        """The key of that subscription; raises `NotFound` (also for another tenant's or subscription's key)."""
        ...

    def list(self, subscription_id: UUID) -> list[ApiKey]:
        """Every key of the subscription, newest first (revoked and expired ones included)."""
        ...

    def save(self, key: ApiKey) -> None:
        """Store a key's changed state (revocation)."""
        ...


class WidgetTokenRepository(Protocol):
    """Widget tokens of the unit of work's tenant."""

    def add(self, token: WidgetToken) -> None:
        """Store a new token (its hash, never its value)."""
        ...

    def get(self, subscription_id: UUID, token_id: UUID, for_update: bool = False) -> WidgetToken:
        """The token of that subscription; raises `NotFound` (also for another tenant's or subscription's)."""
        ...

    def list(self, subscription_id: UUID) -> list[WidgetToken]:
        """Every token of the subscription, newest first (revoked ones included)."""
        ...

    def save(self, token: WidgetToken) -> None:
        """Store a token's changed state (revocation)."""
        ...


class IntegrationUnitOfWork(Protocol):
    """The unit of work as the integration service uses it."""

    @property
    def subscriptions(self) -> SubscriptionReader: ...

    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def widget_tokens(self) -> WidgetTokenRepository: ...

    def commit(self) -> None:
        """Commit the transaction."""
        ...


class IntegrationUnitOfWorkFactory(Protocol):
    """Opens an integration unit of work scoped to the buyer's tenant."""

    def __call__(
        self, tenant_id: UUID | str | None = None
    ) -> AbstractContextManager[IntegrationUnitOfWork]: ...
