"""`Database.send` (cmp.db.sender) against the real database: what is sent runs before the process's next
statement; a failing statement is logged, never raised; a broken connection is replaced."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import psycopg
import pytest

from cmp.db import Database

from .commerce_support import new_tenant


def test_sent_statements_run_in_order_fail_quietly_and_survive_a_lost_connection(
    db: Database, owner_conn: psycopg.Connection[Any], caplog: pytest.LogCaptureFixture
) -> None:
    tenant = uuid.UUID(new_tenant(db, "Sender"))
    db.send(tenant, "select 1 / (select count(*) from tenants where id <> $1::uuid and false)", [str(tenant)])
    with caplog.at_level(logging.WARNING, logger="cmp.db.sender"):
        rows = db.statement(tenant, "select current_setting('app.tenant_id') as tenant", None)
    assert rows == [{"tenant": str(tenant)}]
    assert "division by zero" in caplog.text  # read before the statement ran, logged, not raised
    sender_pid = owner_conn.execute(
        "select pid from pg_stat_activity where query like %s and pid <> pg_backend_pid()",
        ("%count(*) from tenants where id <>%",),
    ).fetchone()
    assert sender_pid is not None
    owner_conn.execute("select pg_terminate_backend(%s)", sender_pid)
    rename = "update tenants set name = $1 where id = app_current_tenant()"
    db.send(tenant, rename, ["Lost with its connection"])  # written to the dead socket
    db.send(tenant, rename, ["Sent again"])  # finds the connection broken, replaces it
    with caplog.at_level(logging.WARNING, logger="cmp.db.sender"):
        assert db.statement(tenant, "select 1 as one", None) == [{"one": 1}]
    assert "1 lost" in caplog.text
    name = owner_conn.execute("select name from tenants where id = %s", (tenant,)).fetchone()
    assert name == ("Sent again",)
