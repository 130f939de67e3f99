"""Runtime gateway benchmark: the overhead it adds per call, and the rate limiter's accuracy under load.

overhead  — the same echo route called 2,000 times bare and 2,000 times behind the runtime authorizer (warm
            container cache) + `Gateway.admit` (rate limits of key and subscription, concurrency lease taken
            and released), interleaved call by call; prints p50/p99 of each, the p99 and p50 added, and
            the throughput ratio (bare time / gated time). Interleaved with them, `Gateway.admit` alone
            (no resolver, no authorizer) and the release of its lease alone, timed apart: what the
            database part costs on this host at this moment.
accuracy  — 100 clients (threads, each its own connection) call `admit` with one key for N seconds; counts
            each admission twice: in the window of the database's clock when the limiter decided
            (`checked_at`, read under the bucket's lock: what the limiter admits) and in the window of the
            client's clock when the answer arrived (what the clients see). For each clock: the admissions
            per 1-second and 5-second window after the burst (min, max, how many outside 0.98x-1.02x of the
            rate, the verdict of tests/integration/test_gateway_accuracy.py), the longest gap between two
            admissions and, for runs of 60 s or more, the first 60-second window against rate x 60 + burst;
            and the 1-second windows on the database's clock whose edges no stall of the clients crossed
            (`cmp_dev.gateway_load.stalls`: the test's short windows).

Run: .venv/bin/python bench/gateway_bench.py [--calls 2000] [--accuracy-seconds 30] [--rate 3000]
(its own database `cmp_gateway_bench` on the embedded server under .local/pg-bench, or BENCH_DATABASE_URL)
"""

from __future__ import annotations

import argparse
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

from aws_lambda_powertools import Logger  # noqa: E402
from aws_lambda_powertools.event_handler.api_gateway import Router  # noqa: E402
from tests.subscriptions import capabilities, subscribe  # noqa: E402

from cmp.bootstrap import Services, bootstrap  # noqa: E402
from cmp.config import Settings  # noqa: E402
from cmp.db import Database  # noqa: E402
from cmp.db.migrate import migrate  # noqa: E402
from cmp.gateway.model import default_burst  # noqa: E402
from cmp.tenancy.credentials import ApiKeyRequest  # noqa: E402
from cmp.web.api import make_resolver  # noqa: E402
from cmp.web.deps import Runtime, ServicesDep  # noqa: E402
from cmp_dev.bench_database import bench_database  # noqa: E402
from cmp_dev.gateway_load import hammer, outside, stalls, steady_windows  # noqa: E402
from cmp_dev.local.stack import app_role_url  # noqa: E402

DATABASE = "cmp_gateway_bench"
MAX_CONNECTIONS = 200


def key_for(services: Services, db: Database, rate_per_minute: int) -> str:
    """A buyer, a subscription whose plan allows `rate_per_minute`, and an API key of it (its secret)."""
    tenant = uuid.uuid4()
    with db.session(tenant) as session:
        session.execute(
            "insert into tenants (id, name, slug) values (%s, 'Bench', %s)", (tenant, f"b-{tenant}")
        )
    plan = {
        "id": "plan_bench",
        "name": "Bench",
        "tier": "pro",
        "limits": {"rateLimitRpm": rate_per_minute, "concurrency": 1000},
    }
    subscription = subscribe(db, tenant, capabilities(interfaces={"api": {"enabled": True}}), plan=plan)
    return services.integration.create_api_key(
        str(tenant), None, subscription.id, ApiKeyRequest("bench")
    ).secret


def echo_event(subscription_id: str, authorizer: dict[str, str] | None) -> dict[str, Any]:
    path = f"/v1/echo/{subscription_id}"
    return {
        "resource": "/v1/echo/{subscription_id}",
        "path": path,
        "httpMethod": "POST",
        "headers": {"content-type": "application/json"},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"subscription_id": subscription_id},
        "body": json.dumps({"text": "hello"}),
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "POST",
            "stage": "dev",
            "requestId": "bench",
            "authorizer": authorizer,
        },
    }


