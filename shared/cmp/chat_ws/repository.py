"""`uow.websocket_connections`: the open WebSocket connections of the unit of work's tenant (migration 0025)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg.types.json import Jsonb

from cmp.db.session import Session


class ConnectionRepository:
    """Rows of `websocket_connections` (row-level security: the tenant's own), and the one tenant-less read
    a message needs (`tenant_of`)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def tenant_of(self, connection_id: str) -> UUID | None:
        """The tenant of the live (unexpired) connection `connection_id`, through the SECURITY DEFINER
        function `websocket_connection_tenant`; None when there is none. Read before any tenant is known."""
        row = self._session.fetch_one("select websocket_connection_tenant(%s) as tenant_id", (connection_id,))
        return row["tenant_id"] if row else None

    def add(
        self, connection_id: str, tenant_id: UUID, subscription_id: UUID, context: dict[str, str],
        lifetime_seconds: int,
    ) -> None:  # fmt: skip
        """Store a connection for `lifetime_seconds` from now (the database's clock, which every read of
        `expires_at` uses too); `context` is `RuntimeContext.to_authorizer()` (strings only). A connection id
        seen again (API Gateway never reuses one) replaces the row."""
        self._session.execute(
            "insert into websocket_connections (connection_id, tenant_id, subscription_id, context, expires_at)"
            " values (%s, %s, %s, %s, now() + make_interval(secs => %s)) on conflict (connection_id) do update set"
            " tenant_id = excluded.tenant_id, subscription_id = excluded.subscription_id,"
            " context = excluded.context, connected_at = now(), expires_at = excluded.expires_at",
            (connection_id, tenant_id, subscription_id, Jsonb(context), lifetime_seconds),
        )

    def context(self, connection_id: str) -> dict[str, str] | None:
        """The stored caller context of the connection, None when unknown, expired or another tenant's."""
        row: dict[str, Any] | None = self._session.fetch_one(
            "select context from websocket_connections where connection_id = %s and expires_at > now()",
            (connection_id,),
        )
        return dict(row["context"]) if row else None

    def delete(self, connection_id: str) -> bool:
        """Forget the connection; False when there was no such row (of this tenant)."""
        return (
            self._session.execute(
                "delete from websocket_connections where connection_id = %s", (connection_id,)
            )
            > 0
        )

    def delete_expired(self) -> int:
        """Delete the tenant's connections past their `expires_at`; how many."""
        return self._session.execute("delete from websocket_connections where expires_at <= now()")

    def count(self, subscription_id: UUID) -> int:
        """How many live rows the subscription has (tests and the operator's view)."""
        row = self._session.fetch_one(
            "select count(*) as n from websocket_connections where subscription_id = %s", (subscription_id,)
        )
        return int(row["n"]) if row else 0
