"""Local runner overhead per API call, with its spread over several rounds.

Prints p50/p99 over 1,000 calls (per round) for three paths to the same handler:
  handler    — the handler called in-process (the work itself),
  process    — through the runner's per-function process (pipe + event),
  http       — end to end over HTTP (server, routing, authorizer with its cache, process).
and the runner's own share, http p50 - handler p50, per round and as min-max over the rounds (`BENCH_ROUNDS`,
default 3): the handler's time is not the runner's. Cold starts are measured by bench/cold_start.py.

Run: .venv/bin/python bench/runner_overhead.py  (starts its own stack under .local/bench)
"""

from __future__ import annotations

import os
import statistics
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
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


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
            rounds = [
                {
                    "handler": timed(lambda: handler(event, LambdaContext("bench", 15))),
                    "process": timed(lambda: stack.runner.functions[me_route.function].invoke(event)),
                    "http": timed(lambda: api.get("/v1/me", headers=headers)),
                }
                for _ in range(ROUNDS)
            ]
    finally:
        stack.stop()
    own = []
    for number, results in enumerate(rounds, 1):
        print(f"round {number}: GET /v1/me, {CALLS} calls each (ms)")
        print(f"{'path':<10}{'p50':>8}{'p99':>8}")
        base = percentiles(results["handler"])[0]
        for name, samples in results.items():
            p50, p99 = percentiles(samples)
            print(f"{name:<10}{p50:>8.2f}{p99:>8.2f}   ×{p50 / base:.1f} of handler p50")
        own.append(percentiles(results["http"])[0] - base)
        print(f"runner's own share (http p50 − handler p50): {own[-1]:.2f} ms\n")
    print(
        f"runner's own share over {ROUNDS} rounds: {min(own):.2f}–{max(own):.2f} ms (median {statistics.median(own):.2f})"
    )


if __name__ == "__main__":
    main()
