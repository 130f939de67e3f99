"""The "Data Sync Automation" demo of `make run` (issue 11, spec Part 7 workflow examples and the Part 3
automation dashboard): the demo buyer's automation subscription holds an active workflow that, every hour
(or on "Run Now"), fetches the inventory the local runner serves at `/demo/inventory`, reshapes it with a
transform, upserts it into the `inventory` table of a demo PostgreSQL database, and posts a Slack-style
message to the runner's sink (`/demo/slack`, `cmp_dev.local.demo_endpoints`).

The demo database `cmp_demo_sync` lives on the stack's embedded PostgreSQL server, owned by its own role
`cmp_demo_sync` (no access to the platform's database), reached through the stack's TCP door to the
server (`cmp_dev.local.demo_database`, which admits only that role on that database); its connection
string is the workflow secret `DEMO_DB`, set again on every seed with a new password (moto's KMS key does
not outlive the stack). The runner's demo endpoints and the door are reached as `localhost`, the one host
the local stack lets workflow steps reach (`WORKFLOW_HTTP_ALLOWED_HOSTS`, `cmp_dev.local.dev`).
"""

from __future__ import annotations

import os
import secrets
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from cmp.bootstrap import Services

WORKFLOW_NAME = "Data Sync Automation"
DATABASE = "cmp_demo_sync"
SECRET = "DEMO_DB"
DEMO_URL_VARIABLE = "CMP_DEMO_URL"
"""Where the runner serves its demo endpoints, as steps reach it (set by `Stack.combined_environment`)."""
DEMO_DATABASE_VARIABLE = "CMP_DEMO_DATABASE_ADDRESS"
"""`localhost:<port>`: the stack's TCP door to the demo database (`cmp_dev.local.demo_database`)."""


@dataclass(frozen=True)
class DataSyncDemo:
    """What the banner prints: the workflow and its subscription."""

    subscription_id: str
    workflow_id: str


def definition(demo_url: str) -> dict[str, Any]:
    """The workflow: hourly schedule → http fetch → transform → database upsert → Slack-style message."""
    return {
        "nodes": [
            {"id": "hourly", "type": "schedule", "name": "Every hour", "config": {"preset": "hourly"}},
            {
                "id": "fetch",
                "type": "http",
                "name": "Fetch inventory",
                "config": {"method": "GET", "url": f"{demo_url}/inventory", "timeoutSeconds": 10},
                "onError": {"strategy": "retry", "maxRetries": 2, "retryDelaySeconds": 1},
            },
            {
                "id": "shape",
                "type": "transform",
                "name": "Keep the synced columns",
                "config": {
                    "expression": "steps.fetch.body.items[].{sku: sku, name: name, quantity: quantity, price: price}"
                },
            },
            {
                "id": "upsert",
                "type": "database",
                "name": "Upsert into inventory",
                "config": {
                    "connection": SECRET,
                    "operation": "insert",
                    "table": "inventory",
                    "rows": "{{ steps.shape.value }}",
                    "onConflict": ["sku"],
                },
            },
            {
                "id": "notify",
                "type": "messaging",
                "name": "Tell the team",
                "config": {
                    "channel": "slack",
                    "url": f"{demo_url}/slack",
                    "text": "Data Sync: {{ steps.upsert.rowCount }} products synced from the inventory feed",
                },
            },
        ],
        "edges": [
            {"source": "hourly", "target": "fetch"},
            {"source": "fetch", "target": "shape"},
            {"source": "shape", "target": "upsert"},
            {"source": "upsert", "target": "notify"},
        ],
    }


def seed_data_sync(services: Services, tenant_id: str, subscription_id: str) -> DataSyncDemo | None:
    """Make the demo buyer's Data Sync workflow exist, active, with its database and secret (idempotent:
    the workflow is found again by name, a changed definition saved as a new version). None when the stack
    names no demo URL or database door (`CMP_DEMO_URL`, `CMP_DEMO_DATABASE_ADDRESS`: the local stack on its
    embedded PostgreSQL)."""
    demo_url, address = os.environ.get(DEMO_URL_VARIABLE), os.environ.get(DEMO_DATABASE_VARIABLE)
    if not demo_url or not address:
        return None
    subscription = uuid.UUID(subscription_id)
    connection = _demo_database(os.environ["MIGRATIONS_DATABASE_URL"], address)
    services.workflow_secrets.put(tenant_id, subscription, SECRET, connection)
    existing = services.workflows.list(tenant_id, subscription)  # the automation's first workflow comes first
    found = next((w for w in existing if w["name"] == WORKFLOW_NAME), None)
    wanted = definition(demo_url)
    if found is None:
        found = services.workflows.create(
            tenant_id,
            subscription,
            {
                "name": WORKFLOW_NAME,
                "description": "Hourly: inventory feed → transform → PostgreSQL upsert → Slack-style message",
                "definition": wanted,
            },
        )
    elif found["definition"] != wanted:
        found = services.workflows.replace(tenant_id, uuid.UUID(found["workflow_id"]), {"definition": wanted})
    if found["status"] != "active" or found["active_version"] != found["version"]:
        services.workflows.activate(tenant_id, uuid.UUID(found["workflow_id"]))
    return DataSyncDemo(subscription_id, found["workflow_id"])


def _demo_database(owner_url: str, address: str) -> str:
    """Create (once) the demo role, database and `inventory` table; give the role a new password; return the
    role's connection string through `address` (`localhost:<port>`, the stack's door to the server)."""
    import psycopg
    from psycopg import sql

    password = secrets.token_urlsafe(18)
    with psycopg.connect(owner_url, autocommit=True) as conn:
        role = conn.execute("select 1 from pg_roles where rolname = %s", (DATABASE,)).fetchone()
        verb = "alter" if role else "create"
        conn.execute(
            sql.SQL(f"{verb} role {{}} login password {{}}").format(
                sql.Identifier(DATABASE), sql.Literal(password)
            )
        )
        if conn.execute("select 1 from pg_database where datname = %s", (DATABASE,)).fetchone() is None:
            conn.execute(
                sql.SQL("create database {} owner {}").format(
                    sql.Identifier(DATABASE), sql.Identifier(DATABASE)
                )
            )
    parts = urlsplit(owner_url)
    with psycopg.connect(urlunsplit((parts.scheme, parts.netloc, f"/{DATABASE}", parts.query, ""))) as conn:
        conn.execute(f"set role {DATABASE}")
        conn.execute(
            "create table if not exists inventory (sku text primary key, name text not null,"
            " quantity integer not null, price numeric(10, 2) not null)"
        )
    return f"postgresql://{DATABASE}:{password}@{address}/{DATABASE}?sslmode=disable&gssencmode=disable"
