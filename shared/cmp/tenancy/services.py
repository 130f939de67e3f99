"""Tenancy use cases: sign-up, operator-created accounts, sign-in, authentication of a portal token,
sign-out, and the session purge. Each opens a unit of work, applies the model's rules, saves and commits.

Opening an organization and starting its onboarding are one transaction: the `StartExecution` of the
onboarding state machine is an outbox message committed with the organization, so it cannot be lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from cmp.db.outbox import OutboxMessage
from cmp.errors import Unauthorized
from cmp.ports import Clock, IdGenerator
from cmp.tenancy.model import (
    ACCOUNT_ROLES,
    PLATFORM_ADMIN_ROLES,
    PLATFORM_ORGANIZATION,
    AuthSession,
    Membership,
    Tenant,
    User,
    normalise_email,
    validate_account,
    validate_signup,
)
from cmp.tenancy.passwords import PasswordHasher
from cmp.tenancy.ports import TenancyUnitOfWork, TenancyUnitOfWorkFactory
from cmp.tenancy.tokens import PortalClaims, TokenService

# Verifying against the hash of a random password when the e-mail is unknown keeps sign-in timing the same
# for known and unknown accounts.
_TIMING_DECOY_PASSWORD = uuid.uuid4().hex


@dataclass(frozen=True)
class IssuedToken:
    """A portal access token; `expires_in` is in seconds."""

    access_token: str
    expires_in: int
    token_type: str = "bearer"


def onboarding_execution_name(tenant_id: UUID | str) -> str:
    """The onboarding execution's name: one per tenant, so starting it twice is a no-op."""
    return f"onboard-{tenant_id}"