def echo_resolver(services: Services) -> Any:
    """One resolver with the echo route twice: bare, and behind the runtime context + admission."""
    router = Router()

    @router.post("/v1/echo/<subscription_id>")
    def echo(subscription_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"echo": body}

    @router.post("/v1/gated/<subscription_id>")
    def gated(
        subscription_id: uuid.UUID, body: dict[str, Any], ctx: Runtime, services: ServicesDep
    ) -> dict[str, Any]:
        ctx.require_subscription(subscription_id)
        with services.gateway.admit(ctx):
            return {"echo": body}

    app = make_resolver(Logger(service="bench", level="ERROR"), services)
    app.include_router(router)
    return app


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def overhead(services: Services, db: Database, calls: int) -> None:
    secret = key_for(services, db, 1_000_000)
    app = echo_resolver(services)
    context = services.runtime_authorizer.authorize(secret, None, None)
    subscription = str(context.subscription_id)
    bare_event = echo_event(subscription, None)

    def gated_call() -> int:
        ctx = services.runtime_authorizer.authorize(secret, None, subscription)
        event = echo_event(subscription, ctx.to_authorizer())
        event["path"] = event["requestContext"]["resourcePath"] = f"/v1/gated/{subscription}"
        return int(app.resolve(event, None)["statusCode"])

    def bare_call() -> int:
        return int(app.resolve(dict(bare_event), None)["statusCode"])

    for _ in range(50):  # warm both paths (imports, pool, prepared plans)
        assert bare_call() == 200 and gated_call() == 200
    bare: list[float] = []
    gated: list[float] = []
    admits: list[float] = []
    releases: list[float] = []
    for _ in range(calls):
        for call, samples in ((bare_call, bare), (gated_call, gated)):
            started = time.perf_counter()
            status = call()
            samples.append((time.perf_counter() - started) * 1000)
            assert status == 200, status
        started = time.perf_counter()
        admission = services.gateway.admit(context)
        admitted = time.perf_counter()
        admission.close()
        admits.append((admitted - started) * 1000)
        releases.append((time.perf_counter() - admitted) * 1000)
    print(f"overhead: {calls:,} calls each, interleaved")
    for label, samples in (("bare", bare), ("gated", gated), ("admit", admits), ("release", releases)):
        print(f"  {label:<7} p50={percentile(samples, 50):6.2f} ms  p99={percentile(samples, 99):6.2f} ms")
    print(
        f"  added  p50={percentile(gated, 50) - percentile(bare, 50):6.2f} ms"
        f"  p99={percentile(gated, 99) - percentile(bare, 99):6.2f} ms"
        f"  throughput ratio (gated/bare calls per second) = {sum(bare) / sum(gated):.2f}"
    )


def accuracy(services: Services, db: Database, app_url: str, seconds: float, rate: int, clients: int) -> None:
    secret = key_for(services, db, rate)
    ctx = services.runtime_authorizer.authorize(secret, None, None)
    result = hammer(app_url, ctx, clients, seconds)
    per_second_rate, burst = rate / 60, default_burst(rate)
    print(
        f"accuracy: {clients} clients, one key, {rate:,} rpm ({per_second_rate:g}/s), burst {burst}, {seconds:g} s"
    )
    print(f"  attempts={result['attempts']:,} admitted={result['admitted']:,} errors={result['errors']}")
    for clock, counted in (
        ("database clock (limiter)", result),
        ("client clock (answers)", result["client"]),
    ):
        print(f"  {clock}: longest gap between admissions {counted['max_gap_ms']:.0f} ms")
        for window in (1, 5):
            steady = steady_windows(counted["per_second"], per_second_rate, burst, window)
            off = outside(steady, per_second_rate * window)
            if steady:
                print(
                    f"    per {window}-s window after the burst ({len(steady)}): min={min(steady)}"
                    f" max={max(steady)} outside 0.98x-1.02x: {len(off)} {off[:10]}"
                )
        expected = burst + per_second_rate * counted["span_seconds"]
        print(
            f"    whole run: admitted {counted['admitted']:,} vs burst + rate x span {expected:,.0f}"
            f" = {counted['admitted'] / expected:.4f}x"
        )
        if counted["span_seconds"] >= 60:
            first_minute = counted["per_minute"][0]
            print(
                f"    first 60-s window: {first_minute:,} vs {rate + burst:,} = {first_minute / (rate + burst):.4f}x"
            )
        print(f"    1-s windows: {counted['per_second']}")
    moved = stalls(result["decisions"], 1 / per_second_rate)
    undisturbed = steady_windows(result["per_second"], per_second_rate, burst, 1, moved)
    off = outside(undisturbed, per_second_rate)
    print(
        f"  database clock, 1-s windows no stall of the clients crossed ({len(moved)} stalls over"
        f" {1000 / per_second_rate:.0f} ms): {len(undisturbed)} windows, min={min(undisturbed, default=0)}"
        f" max={max(undisturbed, default=0)} outside 0.98x-1.02x: {len(off)} {off[:10]}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--accuracy-seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, default=3000, help="requests per minute in the accuracy run")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--skip", choices=["overhead", "accuracy"])
    args = parser.parse_args()
    with bench_database(DATABASE, REPO, MAX_CONNECTIONS) as owner_url:
        migrate(owner_url)
        app_url = app_role_url(owner_url)
        db = Database(app_url)
        settings = Settings(jwt_issuer="https://auth.bench", jwt_audience="cmp-bench")
        services = bootstrap(settings, db=db, widget_token_key=lambda: "bench", jwt_secret=lambda: "b" * 40)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        if args.skip != "overhead":
            overhead(services, db, args.calls)
        if args.skip != "accuracy":
            accuracy(services, db, app_url, args.accuracy_seconds, args.rate, args.clients)
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        db.close()


if __name__ == "__main__":
    main()
