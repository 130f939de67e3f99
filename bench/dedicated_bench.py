"""What routing to a dedicated runtime adds to a call: the runtime context route
(`GET /v1/runtime/{id}/context`, admitted by `Gateway.admit`) called for a shared-plan subscription (runs in
the function) and for a dedicated one (the function reads its endpoint, forwards the event over HTTP to
the runtime's own process, `cmp_dev.local.runtime_host` serving infra/runtime/app.py, which admits and
answers), interleaved call by call. Prints p50/p99 of each, what dedicated adds, and the endpoint lookup
alone.

Run: .venv/bin/python bench/dedicated_bench.py [--calls 1000]
(its own database `cmp_dedicated_bench` on the embedded server under .local/pg-bench, or BENCH_DATABASE_URL)
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
from aws_lambda_powertools import Logger  # noqa: E402
from tests.subscriptions import capabilities, subscribe  # noqa: E402

from cmp.bootstrap import Services, bootstrap  # noqa: E402
from cmp.config import Settings  # noqa: E402
from cmp.db import Database  # noqa: E402
from cmp.db.migrate import migrate  # noqa: E402
from cmp.gateway.context import RuntimeContext  # noqa: E402
from cmp.tenancy.credentials import ApiKeyRequest  # noqa: E402
from cmp.web.api import make_resolver  # noqa: E402
from cmp.web.forwarding import to_dedicated_runtime  # noqa: E402
from cmp.web.routes.runtime import router  # noqa: E402
from cmp_dev.bench_database import bench_database  # noqa: E402
from cmp_dev.local.functions import LambdaContext  # noqa: E402
from cmp_dev.local.stack import app_role_url  # noqa: E402

DATABASE = "cmp_dedicated_bench"
PLAN = {"id": "plan_bench", "name": "Bench", "tier": "pro", "limits": {"rateLimitRpm": 1_000_000}}


def context_of(services: Services, db: Database, tenant: uuid.UUID) -> RuntimeContext:
    """A subscription of `tenant` with an API key; the runtime authorizer's context for it."""
    subscription = subscribe(db, tenant, capabilities(interfaces={"api": {"enabled": True}}), plan=PLAN)
    secret = services.integration.create_api_key(
        str(tenant), None, subscription.id, ApiKeyRequest("bench")
    ).secret
    return services.runtime_authorizer.authorize(secret, None, None)


def event_of(ctx: RuntimeContext) -> dict[str, Any]:
    path = f"/v1/runtime/{ctx.subscription_id}/context"
    return {
        "resource": "/v1/runtime/{subscription_id}/context",
        "path": path,
        "httpMethod": "GET",
        "headers": {},
        "multiValueHeaders": {},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"subscription_id": str(ctx.subscription_id)},
        "body": None,
        "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": path,
            "httpMethod": "GET",
            "stage": "dev",
            "requestId": "bench",
            "authorizer": ctx.to_authorizer(),
        },
    }


def start_runtime(app_url: str, subscription_id: uuid.UUID) -> tuple[subprocess.Popen[bytes], str]:
    """The dedicated runtime's process for `subscription_id`; (process, its URL) once it answers."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": app_url,
        "CMP_RUNTIME": "dedicated",
        "CMP_SUBSCRIPTION_ID": str(subscription_id),
        "PORT": str(port),
        "POWERTOOLS_LOG_LEVEL": "ERROR",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "cmp_dev.local.runtime_host", str(REPO / "infra" / "runtime"), "app.handler"],
        env=env,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return process, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError("the dedicated runtime did not start")


def percentile(samples: list[float], q: int) -> float:
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    with bench_database(DATABASE, REPO) as owner_url:
        migrate(owner_url)
        app_url = app_role_url(owner_url)
        db = Database(app_url)
        settings = Settings(jwt_issuer="https://auth.bench", jwt_audience="cmp-bench")
        services = bootstrap(settings, db=db, widget_token_key=lambda: "bench", jwt_secret=lambda: "b" * 40)
        tenant = uuid.uuid4()
        with db.session(tenant) as session:
            session.execute(
                "insert into tenants (id, name, slug) values (%s, 'Bench', %s)", (tenant, f"b-{tenant}")
            )
        shared = context_of(services, db, tenant)
        dedicated_sub = context_of(services, db, tenant).subscription_id
        process, url = start_runtime(app_url, dedicated_sub)
        try:
            with psycopg.connect(owner_url, autocommit=True) as owner:
                owner.execute(
                    "update subscriptions set runtime_type = 'dedicated' where id = %s", (dedicated_sub,)
                )
                owner.execute(
                    "insert into runtime_endpoints (subscription_id, tenant_id, namespace, url, product_version,"
                    " state) values (%s, %s, %s, %s, '1.0.0', 'ready')",
                    (dedicated_sub, tenant, f"tenant-{tenant}", url),
                )
            dedicated = RuntimeContext(
                **{**shared.__dict__, "subscription_id": dedicated_sub, "runtime": "dedicated"}
            )
            app = make_resolver(Logger(service="bench", level="ERROR"), services)
            app.use(middlewares=[to_dedicated_runtime(services)])
            app.include_router(router)
            events = {"shared": event_of(shared), "dedicated": event_of(dedicated)}
            context: Any = LambdaContext("bench", 29)

            def call(kind: str) -> tuple[float, dict[str, Any]]:
                started = time.perf_counter()
                answer = app.resolve(json.loads(json.dumps(events[kind])), context)
                return (time.perf_counter() - started) * 1000, answer

            for _ in range(50):
                for kind in events:
                    _, answer = call(kind)
                    assert answer["statusCode"] == 200, answer
                    assert json.loads(answer["body"])["runtime"] == kind
            samples: dict[str, list[float]] = {"shared": [], "dedicated": []}
            print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
            for _ in range(args.calls):
                for kind in events:
                    elapsed, answer = call(kind)
                    assert answer["statusCode"] == 200, answer
                    samples[kind].append(elapsed)
            lookup = []
            for _ in range(args.calls):
                started = time.perf_counter()
                services.runtime_routing.endpoint(dedicated)
                lookup.append((time.perf_counter() - started) * 1000)
            print(f"runtime context route, {args.calls:,} calls each, interleaved")
            for kind, values in samples.items():
                print(
                    f"  {kind:<9} p50={percentile(values, 50):6.2f} ms  p99={percentile(values, 99):6.2f} ms"
                )
            print(
                f"  added by dedicated routing: p50={percentile(samples['dedicated'], 50) - percentile(samples['shared'], 50):6.2f} ms"
                f"  p99={percentile(samples['dedicated'], 99) - percentile(samples['shared'], 99):6.2f} ms"
            )
            print(
                f"  endpoint lookup alone: p50={percentile(lookup, 50):.2f} ms  p99={percentile(lookup, 99):.2f} ms"
            )
            print(f"load average after: {os.getloadavg()[0]:.1f}")
        finally:
            process.terminate()
            process.wait(10)
            db.close()


if __name__ == "__main__":
    main()
