"""The caller's profile for `GET /v1/me`: read-side SQL shaped for the screen."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any
from uuid import UUID

from cmp.db.session import Session
from cmp.errors import Unauthorized

SessionFactory = Callable[..., AbstractContextManager[Session]]


class ProfileView:
    """Reads through `Database.session(tenant_id, read_only=True)`."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    def profile(self, tenant_id: str, user_id: str) -> dict[str, Any]:
        """`{"user": {id, email, display_name, is_platform_admin}, "organization": {id, name, slug,
        runtime_tier}, "roles": [...], "onboarding": {"state", "steps": [{step, status, detail,
        updated_at (ISO 8601)}]}}`. Raises `Unauthorized` when the user or organization no longer exists."""
        with self._sessions(tenant_id, read_only=True) as session:
            session.set_user(UUID(user_id))
            user = session.fetch_one(
                "select id, email, display_name, is_platform_admin from users where id = %s", (user_id,)
            )
            tenant = session.fetch_one(
                "select id, name, slug, runtime_tier, onboarding_state from tenants where id = %s",
                (tenant_id,),
            )
            roles = session.fetch_all(
                "select role from memberships where tenant_id = %s and user_id = %s order by role",
                (tenant_id, user_id),
            )
            steps = session.fetch_all(
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
