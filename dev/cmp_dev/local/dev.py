"""Brings the whole local platform up and down: PostgreSQL, the AWS APIs (moto, or LocalStack with
`CMP_AWS=localstack`), the resources, the runner."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

from cmp.aws.clients import aws_mode
from cmp_dev.demo_sync import DATABASE, DEMO_DATABASE_VARIABLE, DEMO_URL_VARIABLE
from cmp_dev.local.demo_database import DemoDatabaseProxy
from cmp_dev.local.kube_api import FakeKubernetes, KubeApiServer
from cmp_dev.local.runner import LocalRunner
from cmp_dev.local.runtime_processes import RuntimeProcesses
from cmp_dev.local.stack import LocalStack, Moto, Postgres, function_environment, provision
from cmp_dev.local.template import LocalTemplate, Resolver, read_template

STATE_FILE = "stack.json"
RUNTIME_FUNCTIONS = ("AgentApiFunction", "McpApiFunction", "RuntimeApiFunction")
LOCAL_WORKFLOW_HOSTS = "localhost"
"""The one host name workflow steps may reach on a private address locally: the runner's demo endpoints
and the demo database of the Data Sync workflow (`cmp_dev.demo_sync`); 127.0.0.1 and every other private
address stay refused."""


def _demo_database(postgres: Postgres) -> DemoDatabaseProxy | None:
    """The demo database's TCP door to the embedded server's Unix socket (None for an external server)."""
    if postgres.server is None:
        return None
    socket_dir = parse_qs(urlsplit(postgres.owner_url).query)["host"][0]
    port = urlsplit(postgres.owner_url).port or 5432
    return DemoDatabaseProxy(f"{socket_dir}/.s.PGSQL.{port}", DATABASE, DATABASE).start()


def demo_url(base_url: str) -> str:
    """The runner's demo endpoints as workflow steps reach them (`http://localhost:<port>/demo`)."""
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, f"localhost:{parts.port}", "/demo", "", ""))


"""The pooled functions whose routes a dedicated runtime serves (infra/runtime/app.py)."""


@dataclass
class Stack:
    template: LocalTemplate
    postgres: Postgres
    aws: Moto | LocalStack
    resolver: Resolver
    runner: LocalRunner
    local_dir: Path
    kubernetes: KubeApiServer
    runtimes: RuntimeProcesses
    demo_database: DemoDatabaseProxy | None = None
    """The Data Sync demo's door to the embedded server (None with an external DATABASE_URL)."""

    def environment(self, function: str) -> dict[str, str]:
        return function_environment(
            self.template, function, self.resolver, self.aws.environment(), self.postgres.app_url
        )

    def combined_environment(self) -> dict[str, str]:
        """Every function's configuration at once, for in-process work such as seeding."""
        combined: dict[str, str] = {}
        for function in self.template.functions:
            combined.update(self.environment(function))
        combined["MIGRATIONS_DATABASE_URL"] = self.postgres.owner_url
        combined[DEMO_URL_VARIABLE] = demo_url(self.runner.base_url)
        if self.demo_database is not None:
            combined[DEMO_DATABASE_VARIABLE] = f"localhost:{self.demo_database.port}"
        return combined

    def failure(self) -> str | None:
        """A sentence naming the dependency that died under the stack (the AWS APIs or PostgreSQL), else
        None."""
        return self.aws.failure() or self.postgres.failure()

    def stop(self) -> None:
        """Stop everything this stack started, users first: runner (pollers, workers), moto (LocalStack is
        left running), PostgreSQL."""
        self.runner.stop()
        if self.demo_database is not None:
            self.demo_database.stop()
        self.kubernetes.stop()
        self.runtimes.stop()
        self.aws.stop()
        self.postgres.stop()
        (self.local_dir / STATE_FILE).unlink(missing_ok=True)


def start_stack(
    root: Path,
    local_dir: Path,
    *,
    http_port: int = 0,
    moto_port: int | None = None,
    pg_dir_name: str = "pgdata",
) -> Stack:
    local_dir.mkdir(parents=True, exist_ok=True)
    template = read_template(root / "template.yaml")
    postgres = Postgres.start(local_dir / pg_dir_name)
    postgres.migrate()
    try:
        aws = (
            LocalStack.connect()
            if aws_mode() == "localstack"
            else Moto.start(moto_port, local_dir / "moto.log")
        )
    except BaseException:
        postgres.stop()
        raise
    runtime_environment: dict[str, str] = {}
    runtimes = RuntimeProcesses(lambda: runtime_environment, local_dir / "runtimes")
    kubernetes = KubeApiServer(FakeKubernetes(runtimes)).start()
    try:
        resolver = provision(template, aws.endpoint, local_dir / "secrets")
        runtime_environment.update(os.environ)
        for function in RUNTIME_FUNCTIONS:  # what the dedicated runtime serves, it is configured like
            runtime_environment.update(
                function_environment(template, function, resolver, aws.environment(), postgres.app_url)
            )
        queue_arns = {q: (resolver.physical[q]["Ref"], resolver.physical[q]["Arn"]) for q in template.queues}

        def environment(function: str) -> dict[str, str]:
            return {
                **os.environ,
                **function_environment(template, function, resolver, aws.environment(), postgres.app_url),
                "KUBERNETES_API_URL": kubernetes.url,
                "WORKFLOW_HTTP_ALLOWED_HOSTS": LOCAL_WORKFLOW_HOSTS,
            }

        runner = LocalRunner(template, environment, aws.endpoint, queue_arns, port=http_port)
        runner.start()
    except BaseException:
        kubernetes.stop()
        runtimes.stop()
        aws.stop()
        postgres.stop()
        raise
    stack = Stack(
        template, postgres, aws, resolver, runner, local_dir, kubernetes, runtimes, _demo_database(postgres)
    )
    state_file = local_dir / STATE_FILE
    state_file.write_text(
        json.dumps(
            {
                "api": runner.base_url,
                "aws_endpoint": aws.endpoint,
                "aws_environment": aws.environment(),
                "kubernetes_api": kubernetes.url,
                "database_url": postgres.app_url,
                "physical": resolver.physical,
                "environment": stack.combined_environment(),
            },
            indent=2,
        )
    )
    state_file.chmod(0o600)
    return stack


def running_stack_state(local_dir: Path) -> dict[str, Any]:
    state_file = local_dir / STATE_FILE
    if not state_file.exists():
        raise RuntimeError("the local stack is not running: start it with `make run`")
    state: dict[str, Any] = json.loads(state_file.read_text())
    return state


def client_environment(state: dict[str, Any]) -> dict[str, str]:
    """Variables for a process that talks to a running local stack (CLI commands, benchmarks)."""
    environment: dict[str, str] = state["environment"]
    return environment
