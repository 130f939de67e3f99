"""Statements sent without waiting for their answer (`Database.send`), on one libpq connection of their own.

For work whose outcome the caller does not need and whose loss is bounded: the gateway's lease release (a
release lost with its connection is a lease that expires, as when a function crashes mid-call). Each send
writes BEGIN, the tenant setting, the statement, COMMIT and a Sync in libpq's pipeline mode and returns once
they are written to the socket; the server runs them as soon as they arrive. Their answers are read (and a
failure logged) before the next send, and before the process next takes a connection of its `Database`,
so one process's statements run in the order it sent them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from psycopg import pq

log = logging.getLogger(__name__)


class StatementSender:
    """`url`: the application role's connection string (or a callable reading it on first use)."""

    def __init__(self, url: str | Callable[[], str]) -> None:
        self._url = url
        self._conn: pq.abc.PGconn | None = None
        self._pending = 0
        self._lock = threading.Lock()

    def send(self, tenant_id: str, query: str, params: Sequence[str]) -> None:
        """Send `query` (with `$1`.. placeholders and text `params`) in its own transaction scoped to
        `tenant_id`, without waiting for its answer. A broken connection is replaced (what it had not
        answered yet is lost); a failure to connect is logged, never raised."""
        import psycopg

        with self._lock:
            try:
                conn = self._ready()
                conn.send_query_params(b"begin", None)
                conn.send_query_params(b"select set_config('app.tenant_id', $1, true)", [tenant_id.encode()])
                conn.send_query_params(query.encode(), [p.encode() for p in params])
                conn.send_query_params(b"commit", None)
                conn.pipeline_sync()
                while conn.flush():
                    pass
                self._pending += 1
            except psycopg.OperationalError:
                log.warning("a statement sent without waiting was not sent; it is lost", exc_info=True)
                self._discard()

    def drain(self) -> None:
        """Read the answers of what was sent (waiting for them if they have not arrived yet)."""
        if self._pending:
            with self._lock:
                self._read_pending()

    def close(self) -> None:
        """Read what is pending, then close the connection."""
        with self._lock:
            if self._conn is not None:
                self._read_pending()
                self._discard()

    def _ready(self) -> pq.abc.PGconn:
        import psycopg
        from psycopg import pq

        self._read_pending()
        if self._conn is not None and self._conn.status != pq.ConnStatus.OK:
            self._discard()
        if self._conn is None:
            url = self._url() if callable(self._url) else self._url
            conn = pq.PGconn.connect(url.encode())
            if conn.status != pq.ConnStatus.OK:
                message = conn.get_error_message()
                conn.finish()
                raise psycopg.OperationalError(message)
            conn.enter_pipeline_mode()
            self._conn = conn
        return self._conn

    def _read_pending(self) -> None:
        from psycopg import pq

        conn = self._conn
        while conn is not None and self._pending:
            result: Any = conn.get_result()
            if result is None:
                if conn.status != pq.ConnStatus.OK:
                    log.warning(
                        "the connection of statements sent without waiting broke; %d lost", self._pending
                    )
                    self._discard()
                    return
                continue
            if result.status == pq.ExecStatus.PIPELINE_SYNC:
                self._pending -= 1
            elif result.status in (pq.ExecStatus.FATAL_ERROR, pq.ExecStatus.PIPELINE_ABORTED):
                log.warning(
                    "a statement sent without waiting failed: %s",
                    (result.error_message or b"aborted").decode(errors="replace").strip(),
                )

    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.finish()
        self._conn, self._pending = None, 0
