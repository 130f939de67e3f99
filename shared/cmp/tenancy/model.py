"""Tenancy entities and their rules: organizations (tenants), users, memberships with roles, portal sessions,
and what a valid sign-up is. No I/O here; `repository.py` stores these, `services.py` runs the use cases."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args
from uuid import UUID

from cmp.errors import FieldError, Forbidden, ValidationFailed
from cmp.tenancy.passwords import password_problems

AccountType = Literal["seller", "buyer", "both"]
Role = Literal["owner", "seller", "buyer", "admin"]
RuntimeTier = Literal["shared", "dedicated"]

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
ACCOUNT_ROLES: dict[str, tuple[Role, ...]] = {
    "seller": ("owner", "seller"),
    "buyer": ("owner", "buyer"),
    "both": ("owner", "seller", "buyer"),
}
PLATFORM_ORGANIZATION = "CMP Platform"
PLATFORM_ADMIN_ROLES: tuple[Role, ...] = ("owner", "admin")


def normalise_email(email: str) -> str:
    """E-mail addresses compare case-insensitively and without surrounding blanks."""
    return email.strip().lower()


def slugify(text: str) -> str:
    """A URL-safe ASCII slug of at most 80 characters (`"org"` when nothing usable is left)."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80] or "org"


def email_problems(email: str) -> list[FieldError]:
    """What is wrong with an (already normalised) e-mail address; empty when it is acceptable."""
    return [] if EMAIL_PATTERN.match(email) else [FieldError("email", "is not a valid e-mail address")]


def validate_signup(email: str, password: str, organization_name: str, account_type: str) -> None:
    """Check self-service sign-up details; raises `ValidationFailed` listing every broken rule."""
    errors = email_problems(email) + password_problems(password, email)
    if not organization_name.strip():
        errors.append(FieldError("organization_name", "must not be empty"))
    if account_type not in ACCOUNT_ROLES:
        errors.append(FieldError("account_type", f"must be one of {', '.join(ACCOUNT_ROLES)}"))
    if errors:
        raise ValidationFailed("sign-up details are invalid", errors=errors)


def validate_account(email: str, password: str, roles: tuple[str, ...]) -> None:
    """Check an operator-created account (CLI, seed); raises `ValidationFailed` listing every broken rule."""
    errors = email_problems(email) + password_problems(password, email)
    unknown = [r for r in roles if r not in get_args(Role)]
    if unknown:
        errors.append(FieldError("roles", f"unknown roles: {', '.join(unknown)}"))
    if errors:
        raise ValidationFailed("account details are invalid", errors=errors)


@dataclass
class Tenant:
    """An organization. `slug` is unique: the name's slug plus the first 8 characters of the id."""

    id: UUID
    name: str
    slug: str
    runtime_tier: RuntimeTier | None = None
    onboarding_state: str = "pending"

    @classmethod
    def new(cls, tenant_id: UUID, name: str) -> Tenant:
        """A fresh organization, onboarding pending and no runtime tier yet."""
        name = name.strip()
        return cls(id=tenant_id, name=name, slug=f"{slugify(name)}-{str(tenant_id)[:8]}")


@dataclass
class User:
    """A person who signs in; `email` is normalised; `password_hash` is an Argon2id hash."""

    id: UUID
    email: str
    password_hash: str
    is_platform_admin: bool = False
    display_name: str | None = None


@dataclass(frozen=True)
class Membership:
    """One role of one user in one organization."""

    tenant_id: UUID
    user_id: UUID
    role: str


@dataclass
class Account:
    """A user as sign-in sees it, before any tenant is chosen: credentials and every membership."""

    user: User
    memberships: list[Membership]

    def organization(self, organization_id: str | None) -> tuple[str, list[str]]:
        """The tenant to sign in to (the asked one, else the first joined) and the user's roles in it.

        Raises `Forbidden` when the user belongs to no organization or not to the one asked for."""
        tenant_ids = list(dict.fromkeys(str(m.tenant_id) for m in self.memberships))
        if not tenant_ids:
            raise Forbidden("this account belongs to no organization")
        tenant_id = organization_id or tenant_ids[0]
        if tenant_id not in tenant_ids:
            raise Forbidden("you are not a member of that organization")
        return tenant_id, [m.role for m in self.memberships if str(m.tenant_id) == tenant_id]


@dataclass
class AuthSession:
    """A portal session: one per issued token (`id` is the token's `jti`); logout revokes it."""

    id: UUID
    tenant_id: UUID
    user_id: UUID
    expires_at: datetime
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        """False once revoked (the token's own expiry is checked by `TokenService.verify`)."""
        return self.revoked_at is None

    def revoke(self, now: datetime) -> bool:
        """End the session; returns False when it had already ended (logout twice is harmless)."""
        if self.revoked_at is not None:
            return False
        self.revoked_at = now
        return True
