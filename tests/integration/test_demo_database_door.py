"""The Data Sync demo's TCP door to the embedded PostgreSQL (`cmp_dev.local.demo_database`): the demo role
reaches its own database through it; any other role, or the demo role on another database, is cut off
before the server (and its socket's trust authentication) is reached."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from cmp_dev.local.demo_database import DemoDatabaseProxy
from cmp_dev.local.stack import Postgres

ROLE = "door_demo"


def test_only_the_demo_role_on_its_database_passes(postgres: Postgres) -> None:
    parts = urlsplit(postgres.owner_url)
    if "host" not in parse_qs(parts.query):
        pytest.skip("the server is not the embedded one (no Unix socket)")
    socket_dir = parse_qs(parts.query)["host"][0]
    with psycopg.connect(postgres.owner_url, autocommit=True) as conn:
        if not conn.execute("select 1 from pg_roles where rolname = %s", (ROLE,)).fetchone():
            conn.execute(f"create role {ROLE} login")
        if not conn.execute("select 1 from pg_database where datname = %s", (ROLE,)).fetchone():
            conn.execute(f"create database {ROLE} owner {ROLE}")
    door = DemoDatabaseProxy(f"{socket_dir}/.s.PGSQL.{parts.port or 5432}", ROLE, ROLE).start()
    try:
        address = f"host=localhost port={door.port} connect_timeout=5"
        with psycopg.connect(f"{address} user={ROLE} dbname={ROLE}") as conn:
            assert conn.execute("select current_user, current_database()").fetchone() == (ROLE, ROLE)
        with psycopg.connect(f"{address} user={ROLE} dbname={ROLE} sslmode=prefer") as conn:
            assert conn.execute("select 1").fetchone() == (1,)
        for user, database in (("postgres", ROLE), ("cmp_app", ROLE), (ROLE, "postgres")):
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect(f"{address} user={user} dbname={database} sslmode=disable")
    finally:
        door.stop()
