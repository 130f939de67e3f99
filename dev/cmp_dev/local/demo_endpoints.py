"""The runner's demo endpoints (`/demo/…`, not part of the platform's API): what the "Data Sync Automation"
demo workflow talks to (`cmp_dev.demo_sync`).

- `GET /demo/inventory`: a small inventory feed, `{"items": [{"sku", "name", "quantity", "price"}…]}`.
- `POST /demo/slack`: a Slack-style incoming webhook: records the JSON body's `text` and answers `ok`, as
  Slack does.
- `GET /demo/slack`: `{"messages": [{"text", "received_at"}…]}`, oldest first (the last `MAX_MESSAGES`),
  what the runner received since it started.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from typing import Any

PREFIX = "/demo/"
MAX_MESSAGES = 200
INVENTORY: tuple[dict[str, Any], ...] = (
    {"sku": "KB-100", "name": "Mechanical keyboard", "quantity": 42, "price": 89.0},
    {"sku": "MS-200", "name": "Wireless mouse", "quantity": 130, "price": 29.5},
    {"sku": "HD-300", "name": "Noise-cancelling headphones", "quantity": 17, "price": 199.0},
    {"sku": "CB-400", "name": "USB-C cable", "quantity": 500, "price": 9.99},
)

Answer = tuple[int, dict[str, str], bytes]


class DemoEndpoints:
    """The demo feed and the Slack-style sink, in the runner's memory (thread-safe)."""

    def __init__(self) -> None:
        self._messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def handle(self, method: str, path: str, body: bytes) -> Answer:
        """Answer a request under `/demo/`; 404 for another path, 405 for another method."""
        name = path.removeprefix(PREFIX)
        if name == "inventory":
            return _json(200, {"items": list(INVENTORY)}) if method in ("GET", "HEAD") else _method("GET")
        if name == "slack":
            if method == "POST":
                return self._post(body)
            if method in ("GET", "HEAD"):
                with self._lock:
                    return _json(200, {"messages": list(self._messages)})
            return _method("GET, POST")
        return _json(404, {"error": "not_found", "message": f"no demo endpoint {path}"})

    def _post(self, body: bytes) -> Answer:
        try:
            payload = json.loads(body or b"{}")
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("text"), str):
            return 400, {"Content-Type": "text/plain"}, b"invalid_payload"
        with self._lock:
            self._messages.append({"text": payload["text"], "received_at": datetime.now(UTC).isoformat()})
            del self._messages[:-MAX_MESSAGES]
        return 200, {"Content-Type": "text/plain"}, b"ok"


def _json(status: int, body: Any) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _method(allowed: str) -> Answer:
    return 405, {"Content-Type": "text/plain", "Allow": allowed}, b"method not allowed"
