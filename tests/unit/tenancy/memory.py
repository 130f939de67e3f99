"""In-memory tenancy repositories, behaving like `cmp.tenancy.repository` for unit tests."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from cmp.errors import Conflict, FieldError
from cmp.tenancy.model import Account, AuthSession, Membership, Tenant, User


class InMemoryAccounts:
    def __init__(self) -> None:
        self.tenants: dict[UUID, Tenant] = {}
        self.users: dict[UUID, User] = {}
        self.memberships: list[Membership] = []

    def add_tenant(self, tenant: Tenant) -> None:
        self.tenants[tenant.id] = tenant

    def add_user(self, user: User) -> None:
        if any(u.email == user.email for u in self.users.values()):
            raise Conflict(
                "an account with this e-mail already exists", errors=[FieldError("email", "taken")]
            )
        self.users[user.id] = user

    def add_membership(self, membership: Membership) -> None:
        self.memberships.append(membership)

    def account_by_email(self, email: str) -> Account | None:
        user = next((u for u in self.users.values() if u.email == email), None)
        if user is None:
            return None
        return Account(user, [m for m in self.memberships if m.user_id == user.id])

    def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        self.users[user_id].password_hash = password_hash


class InMemorySessions:
    def __init__(self) -> None:
        self.sessions: dict[UUID, AuthSession] = {}

    def add(self, session: AuthSession) -> None:
        self.sessions[session.id] = session

    def get(self, session_id: UUID) -> AuthSession | None:
        return self.sessions.get(session_id)

    def save(self, session: AuthSession) -> None:
        self.sessions[session.id] = session

    def purge_ended_before(self, cutoff: datetime) -> int:
        ended = [
            s.id
            for s in self.sessions.values()
            if s.expires_at < cutoff or (s.revoked_at is not None and s.revoked_at < cutoff)
        ]
        for session_id in ended:
            del self.sessions[session_id]
        return len(ended)
