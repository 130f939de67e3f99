"""The database, email and ai actions in real runs (moto Step Functions, the step worker, PostgreSQL as the
target database, moto SES): an upsert and a parameterised query through a connection kept as a secret, an
injection attempt that stays a value, an email sent through SES, an answer from the local model, and a
connection to an address the SSRF rules refuse."""

from __future__ import annotations

import contextlib
import itertools
import socket
import socketserver
import threading
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from cmp.aws.clients import client
from cmp.bootstrap import Services
from cmp.db import Database

from .commerce_support import new_tenant
from .conftest import Postgres
from .workflow_support import automation, drive, with_workflow_engine

SENDER = "automations@example.com"


@pytest.fixture
def target(postgres: Postgres, owner_conn: psycopg.Connection[Any]) -> Iterator[tuple[str, str]]:
    """(connection string, table): a fresh table in the test server, reached over TCP on 127.0.0.1 (a
    relay to the embedded server's socket when it listens on no port)."""
    table = f"wf_orders_{uuid.uuid4().hex[:8]}"
    owner_conn.execute(f"create table {table} (id text primary key, total integer, note text)")
    params = conninfo_to_dict(postgres.owner_url)
    host = str(params.get("host") or "")
    if not host.startswith("/"):
        yield make_conninfo(**{**params, "host": "127.0.0.1"}), table
        return
    socket_path = f"{host}/.s.PGSQL.{params.get('port') or 5432}"

    class Relay(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(socket_path)
            pipes = [(self.request, upstream), (upstream, self.request)]
            threads = [threading.Thread(target=_pipe, args=p, daemon=True) for p in pipes]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Relay)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        yield make_conninfo(**{**params, "host": "127.0.0.1", "port": str(port)}), table
    finally:
        server.shutdown()
        server.server_close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


def _run(
    services: Services, queue: str, tenant: str, definition: dict[str, Any], payload: dict[str, Any]
) -> dict[str, Any]:
    subscription = automation(db=services.db, tenant_id=tenant)
    [first] = services.workflows.list(tenant, subscription.id)
    workflow_id = uuid.UUID(first["workflow_id"])
    services.workflow_secrets.put(tenant, subscription.id, "SHOP_DB", payload.pop("_connection"))
    services.workflows.replace(tenant, workflow_id, {"definition": definition})
    services.workflows.activate(tenant, workflow_id)
    started = services.workflow_runs.start(tenant, workflow_id, payload)
    return drive(services, queue, tenant, started["run_id"])


def _flow(*nodes: dict[str, Any]) -> dict[str, Any]:
    chain = [{"id": "start", "type": "manual"}, *nodes]
    edges = [{"source": a["id"], "target": b["id"]} for a, b in itertools.pairwise(chain)]
    return {"nodes": chain, "edges": edges}


def test_upsert_query_email_and_ai_in_one_run(
    db: Database, services: Services, target: tuple[str, str], owner_conn: psycopg.Connection[Any]
) -> None:
    url, table = target
    services, queue = with_workflow_engine(services)
    services = Services(
        settings=replace(services.settings, workflow_email_sender=SENDER),
        db=services.db,
        hasher=services.hasher,
    )
    client("ses").verify_email_identity(EmailAddress=SENDER)
    definition = _flow(
        {
            "id": "save",
            "type": "database",
            "config": {
                "connection": "SHOP_DB",
                "operation": "insert",
                "table": table,
                "rows": "{{ input.orders }}",
                "onConflict": ["id"],
            },
        },
        {
            "id": "find",
            "type": "database",
            "config": {
                "connection": "SHOP_DB",
                "operation": "query",
                "sql": f"select id, total, note from {table} where note = %(note)s order by id",
                "params": {"note": "{{ input.evil }}"},
            },
        },
        {
            "id": "big",
            "type": "database",
            "config": {
                "connection": "SHOP_DB",
                "operation": "query",
                "sql": f"select id from {table} where total > %(min)s order by id",
                "params": {"min": 10},
            },
        },
        {
            "id": "summary",
            "type": "ai",
            "config": {"prompt": "Summarise the orders", "context": ["Orders b and c are above 10."]},
        },
        {
            "id": "mail",
            "type": "messaging",
            "config": {
                "channel": "email",
                "to": "ops@example.com",
                "subject": "Sync",
                "text": "{{ steps.summary.text }}",
            },
        },
    )
    evil = "x' or '1'='1"
    orders = [
        {"id": "a", "total": 5, "note": "ok"},
        {"id": "b", "total": 12, "note": evil},
        {"id": "c", "total": 30, "note": "ok"},
    ]
    owner_conn.execute(f"insert into {table} values ('c', 1, 'old')")
    tenant = new_tenant(db, "Actions Buyer")
    detail = _run(services, queue, tenant, definition, {"orders": orders, "evil": evil, "_connection": url})
    assert detail["status"] == "succeeded", [s["error"] for s in detail["steps"]]
    steps = {s["step_id"]: s for s in detail["steps"]}
    assert steps["save"]["output"] == {"rowCount": 3}
    assert steps["save"]["input"]["connection"] == "SHOP_DB"
    assert steps["find"]["output"]["rows"] == [{"id": "b", "total": 12, "note": evil}]
    assert [r["id"] for r in steps["big"]["output"]["rows"]] == ["b", "c"]
    assert owner_conn.execute(f"select total from {table} where id = 'c'").fetchone() == (30,)
    assert steps["summary"]["output"]["model"] == "extractive"
    assert "Orders b and c are above 10." in steps["summary"]["output"]["text"]
    assert steps["mail"]["output"]["to"] == ["ops@example.com"] and steps["mail"]["output"]["messageId"]
    assert client("ses").get_send_quota()["SentLast24Hours"] == 1


def test_a_connection_to_a_refused_address_fails_the_step(
    db: Database, services: Services, target: tuple[str, str]
) -> None:
    url, table = target
    services, queue = with_workflow_engine(services)
    refused = make_conninfo(**{**conninfo_to_dict(url), "host": "10.0.0.7"})
    definition = _flow(
        {
            "id": "gone",
            "type": "database",
            "config": {"connection": "SHOP_DB", "operation": "delete", "table": table, "where": {"id": "a"}},
        }
    )
    tenant = new_tenant(db, "Actions Buyer")
    detail = _run(services, queue, tenant, definition, {"_connection": refused})
    assert detail["status"] == "failed"
    assert "non-public address" in detail["steps"][0]["error"], detail
    assert "10.0.0.7" not in str(detail["steps"][0]["input"])
