"""All tenancy SQL: organizations, users, memberships and portal sessions.

Sign-in runs before any tenant is known, so it reads through the narrow SECURITY DEFINER functions
`auth_find_user` and `auth_user_memberships`; the session purge runs across tenants through
`housekeeping_purge_sessions`. Everything else is tenant-scoped and subject to row-level security.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg

from cmp.db.session import Session
from cmp.errors import Conflict, FieldError
from cmp.tenancy.model import Account, AuthSession, Membership, Tenant, User


class AccountRepository:
    """Organizations, users and memberships (`uow.accounts`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add_tenant(self, tenant: Tenant) -> None:
        """Insert the organization; the unit of work must be scoped to `tenant.id` (RLS check)."""
        self._session.execute(
            "insert into tenants (id, name, slug, runtime_tier, onboarding_state) values (%s, %s, %s, %s, %s)",
            (tenant.id, tenant.name, tenant.slug, tenant.runtime_tier, tenant.onboarding_state),
        )

    def add_user(self, user: User) -> None:
        """Insert the user (the unit of work must name them with `set_user`); raises `Conflict` on a
        registered e-mail, leaving the transaction usable."""
        try:
            with self._session.savepoint():
                self._session.execute(
                    "insert into users (id, email, password_hash, display_name, is_platform_admin)"
                    " values (%s, %s, %s, %s, %s)",
                    (user.id, user.email, user.password_hash, user.display_name, user.is_platform_admin),
                )
        except psycopg.errors.UniqueViolation as e:
            raise Conflict(
                "an account with this e-mail already exists",
                errors=[FieldError("email", "is already registered")],
            ) from e

    def add_membership(self, membership: Membership) -> None:
        """Insert one role of a user in the unit of work's organization."""
        self._session.execute(
            "insert into memberships (tenant_id, user_id, role) values (%s, %s, %s)",
            (membership.tenant_id, membership.user_id, membership.role),
        )

    def account_by_email(self, email: str) -> Account | None:
        """The user and every membership, read across tenants (SECURITY DEFINER); None if unknown."""
        row = self._session.fetch_one("select * from auth_find_user(%s)", (email,))
        if row is None:
            return None
        memberships = self._session.fetch_all("select * from auth_user_memberships(%s)", (row["id"],))
        user = User(
            id=row["id"],
            email=email,
            password_hash=row["password_hash"],
            is_platform_admin=row["is_platform_admin"],
        )
        return Account(user, [Membership(m["tenant_id"], row["id"], m["role"]) for m in memberships])

    def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        """Replace the user's password hash (the unit of work must name them with `set_user`)."""
        self._session.execute("update users set password_hash = %s where id = %s", (password_hash, user_id))


class SessionRepository:
    """Portal sessions (`uow.auth_sessions`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def add(self, session: AuthSession) -> None:
        """Insert a newly issued session in the unit of work's tenant."""
        self._session.execute(
            "insert into auth_sessions (id, tenant_id, user_id, expires_at, revoked_at)"
            " values (%s, %s, %s, %s, %s)",
            (session.id, session.tenant_id, session.user_id, session.expires_at, session.revoked_at),
        )

    def get(self, session_id: UUID) -> AuthSession | None:
        """The session, when it exists in the unit of work's tenant; else None."""
        row = self._session.fetch_one(
            "select id, tenant_id, user_id, expires_at, revoked_at from auth_sessions where id = %s",
            (session_id,),
        )
        return _session(row) if row else None

    def save(self, session: AuthSession) -> None:
        """Store the session's revocation time."""
        self._session.execute(
            "update auth_sessions set revoked_at = %s where id = %s", (session.revoked_at, session.id)
        )

    def purge_ended_before(self, cutoff: datetime) -> int:
        """Delete, across tenants, sessions that expired or were revoked before `cutoff`; returns how many."""
        row = self._session.fetch_one("select housekeeping_purge_sessions(%s) as purged", (cutoff,))
        return int(row["purged"]) if row else 0


def _session(row: dict[str, Any]) -> AuthSession:
    return AuthSession(row["id"], row["tenant_id"], row["user_id"], row["expires_at"], row["revoked_at"])
