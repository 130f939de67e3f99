"""In-memory tenancy repositories, behaving like `cmp.tenancy.repository` and
`cmp.tenancy.credential_repository` for unit tests."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from cmp.commerce.model import Subscription
from cmp.errors import Conflict, FieldError, NotFound
from cmp.tenancy.credentials import ApiKey, WidgetToken
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


class InMemorySubscriptions:
    def __init__(self, *subscriptions: Subscription) -> None:
        self.subscriptions = {s.id: s for s in subscriptions}

    def get(self, subscription_id: UUID, for_update: bool = False) -> Subscription:
        if subscription_id not in self.subscriptions:
            raise NotFound("subscription not found")
        return self.subscriptions[subscription_id]


class InMemoryApiKeys:
    def __init__(self) -> None:
        self.keys: dict[UUID, ApiKey] = {}
        self.saves = 0

    def add(self, key: ApiKey) -> None:
        self.keys[key.id] = key

    def get(self, subscription_id: UUID, key_id: UUID, for_update: bool = False) -> ApiKey:
        key = self.keys.get(key_id)
        if key is None or key.subscription_id != subscription_id:
            raise NotFound("API key not found")
        return key

    def list(self, subscription_id: UUID) -> list[ApiKey]:
        return [k for k in reversed(self.keys.values()) if k.subscription_id == subscription_id]

    def save(self, key: ApiKey) -> None:
        self.saves += 1
        self.keys[key.id] = key


class InMemoryWidgetTokens:
    def __init__(self) -> None:
        self.tokens: dict[UUID, WidgetToken] = {}
        self.saves = 0

    def add(self, token: WidgetToken) -> None:
        self.tokens[token.id] = token

    def get(self, subscription_id: UUID, token_id: UUID, for_update: bool = False) -> WidgetToken:
        token = self.tokens.get(token_id)
        if token is None or token.subscription_id != subscription_id:
            raise NotFound("widget token not found")
        return token

    def list(self, subscription_id: UUID) -> list[WidgetToken]:
        return [t for t in reversed(self.tokens.values()) if t.subscription_id == subscription_id]

    def save(self, token: WidgetToken) -> None:
        self.saves += 1
        self.tokens[token.id] = token
