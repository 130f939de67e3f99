"""The unit of work: one transaction, the tenant set with `set_config(..., true)` so it ends with it."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql


class UnitOfWork:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self.tenant_id: str | None = None

    def set_tenant(self, tenant_id: UUID | str) -> None:
        self.tenant_id = str(UUID(str(tenant_id)))
        self.conn.execute("select set_config('app.tenant_id', %s, true)", (self.tenant_id,))

    def set_user(self, user_id: UUID | str) -> None:
        self.conn.execute("select set_config('app.user_id', %s, true)", (str(UUID(str(user_id))),))

    def fetch_one(self, query: str | sql.Composed, params: Any = None) -> dict[str, Any] | None:
        row: dict[str, Any] | None = self.conn.execute(query, params).fetchone()
        return row

    def fetch_all(self, query: str | sql.Composed, params: Any = None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.conn.execute(query, params).fetchall()
        return rows

    def execute(self, query: str | sql.Composed, params: Any = None) -> int:
        return self.conn.execute(query, params).rowcount
