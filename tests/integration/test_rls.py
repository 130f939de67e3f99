"""Tenant isolation is enforced by PostgreSQL itself: every tenant-owned table has row-level security,
the application role cannot bypass it, and a missing tenant context shows nothing."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from cmp.db import Database

PUBLIC_READ = {"marketplace_listings"}


def _tenant_tables(owner_conn: psycopg.Connection[Any]) -> list[str]:
    rows = owner_conn.execute(
        "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " join pg_attribute a on a.attrelid = c.oid and a.attname = 'tenant_id'"
        " where n.nspname = 'public' and c.relkind = 'r' order by 1"
    ).fetchall()
    return [r[0] for r in rows]


def _new_tenant(db: Database) -> str:
    tenant_id = str(uuid.uuid4())
    with db.session(tenant_id) as session:
        session.execute(
            "insert into tenants (id, name, slug) values (%s, %s, %s)", (tenant_id, "T", f"t-{tenant_id}")
        )
        session.execute("insert into projects (tenant_id, name) values (%s, 'Default')", (tenant_id,))
    return tenant_id


def test_every_tenant_owned_table_has_row_level_security(owner_conn: psycopg.Connection[Any]) -> None:
    tables = _tenant_tables(owner_conn)
    assert {"projects", "memberships", "products", "plans"} <= set(tables)
    for table in [*tables, "tenants", "users"]:
        enabled, policies = owner_conn.execute(
            "select c.relrowsecurity, (select count(*) from pg_policies p where p.tablename = c.relname)"
            " from pg_class c where c.relname = %s",
            (table,),
        ).fetchone()
        assert enabled, f"{table} has no row-level security"
        assert policies > 0, f"{table} has no policy"


def test_the_application_role_cannot_bypass_rls(owner_conn: psycopg.Connection[Any]) -> None:
    bypass, superuser = owner_conn.execute(
        "select rolbypassrls, rolsuper from pg_roles where rolname = 'cmp_app'"
    ).fetchone()
    assert (bypass, superuser) == (False, False)
    owners = owner_conn.execute(
        "select distinct tableowner from pg_tables where schemaname = 'public'"
    ).fetchall()
    assert ("cmp_app",) not in owners


def test_no_tenant_context_returns_no_rows(db: Database, owner_conn: psycopg.Connection[Any]) -> None:
    _new_tenant(db)
    for table in _tenant_tables(owner_conn):
        if table in PUBLIC_READ:
            continue
        with db.session() as session:
            assert session.fetch_all(f"select * from {table}") == [], table
    with db.session() as session:
        assert session.fetch_all("select * from tenants") == []


def test_tenant_a_cannot_read_or_write_tenant_b_rows(db: Database) -> None:
    a, b = _new_tenant(db), _new_tenant(db)
    with db.session(a) as session:
        assert session.fetch_all("select tenant_id from projects") == [{"tenant_id": uuid.UUID(a)}]
        assert session.fetch_all("select id from tenants where id = %s", (b,)) == []
        assert session.execute("update projects set name = 'hijacked' where tenant_id = %s", (b,)) == 0
        assert session.execute("delete from projects where tenant_id = %s", (b,)) == 0
    with pytest.raises(psycopg.errors.InsufficientPrivilege), db.session(a) as session:
        session.execute("insert into projects (tenant_id, name) values (%s, 'planted')", (b,))
    with db.session(b) as session:
        assert [r["name"] for r in session.fetch_all("select name from projects")] == ["Default"]


def test_the_tenant_setting_ends_with_the_transaction(db: Database) -> None:
    a = _new_tenant(db)
    with db.session(a) as session:
        assert session.fetch_one("select current_setting('app.tenant_id', true) as t")["t"] == a  # type: ignore[index]
    with db.session() as session:
        assert session.fetch_one("select current_setting('app.tenant_id', true) as t")["t"] in ("", None)  # type: ignore[index]
