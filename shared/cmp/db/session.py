"""`Session`: SQL on one connection inside one transaction, for repositories and read-side views only.

Services never hold a session: they work through a `UnitOfWork`, whose repositories hold it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeAlias
from uuid import UUID

if TYPE_CHECKING:
    import psycopg
    from psycopg import sql

Query: TypeAlias = "str | sql.Composed"


class SessionClosed(RuntimeError):
    """The transaction this session belonged to has ended (committed or rolled back)."""


class Session:
    """Runs statements in the caller's transaction; rows come back as dicts."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn
        self._open = True
        # Begin the transaction now (a no-tenant setting), so a savepoint is always nested inside it.
        conn.execute("select set_config('app.tenant_id', '', true)")

    def set_tenant(self, tenant_id: UUID | str) -> str:
        """Scope the rest of the transaction to one tenant (`app.tenant_id`, transaction-local)."""
        tenant = str(UUID(str(tenant_id)))
        self.execute("select set_config('app.tenant_id', %s, true)", (tenant,))
        return tenant

    def set_user(self, user_id: UUID | str) -> None:
        """Name the signed-in user for policies that need it (`app.user_id`, transaction-local)."""
        self.execute("select set_config('app.user_id', %s, true)", (str(UUID(str(user_id))),))

    def fetch_one(self, query: Query, params: Any = None) -> dict[str, Any] | None:
        row: dict[str, Any] | None = self._cursor(query, params).fetchone()
        return row

    def fetch_all(
        self, query: Query, params: Any = None, *, prepare: bool | None = None
    ) -> list[dict[str, Any]]:
        """Every row of `query`. `prepare=False` plans it with its parameters on every call: psycopg
        prepares a statement after its 5th execution on a connection (`prepare_threshold`), and PostgreSQL
        may then run the prepared statement's generic plan, which does not know the values."""
        rows: list[dict[str, Any]] = self._cursor(query, params, prepare).fetchall()
        return rows

    def execute(self, query: Query, params: Any = None) -> int:
        """Run a statement; returns the number of rows it touched."""
        return self._cursor(query, params).rowcount

    def insert(self, table: str, values: dict[str, Any]) -> None:
        """Insert one row of `table` from `values` (column name → value). Column and table names come from
        the repositories' own entity fields, never from input; the values are bound parameters."""
        columns = ", ".join(values)
        placeholders = ", ".join(f"%({name})s" for name in values)
        self.execute(f"insert into {table} ({columns}) values ({placeholders})", values)

    def execute_many(self, query: Query, params: list[Any]) -> None:
        """Run one statement for each parameter set, pipelined."""
        self._check_open()
        with self._conn.cursor() as cur:
            cur.executemany(query, params)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """A nested transaction: a statement that fails inside it (e.g. a unique violation the repository
        turns into `Conflict`) rolls back to here, and the outer transaction stays usable."""
        self._check_open()
        with self._conn.transaction():
            yield

    def commit(self) -> None:
        self._check_open()
        self._conn.commit()
        self.close()

    def rollback(self) -> None:
        if self._open:
            self._conn.rollback()
            self.close()

    def close(self) -> None:
        self._open = False

    def _cursor(self, query: Query, params: Any, prepare: bool | None = None) -> psycopg.Cursor[Any]:
        self._check_open()
        return self._conn.execute(query, params, prepare=prepare)

    def _check_open(self) -> None:
        if not self._open:
            raise SessionClosed("this unit of work has already ended; open a new one")
