"""Time to first token and total time of one chat turn: WebSocket (`ws://…/ws`, docs/websocket.md) against
REST with server-sent events (`POST /v1/agents/{id}/chat`, `Accept: text/event-stream`), same question.

Starts its own local stack under `.local/bench-ws` (embedded PostgreSQL, moto, every function through the
local runner, as `make run`), seeds the demo data (the TechCorp agent with its indexed knowledge and an API
key), warms both transports with one turn each, then asks the same question `--turns` times on each,
alternating. Per turn:
- REST: time from sending the request to the first `event: token` bytes of the body (time to first token)
  and to the end of the body (total). API Gateway REST and Lambda's Python runtime buffer the response, and
  so does the runner: the first token arrives with the last.
- WebSocket: on one connection opened beforehand (its handshake, `$connect`, is reported apart), time from
  sending the message to the first `token` frame and to the `done` frame.

Each turn is a new conversation (no session), so both answer from the same context; every turn is metered.
The extractive answerer (the offline default) produces its answer at once, in pieces: the first-token gap
shows the transport, not a model's generation speed.

    .venv/bin/python bench/ws_vs_rest.py [--turns 10]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "shared"))
sys.path.insert(0, str(REPO / "dev"))
LOCAL = REPO / ".local" / "bench-ws"


def rest_turn(client: Any, url: str, key: str, question: str) -> tuple[float, float]:
    """(seconds to the first token event, seconds to the end) of one SSE chat turn."""
    started = time.perf_counter()
    first = None
    headers = {"Authorization": f"Bearer {key}", "Accept": "text/event-stream"}
    with client.stream("POST", url, headers=headers, json={"message": question}) as response:
        assert response.status_code == 200, response.read()
        for chunk in response.iter_bytes():
            if first is None and b"event: token" in chunk:
                first = time.perf_counter() - started
    total = time.perf_counter() - started
    return first if first is not None else total, total


def ws_turn(ws: Any, question: str) -> tuple[float, float]:
    """(seconds to the first token frame, seconds to the done frame) of one WebSocket chat turn."""
    started = time.perf_counter()
    ws.send(json.dumps({"action": "chat", "message": question}))
    first = None
    while True:
        frame = json.loads(ws.recv(timeout=60))
        if frame["type"] == "token" and first is None:
            first = time.perf_counter() - started
        if frame["type"] != "token":
            assert frame["type"] == "done", frame
            total = time.perf_counter() - started
            return first if first is not None else total, total


def summary(name: str, samples: list[tuple[float, float]]) -> str:
    firsts, totals = [s[0] * 1000 for s in samples], [s[1] * 1000 for s in samples]
    return (
        f"| {name} | {statistics.median(firsts):.0f} | {max(firsts):.0f} | {statistics.median(totals):.0f} |"
        f" {max(totals):.0f} |"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=10, help="timed turns per transport (default 10)")
    args = parser.parse_args(argv)

    import httpx
    from websockets.sync.client import connect

    from cmp.aws.clients import client as aws_client
    from cmp.bootstrap import bootstrap
    from cmp_dev.local.dev import start_stack
    from cmp_dev.seed import seed

    shutil.rmtree(LOCAL, ignore_errors=True)
    stack = start_stack(REPO, LOCAL)
    try:
        os.environ.update(stack.combined_environment())
        aws_client.cache_clear()
        agent = seed(bootstrap())["demo_agent"]
        subscription, key, question = agent["subscription_id"], agent["api_key"], agent["question"]
        url = f"{stack.runner.base_url}/v1/agents/{subscription}/chat"
        ws_url = f"{stack.runner.websocket_url}?subscription_id={subscription}&api_key={key}"
        rest: list[tuple[float, float]] = []
        socket: list[tuple[float, float]] = []
        with httpx.Client(timeout=60) as http:
            started = time.perf_counter()
            ws = connect(ws_url)
            handshake = time.perf_counter() - started
            try:
                rest_turn(http, url, key, question)  # warm both transports' functions
                ws_turn(ws, question)
                for _ in range(args.turns):
                    rest.append(rest_turn(http, url, key, question))
                    socket.append(ws_turn(ws, question))
            finally:
                ws.close()
    finally:
        stack.stop()
    print(f"question: {question!r}; {args.turns} turns per transport; load average {os.getloadavg()[0]:.1f}")
    print(f"WebSocket handshake ($connect, key checked, connection stored): {handshake * 1000:.0f} ms\n")
    print("| transport | first token, median (ms) | first token, max | total, median (ms) | total, max |")
    print("|---|---|---|---|---|")
    print(summary("REST + SSE (buffered)", rest))
    print(summary("WebSocket", socket))
    return 0


if __name__ == "__main__":
    sys.exit(main())