class TenancyService:
    """Accounts and portal sessions. Raises `ValidationFailed`, `Conflict`, `Unauthorized`, `Forbidden`."""

    def __init__(
        self,
        uow: TenancyUnitOfWorkFactory,
        hasher: PasswordHasher,
        tokens: TokenService,
        onboarding_state_machine_arn: Callable[[], str],
        clock: Clock,
        ids: IdGenerator,
    ) -> None:
        self._uow = uow
        self._hasher = hasher
        self._tokens = tokens
        self._onboarding_arn = onboarding_state_machine_arn
        self._clock = clock
        self._ids = ids
        self._decoy_hash: str | None = None

    def signup(
        self, email: str, password: str, organization_name: str, account_type: str = "both"
    ) -> IssuedToken:
        """Open an organization with its owner signed in; roles follow `account_type` (never admin).

        Raises `ValidationFailed` (every broken rule) or `Conflict` (e-mail already registered)."""
        email = normalise_email(email)
        validate_signup(email, password, organization_name, account_type)
        roles = ACCOUNT_ROLES[account_type]
        user = User(self._ids.new_id(), email, self._hasher.hash(password))
        tenant = Tenant.new(self._ids.new_id(), organization_name)
        with self._uow(tenant.id) as uow:
            self._open_organization(uow, tenant, user, roles)
            issued = self._issue(uow, user, tenant.id, list(roles))
            uow.commit()
        return issued

    def create_platform_admin(self, email: str, password: str) -> str:
        """Create a platform administrator in their own organization; returns the user id.

        Only the CLI and the demo seed call this; sign-up never grants admin."""
        return self.create_account(
            email, password, PLATFORM_ORGANIZATION, list(PLATFORM_ADMIN_ROLES), is_platform_admin=True
        )

    def create_account(
        self,
        email: str,
        password: str,
        organization_name: str,
        roles: list[str],
        *,
        is_platform_admin: bool = False,
    ) -> str:
        """Create a user owning a new organization with the given roles; returns the user id.

        Raises `ValidationFailed` or `Conflict` (e-mail already registered)."""
        email = normalise_email(email)
        validate_account(email, password, tuple(roles))
        user = User(self._ids.new_id(), email, self._hasher.hash(password), is_platform_admin)
        tenant = Tenant.new(self._ids.new_id(), organization_name)
        with self._uow(tenant.id) as uow:
            self._open_organization(uow, tenant, user, tuple(roles))
            uow.commit()
        return str(user.id)

    def find_account(self, email: str) -> dict[str, Any] | None:
        """`{"user_id", "tenant_id"}` of an e-mail (tenant: the first joined, or None); None if unknown.

        Seeding uses it to stay idempotent."""
        with self._uow() as uow:
            account = uow.accounts.account_by_email(normalise_email(email))
        if account is None:
            return None
        return {
            "user_id": str(account.user.id),
            "tenant_id": str(account.memberships[0].tenant_id) if account.memberships else None,
        }

    def login(self, email: str, password: str, organization_id: str | None = None) -> IssuedToken:
        """Sign in to `organization_id` (default: the first organization joined).

        Raises `Unauthorized` for an unknown e-mail or a wrong password (same message, same timing) and
        `Forbidden` when the user is not a member of that organization."""
        email = normalise_email(email)
        with self._uow() as uow:
            account = uow.accounts.account_by_email(email)
        if account is None:
            self._hasher.verify(self._decoy(), password)
            raise Unauthorized("e-mail or password is incorrect")
        if not self._hasher.verify(account.user.password_hash, password):
            raise Unauthorized("e-mail or password is incorrect")
        tenant_id, roles = account.organization(organization_id)
        with self._uow(tenant_id) as uow:
            uow.set_user(account.user.id)
            if self._hasher.needs_rehash(account.user.password_hash):
                uow.accounts.set_password_hash(account.user.id, self._hasher.hash(password))
            issued = self._issue(uow, account.user, UUID(tenant_id), roles)
            uow.commit()
        return issued

    def authenticate(self, token: str) -> PortalClaims:
        """Verify the token's signature and claims, then that its session was not revoked (logout).

        Raises `Unauthorized`."""
        claims = self._tokens.verify(token)
        try:
            tenant_id, session_id, user_id = (
                UUID(claims.tenant_id),
                UUID(claims.session_id),
                UUID(claims.user_id),
            )
        except ValueError as e:
            raise Unauthorized("invalid token") from e
        with self._uow(tenant_id) as uow:
            session = uow.auth_sessions.get(session_id)
        if session is None or session.user_id != user_id or not session.active:
            raise Unauthorized("session has ended; sign in again")
        return claims

    def logout(self, tenant_id: str, session_id: str) -> None:
        """Revoke the session; signing out twice (or of an unknown session) is harmless."""
        with self._uow(tenant_id) as uow:
            session = uow.auth_sessions.get(UUID(session_id))
            if session is not None and session.revoke(self._clock.now()):
                uow.auth_sessions.save(session)
                uow.commit()

    def purge_expired_sessions(self, retention_days: int) -> int:
        """Delete every tenant's sessions that ended more than `retention_days` ago; returns how many."""
        with self._uow() as uow:
            purged = uow.auth_sessions.purge_ended_before(self._clock.now() - timedelta(days=retention_days))
            uow.commit()
        return purged

    def _open_organization(
        self, uow: TenancyUnitOfWork, tenant: Tenant, user: User, roles: tuple[str, ...]
    ) -> None:
        uow.set_user(user.id)
        uow.accounts.add_tenant(tenant)
        uow.accounts.add_user(user)
        for role in roles:
            uow.accounts.add_membership(Membership(tenant.id, user.id, role))
        uow.outbox.add(
            OutboxMessage.start_execution(
                self._onboarding_arn(), onboarding_execution_name(tenant.id), {"tenant_id": str(tenant.id)}
            )
        )

    def _issue(self, uow: TenancyUnitOfWork, user: User, tenant_id: UUID, roles: list[str]) -> IssuedToken:
        token, claims = self._tokens.issue(
            user_id=str(user.id), tenant_id=str(tenant_id), roles=roles, email=user.email
        )
        expires_at = datetime.fromtimestamp(claims.expires_at, tz=UTC)
        uow.auth_sessions.add(AuthSession(UUID(claims.session_id), tenant_id, user.id, expires_at))
        return IssuedToken(
            access_token=token, expires_in=claims.expires_at - int(self._clock.now().timestamp())
        )

    def _decoy(self) -> str:
        if self._decoy_hash is None:
            self._decoy_hash = self._hasher.hash(_TIMING_DECOY_PASSWORD)
        return self._decoy_hash
