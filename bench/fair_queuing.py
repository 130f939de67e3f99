"""Noisy-neighbour benchmark of fair queuing: does tenant A's flood delay tenant B's jobs?

Three runs on one queue (moto SQS in-process, real PostgreSQL), each with `--workers` consumers that receive
one message at a time, hold it `--work-ms` (the job) and run it through `cmp.jobs.run_sqs_batch` as the
worker functions do (which reports a fair job finished, releasing its tenant's next one):

warm-up  — as `alone`, not counted (the first run pays for connections and query plans);
alone    — B enqueues 10 jobs on an idle queue;
flood    — A's `--flood` fair jobs are written to the outbox in one statement (the rows a producer
           writes) and released, the consumers start on them, then B enqueues 10 as producers do;
unfair   — A's `--unfair-flood` jobs sent straight to SQS (no dispatcher) before the consumers start, then
           the same; shows what the dispatcher prevents (smaller by default: moto's sends are slow).

Prints B's wait (enqueue to start) p50/p99/max per run, and flood p99 / alone p99 (target <= 1.5).

With `--workflow-steps` the jobs are workflow step messages and the consumers take them as the step worker
function does (`StepWorker.take`, its `handle` replaced by the job): B's 10 are sent straight to the queue as
state machines send them, so B's wait includes its steps being queued fairly (the re-queue); A's flood is
the outbox rows that re-queue writes, in one statement. It first times `StepWorker.take` of
`--intake` state machine messages (the re-queue's cost per message: how long a burst of messages already in
the queue ahead of B's delays them). No unfair run (the jobs' run shows it).

Run: .venv/bin/python bench/fair_queuing.py [--flood 5000] [--unfair-flood 1000] [--workers 8] [--work-ms 20]
     [--skip-unfair] [--workflow-steps [--intake 200]]
(its own database `cmp_fair_bench` on the embedded server under .local/pg-bench, or BENCH_DATABASE_URL)
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from moto import mock_aws  # noqa: E402
from tests.fair_load import (  # noqa: E402
    Consumers,
    enqueue,
    enqueue_flood,
    enqueue_step_flood,
    send_steps,
    step_message,
    tenant_on_plan,
)

from cmp.aws.clients import client  # noqa: E402
from cmp.bootstrap import Services, bootstrap  # noqa: E402
from cmp.config import Settings  # noqa: E402
from cmp.db import Database  # noqa: E402
from cmp.db.migrate import migrate  # noqa: E402
from cmp.db.outbox import FAIR_SHARES  # noqa: E402
from cmp_dev.bench_database import bench_database  # noqa: E402
from cmp_dev.local.stack import app_role_url  # noqa: E402

DATABASE = "cmp_fair_bench"
QUIET_JOBS = 10


def p99(values: list[float]) -> float:
    """The 99th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, -(-99 * len(ordered) // 100) - 1)]


def enqueue_unfair(tenant: str, url: str, count: int) -> None:
    """`count` messages sent straight to the queue in arrival order, as without the dispatcher."""
    sqs = client("sqs")
    for start in range(0, count, 10):
        entries = [
            {"Id": str(n), "MessageBody": json.dumps({"tenant": tenant, "n": n, "enqueued": time.time()})}
            for n in range(start, min(start + 10, count))
        ]
        sqs.send_message_batch(QueueUrl=url, Entries=entries)


def run(
    services: Services, db: Database, owner_url: str, name: str, flood: int, args: argparse.Namespace
) -> list[float]:
    """One run; returns B's waits in seconds."""
    url = str(
        client("sqs").create_queue(QueueName=f"fair-bench-{name}", Attributes={"VisibilityTimeout": "900"})[
            "QueueUrl"
        ]
    )
    noisy, quiet = tenant_on_plan(db, "starter"), tenant_on_plan(db, "starter")
    steps = args.workflow_steps
    if steps:
        services = Services(
            settings=replace(services.settings, workflow_steps_queue_url=url), db=db, hasher=services.hasher
        )
    started = time.perf_counter()
    if name == "unfair":
        enqueue_unfair(noisy, url, flood)
    elif flood:
        (enqueue_step_flood if steps else enqueue_flood)(owner_url, services, noisy, url, flood)
    enqueued_in = time.perf_counter() - started
    with Consumers(services, url, args.workers, args.work_ms / 1000, steps=steps) as consumers:
        if flood:
            consumers.wait_for(args.workers * 3, timeout=120)  # the consumers are busy with the flood
        if steps:
            send_steps(quiet, url, QUIET_JOBS)
        else:
            enqueue(services, quiet, url, QUIET_JOBS)
        deadline = time.monotonic() + 600
        while sum(1 for s in consumers.started if s.tenant == quiet) < QUIET_JOBS:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name}: B's jobs did not all start in 600 s")
            time.sleep(0.01)
        flood_started = sum(1 for s in consumers.started if s.tenant == noisy)
    waits = [s.wait for s in consumers.started if s.tenant == quiet]
    print(
        f"{name:8} A={flood:>5} jobs (enqueued in {enqueued_in:5.1f} s, {flood_started:>5} of them started by B's last)"
        f"  B wait p50={statistics.median(waits) * 1000:7.1f} ms p99={p99(waits) * 1000:8.1f} ms"
        f" max={max(waits) * 1000:8.1f} ms"
    )
    return waits


