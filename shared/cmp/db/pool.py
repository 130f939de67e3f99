"""One small connection pool per process (a Lambda instance serves one request at a time).

psycopg is imported when the pool first opens, not when this module loads: a function that never touches
the database (or has not yet) does not pay its ~80 ms import on a cold start."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

from cmp.db.outbox import OutboxMessage
from cmp.db.sender import StatementSender
from cmp.db.session import Session
from cmp.db.uow import UnitOfWork

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool


class Database:
    """`url` may be a callable so the secret holding it is read on first use, not at import."""

    def __init__(self, url: str | Callable[[], str], *, min_size: int = 1, max_size: int = 4) -> None:
        self._url = url
        self._min_size = min_size
        self._max_size = max_size
        self._pool: ConnectionPool[Any] | None = None
        self._sender = StatementSender(url)

    def _ensure_open(self) -> ConnectionPool[Any]:
        if self._pool is None:
            from psycopg.rows import dict_row
            from psycopg_pool import ConnectionPool

            url = self._url() if callable(self._url) else self._url
            pool: ConnectionPool[Any] = ConnectionPool(
                url,
                min_size=self._min_size,
                max_size=self._max_size,
                kwargs={"row_factory": dict_row, "autocommit": False},
                open=False,
            )
            pool.open(wait=True, timeout=30)
            self._pool = pool
        return self._pool

    @contextmanager
    def unit_of_work(
        self,
        tenant_id: UUID | str | None = None,
        *,
        after_commit: Callable[[list[OutboxMessage]], object] | None = None,
    ) -> Iterator[UnitOfWork]:
        """A transaction scoped to one tenant (no tenant: RLS shows no tenant-owned rows); it commits only
        when the caller calls `commit()`; `after_commit` receives the outbox messages written in it."""
        with self._connection() as conn:
            session = Session(conn)
            tenant = session.set_tenant(tenant_id) if tenant_id is not None else None
            uow = UnitOfWork(session, tenant, after_commit)
            try:
                yield uow
            finally:
                uow.rollback()

    @contextmanager
    def session(self, tenant_id: UUID | str | None = None, *, read_only: bool = False) -> Iterator[Session]:
        """A transaction for read-side views (`read_only=True`) and the outbox relay; commits on success."""
        with self._connection() as conn:
            with conn.transaction():
                if read_only:
                    conn.execute("set transaction read only")
                session = Session(conn)
                if tenant_id is not None:
                    session.set_tenant(tenant_id)
                yield session
            session.close()

    def statement(self, tenant_id: UUID | str, query: str, params: Any = None) -> list[dict[str, Any]]:
        """Run one statement in its own transaction scoped to `tenant_id` and return its rows, in ONE round
        trip: BEGIN, the tenant setting, the statement and COMMIT go out together in pipeline mode (with
        psycopg's own transaction handling off: it would wait for its BEGIN first). For the hot paths that
        need no unit of work (the gateway's admission and lease release). An error in the statement rolls
        the transaction back and is raised (psycopg's own errors)."""
        from psycopg.pq import TransactionStatus

        tenant = str(UUID(str(tenant_id)))
        with self._connection() as conn:
            conn.autocommit = True
            try:
                with conn.pipeline():
                    conn.execute("begin")
                    conn.execute("select set_config('app.tenant_id', %s, true)", (tenant,))
                    cursor = conn.execute(query, params)
                    conn.execute("commit")
                rows: list[dict[str, Any]] = cursor.fetchall() if cursor.description else []
                return rows
            finally:
                if conn.info.transaction_status != TransactionStatus.IDLE:
                    conn.execute("rollback")
                conn.autocommit = False

    def send(self, tenant_id: UUID | str, query: str, params: Sequence[str]) -> None:
        """Send one statement (`$1`.. placeholders, text `params`) in its own transaction scoped to
        `tenant_id`, without waiting for its answer (`cmp.db.sender`): for work whose loss is bounded (the
        gateway's lease release). Its answer is read before this process next uses the database, so it runs
        before anything the process does next."""
        self._sender.send(str(UUID(str(tenant_id))), query, params)

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[Any]]:
        self._sender.drain()  # what this process sent runs before what it does next
        pool = self._ensure_open()
        with pool.connection() as conn:
            yield conn

    def close(self) -> None:
        self._sender.close()
        if self._pool is not None:
            self._pool.close()
            self._pool = None
