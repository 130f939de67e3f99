"""Sign-up, sign-in, sessions and the caller's profile. Tenancy rules live here, not in handlers."""

from __future__ import annotations

import logging
import re
import time
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import psycopg

from cmp.db import Database
from cmp.errors import Conflict, FieldError, Forbidden, Unauthorized, ValidationFailed
from cmp.tenancy.passwords import PasswordHasher, password_problems
from cmp.tenancy.tokens import PortalClaims, TokenService

EMAIL_PATTERN = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
ACCOUNT_ROLES = {
    "seller": ["owner", "seller"],
    "buyer": ["owner", "buyer"],
    "both": ["owner", "seller", "buyer"],
}
# An Argon2 hash of a random password: verifying against it when the e-mail is unknown keeps sign-in
# timing the same for known and unknown accounts.
_TIMING_DECOY_PASSWORD = uuid.uuid4().hex
log = logging.getLogger(__name__)


class OnboardingStarter(Protocol):
    def start(self, tenant_id: str) -> str: ...


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    expires_in: int
    token_type: str = "bearer"


def slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80] or "org"


def normalise_email(email: str) -> str:
    return email.strip().lower()


class TenancyService:
    def __init__(
        self,
        db: Database,
        hasher: PasswordHasher,
        tokens: TokenService,
        onboarding: OnboardingStarter,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._hasher = hasher
        self._tokens = tokens
        self._onboarding = onboarding
        self._clock = clock
        self._decoy_hash: str | None = None

    def signup(
        self, email: str, password: str, organization_name: str, account_type: str = "both"
    ) -> IssuedToken:
        email = normalise_email(email)
        errors: list[FieldError] = []
        if not EMAIL_PATTERN.match(email):
            errors.append(FieldError("email", "is not a valid e-mail address"))
        errors += password_problems(password, email)
        if not organization_name.strip():
            errors.append(FieldError("organization_name", "must not be empty"))
        if account_type not in ACCOUNT_ROLES:
            errors.append(FieldError("account_type", f"must be one of {', '.join(ACCOUNT_ROLES)}"))
        if errors:
            raise ValidationFailed("sign-up details are invalid", errors=errors)
        tenant_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
        roles = ACCOUNT_ROLES[account_type]
        self._create_account(
            tenant_id, user_id, email, self._hasher.hash(password), organization_name.strip(), roles
        )
        self._start_onboarding(tenant_id)
        return self._issue(user_id, tenant_id, roles, email)

    def create_platform_admin(self, email: str, password: str) -> str:
        """Only the CLI and the demo seed call this; sign-up never grants admin."""
        return self.create_account(
            email, password, "CMP Platform", ["owner", "admin"], is_platform_admin=True
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
        email = normalise_email(email)
        errors = password_problems(password, email)
        if not EMAIL_PATTERN.match(email):
            errors.insert(0, FieldError("email", "is not a valid e-mail address"))
        if errors:
            raise ValidationFailed("account details are invalid", errors=errors)
        tenant_id, user_id = str(uuid.uuid4()), str(uuid.uuid4())
        self._create_account(
            tenant_id,
            user_id,
            email,
            self._hasher.hash(password),
            organization_name,
            roles,
            is_platform_admin=is_platform_admin,
        )
        self._start_onboarding(tenant_id)
        return user_id

    def find_account(self, email: str) -> dict[str, Any] | None:
        """The user id and organization of an e-mail (used by seeding to stay idempotent)."""
        with self._db.unit_of_work() as uow:
            user = uow.fetch_one("select id from auth_find_user(%s)", (normalise_email(email),))
            if user is None:
                return None
            memberships = uow.fetch_all("select * from auth_user_memberships(%s)", (user["id"],))
        return {
            "user_id": str(user["id"]),
            "tenant_id": str(memberships[0]["tenant_id"]) if memberships else None,
        }

    def login(self, email: str, password: str, organization_id: str | None = None) -> IssuedToken:
        email = normalise_email(email)
        with self._db.unit_of_work() as uow:
            user = uow.fetch_one("select * from auth_find_user(%s)", (email,))
            memberships = (
                uow.fetch_all("select * from auth_user_memberships(%s)", (user["id"],)) if user else []
            )
        if user is None:
            self._hasher.verify(self._decoy(), password)
            raise Unauthorized("e-mail or password is incorrect")
        if not self._hasher.verify(user["password_hash"], password):
            raise Unauthorized("e-mail or password is incorrect")
        tenant_ids = list(dict.fromkeys(str(m["tenant_id"]) for m in memberships))
        if not tenant_ids:
            raise Forbidden("this account belongs to no organization")
        tenant_id = organization_id or tenant_ids[0]
        if tenant_id not in tenant_ids:
            raise Forbidden("you are not a member of that organization")
        roles = [m["role"] for m in memberships if str(m["tenant_id"]) == tenant_id]
        if self._hasher.needs_rehash(user["password_hash"]):
            with self._db.unit_of_work(tenant_id) as uow:
                uow.set_user(user["id"])
                uow.execute(
                    "update users set password_hash = %s where id = %s",
                    (self._hasher.hash(password), user["id"]),
                )
        return self._issue(str(user["id"]), tenant_id, roles, email)

    def authenticate(self, token: str) -> PortalClaims:
        """Verify the signature and claims, then that the session was not revoked (logout)."""
        claims = self._tokens.verify(token)
        with self._db.unit_of_work(claims.tenant_id) as uow:
            session = uow.fetch_one(
                "select revoked_at from auth_sessions where id = %s and user_id = %s",
                (claims.session_id, claims.user_id),
            )
        if session is None or session["revoked_at"] is not None:
            raise Unauthorized("session has ended; sign in again")
        return claims

    def logout(self, tenant_id: str, session_id: str) -> None:
        with self._db.unit_of_work(tenant_id) as uow:
            uow.execute(
                "update auth_sessions set revoked_at = now() where id = %s and revoked_at is null",
                (session_id,),
            )

    def profile(self, tenant_id: str, user_id: str) -> dict[str, Any]:
        with self._db.unit_of_work(tenant_id) as uow:
            uow.set_user(user_id)
            user = uow.fetch_one(
                "select id, email, display_name, is_platform_admin, created_at from users where id = %s",
                (user_id,),
            )
            tenant = uow.fetch_one(
                "select id, name, slug, runtime_tier, onboarding_state, created_at from tenants where id = %s",
                (tenant_id,),
            )
            roles = uow.fetch_all(
                "select role from memberships where tenant_id = %s and user_id = %s order by role",
                (tenant_id, user_id),
            )
            steps = uow.fetch_all(
                "select step, status, detail, updated_at from onboarding_steps where tenant_id = %s"
                " order by updated_at",
                (tenant_id,),
            )
        if user is None or tenant is None:
            raise Unauthorized("account no longer exists")
        return {
            "user": {
                "id": str(user["id"]),
                "email": user["email"],
                "display_name": user["display_name"],
                "is_platform_admin": user["is_platform_admin"],
            },
            "organization": {
                "id": str(tenant["id"]),
                "name": tenant["name"],
                "slug": tenant["slug"],
                "runtime_tier": tenant["runtime_tier"],
            },
            "roles": [r["role"] for r in roles],
            "onboarding": {
                "state": tenant["onboarding_state"],
                "steps": [
                    {
                        "step": s["step"],
                        "status": s["status"],
                        "detail": s["detail"],
                        "updated_at": s["updated_at"].isoformat(),
                    }
                    for s in steps
                ],
            },
        }

    def purge_expired_sessions(self, retention_days: int) -> int:
        cutoff = datetime.fromtimestamp(self._clock() - retention_days * 86_400, tz=UTC)
        with self._db.unit_of_work() as uow:
            row = uow.fetch_one("select housekeeping_purge_sessions(%s) as purged", (cutoff,))
        return int(row["purged"]) if row else 0

    def stalled_onboardings(self, older_than_seconds: int) -> list[str]:
        cutoff = datetime.fromtimestamp(self._clock() - older_than_seconds, tz=UTC)
        with self._db.unit_of_work() as uow:
            rows = uow.fetch_all("select tenant_id from housekeeping_stalled_onboardings(%s)", (cutoff,))
        return [str(r["tenant_id"]) for r in rows]

    def resume_onboarding(self, tenant_id: str) -> None:
        self._start_onboarding(tenant_id)

    def _create_account(
        self,
        tenant_id: str,
        user_id: str,
        email: str,
        password_hash: str,
        organization_name: str,
        roles: list[str],
        *,
        is_platform_admin: bool = False,
    ) -> None:
        slug = f"{slugify(organization_name)}-{tenant_id[:8]}"
        try:
            with self._db.unit_of_work(tenant_id) as uow:
                uow.set_user(user_id)
                uow.execute(
                    "insert into tenants (id, name, slug) values (%s, %s, %s)",
                    (tenant_id, organization_name, slug),
                )
                uow.execute(
                    "insert into users (id, email, password_hash, is_platform_admin) values (%s, %s, %s, %s)",
                    (user_id, email, password_hash, is_platform_admin),
                )
                for role in roles:
                    uow.execute(
                        "insert into memberships (tenant_id, user_id, role) values (%s, %s, %s)",
                        (tenant_id, user_id, role),
                    )
        except psycopg.errors.UniqueViolation as e:
            raise Conflict(
                "an account with this e-mail already exists",
                errors=[FieldError("email", "is already registered")],
            ) from e

    def _start_onboarding(self, tenant_id: str) -> None:
        """A failure to start is not the user's problem: housekeeping resumes pending onboardings."""
        try:
            arn = self._onboarding.start(tenant_id)
        except Exception:
            log.exception(
                "onboarding did not start; housekeeping will resume it", extra={"tenant_id": tenant_id}
            )
            return
        with self._db.unit_of_work(tenant_id) as uow:
            uow.execute(
                "update tenants set onboarding_execution_arn = %s,"
                " onboarding_state = case when onboarding_state = 'pending' then 'running' else onboarding_state end"
                " where id = %s",
                (arn, tenant_id),
            )

    def _issue(self, user_id: str, tenant_id: str, roles: list[str], email: str) -> IssuedToken:
        token, claims = self._tokens.issue(user_id=user_id, tenant_id=tenant_id, roles=roles, email=email)
        with self._db.unit_of_work(tenant_id) as uow:
            uow.execute(
                "insert into auth_sessions (id, tenant_id, user_id, expires_at) values (%s, %s, %s, %s)",
                (claims.session_id, tenant_id, user_id, datetime.fromtimestamp(claims.expires_at, tz=UTC)),
            )
        return IssuedToken(access_token=token, expires_in=claims.expires_at - int(self._clock()))

    def _decoy(self) -> str:
        if self._decoy_hash is None:
            self._decoy_hash = self._hasher.hash(_TIMING_DECOY_PASSWORD)
        return self._decoy_hash