def intake(services: Services, db: Database, count: int) -> None:
    """Time `StepWorker.take` of `count` state machine step messages (each queued fairly: one transaction
    and a release pass); prints the mean and p99 per message."""
    url = str(client("sqs").create_queue(QueueName="fair-bench-intake")["QueueUrl"])
    worker = Services(
        settings=replace(services.settings, workflow_steps_queue_url=url), db=db, hasher=services.hasher
    ).step_worker
    tenant = tenant_on_plan(db, "starter")
    times = []
    for n in range(count):
        message = step_message(tenant, n)
        begun = time.perf_counter()
        worker.take(message)
        times.append(time.perf_counter() - begun)
    print(
        f"intake: StepWorker.take of {count} step messages: mean {statistics.mean(times) * 1000:.1f} ms,"
        f" p99 {p99(times) * 1000:.1f} ms per message"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flood", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--work-ms", type=float, default=20.0)
    parser.add_argument("--unfair-flood", type=int, default=1000)
    parser.add_argument("--skip-unfair", action="store_true")
    parser.add_argument("--workflow-steps", action="store_true")
    parser.add_argument("--intake", type=int, default=200)
    args = parser.parse_args()
    for key, value in {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}.items():
        os.environ.setdefault(key, value)
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with bench_database(DATABASE, REPO) as owner_url, mock_aws():
        migrate(owner_url)
        # a consumer thread stands for a function instance: its unit of work and the relay after its commit
        # hold two connections at once
        db = Database(app_role_url(owner_url), max_size=2 * args.workers + 2)
        settings = Settings(jwt_issuer="https://auth.bench", jwt_audience="cmp-bench")
        services = bootstrap(settings, db=db, jwt_secret=lambda: "b" * 40)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(
            f"{args.workers} consumers, {args.work_ms:g} ms per job, starter share {FAIR_SHARES['starter']}"
            f" jobs in flight per tenant; B enqueues {QUIET_JOBS}"
        )
        if args.workflow_steps:
            print("jobs: workflow step messages taken by the step worker (StepWorker.take)")
            intake(services, db, args.intake)
        run(services, db, owner_url, "warm-up", 0, args)  # pools, moto, query plans; not counted
        alone = run(services, db, owner_url, "alone", 0, args)
        flood = run(services, db, owner_url, "flood", args.flood, args)
        print(f"B p99 with the flood / alone = {p99(flood) / p99(alone):.2f} (target <= 1.5)")
        if not (args.skip_unfair or args.workflow_steps):
            unfair = run(services, db, owner_url, "unfair", args.unfair_flood, args)
            print(f"without the dispatcher: B p99 / alone = {p99(unfair) / p99(alone):.1f}")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        db.close()


if __name__ == "__main__":
    main()
