"""Local runner overhead per API call, and cold import time per function module.

Prints p50/p99 over 1,000 calls for three paths to the same handler:
  handler    — the handler called in-process (the work itself),
  process    — through the runner's per-function process (pipe + event),
  http       — end to end over HTTP (server, routing, authorizer with its cache, process).
Then `python -X importtime` cumulative import time of each function module (a cold start's import cost).

Run: .venv/bin/python bench/runner_overhead.py  (starts its own stack under .local/bench)
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "shared"))

from cmp_dev.local import events  # noqa: E402
from cmp_dev.local.dev import start_stack  # noqa: E402
from cmp_dev.local.functions import LambdaContext, load_handler  # noqa: E402

CALLS = int(os.environ.get("BENCH_CALLS", "1000"))


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def timed(call: Callable[[], object]) -> list[float]:
    for _ in range(20):
        call()
    samples = []
    for _ in range(CALLS):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    return samples


def import_times() -> dict[str, float]:
    """Cumulative import time (ms) of each handler module, in a fresh interpreter each."""
    out: dict[str, float] = {}
    for folder in sorted((REPO / "functions").iterdir()):
        code = (
            f"import sys; sys.path.insert(0, {str(REPO / 'shared')!r}); sys.path.insert(0, {str(folder)!r});"
            " import app"
        )
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", code],
            capture_output=True,
            text=True,
            env={**os.environ, "AWS_DEFAULT_REGION": "us-east-1"},
            check=True,
        )
        line = next(x for x in result.stderr.splitlines() if re.search(r"\|\s+app$", x))
        out[folder.name] = int(line.split("|")[1]) / 1000
    return out


def main() -> None:
    stack = start_stack(REPO, REPO / ".local" / "bench")
    try:
        with httpx.Client(base_url=stack.runner.base_url, timeout=30) as api:
            token = api.post(
                "/v1/auth/signup",
                json={
                    "email": f"bench-{uuid.uuid4().hex[:8]}@example.com",
                    "password": "Correct-Horse-42",
                    "organization_name": "Bench",
                },
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            me_route = next(r for r in stack.template.routes if r.path == "/v1/me")
            authorizer = api.get("/v1/me", headers=headers)  # warms the authorizer cache
            assert authorizer.status_code == 200
            context = {
                "tenant_id": authorizer.json()["organization"]["id"],
                "user_id": authorizer.json()["user"]["id"],
                "roles": "owner",
                "session_id": "",
            }
            event = events.rest_event(
                me_route,
                "GET",
                "/v1/me",
                "",
                {"authorization": headers["Authorization"]},
                b"",
                {},
                context,
                "127.0.0.1",
            )
            fn = stack.template.functions[me_route.function]
            os.environ.update(stack.environment(me_route.function))
            module = load_handler(fn.code_dir, fn.module, "", "bench_auth_api")
            handler = getattr(module, fn.attribute)
            results = {
                "handler": timed(lambda: handler(event, LambdaContext("bench", 15))),
                "process": timed(lambda: stack.runner.functions[me_route.function].invoke(event)),
                "http": timed(lambda: api.get("/v1/me", headers=headers)),
            }
    finally:
        stack.stop()
    print(f"GET /v1/me, {CALLS} calls each (ms)")
    print(f"{'path':<10}{'p50':>8}{'p99':>8}")
    base = percentiles(results["handler"])[0]
    for name, samples in results.items():
        p50, p99 = percentiles(samples)
        print(f"{name:<10}{p50:>8.2f}{p99:>8.2f}   ×{p50 / base:.1f} of handler p50")
    print("\ncold import per function module (ms, python -X importtime, cumulative)")
    for name, ms in import_times().items():
        print(f"  {name:<20}{ms:>8.1f}")


if __name__ == "__main__":
    main()
