"""Ports: the Protocols services depend on for everything outside the process.

The adapters in `cmp.aws` (and `cmp.system` for the clock and ids) implement them; `bootstrap()` is the only
place that picks an implementation; unit tests pass the in-memory fakes of `tests/fakes.py`. Every adapter
turns vendor errors into `cmp.errors`-style domain errors (`AwsUnavailable`, `TaskTokenGone`), so services
never see a botocore exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


class ObjectStorage(Protocol):
    """An S3-like object store. Keys are full object keys; buckets are names."""

    def presigned_post(
        self, bucket: str, key: str, content_type: str, max_bytes: int, expires_in: int = 900
    ) -> dict[str, Any]:
        """A browser upload form `{"url", "fields"}` whose policy pins the type and caps the size."""
        ...

    def presigned_get(
        self,
        bucket: str,
        key: str,
        expires_in: int = 3600,
        response_headers: Mapping[str, str] | None = None,
    ) -> str:
        """A time-limited download URL; `response_headers` are S3's response overrides
        (`ResponseContentType`, `ResponseContentDisposition`, …) the URL carries, signed."""
        ...

    def head(self, bucket: str, key: str) -> dict[str, Any] | None:
        """The object's metadata (`ContentType`, `ContentLength`), or None when it does not exist."""
        ...

    def read_prefix(self, bucket: str, key: str, length: int) -> bytes:
        """The first `length` bytes of the object (for signature checks); b"" when it does not exist."""
        ...

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        """Store an object (replacing one of the same key)."""
        ...

    def delete(self, bucket: str, key: str) -> None:
        """Delete an object; deleting one that does not exist is not an error (S3 semantics)."""
        ...


class MessageQueue(Protocol):
    """An SQS-like queue addressed by URL. Bodies are JSON objects; attributes are string-valued."""

    def send(
        self,
        queue_url: str,
        body: dict[str, Any],
        attributes: dict[str, str] | None = None,
    ) -> str:
        """Enqueue one message and return its id."""
        ...

    def send_raw(self, queue_url: str, body: str, attributes: dict[str, str]) -> None:
        """Enqueue a body as it is (dead-lettering keeps the original bytes)."""
        ...


class StateMachineRunner(Protocol):
    """Step Functions: start executions by name (starting a name twice is a no-op) and answer task tokens."""

    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        """Start (or find) the execution called `name`; returns its ARN."""
        ...

    def task_succeeded(self, token: str, output: dict[str, Any]) -> None:
        """Report a callback task's output; raises `TaskTokenGone` when nothing waits for it any more."""
        ...

    def task_failed(self, token: str, error: str, cause: str) -> None:
        """Fail a callback task; raises `TaskTokenGone` when nothing waits for it any more."""
        ...


class EventBus(Protocol):
    """EventBridge-like events: `source` and `detail_type` route, `detail` is the JSON payload."""

    def put(self, bus_name: str, source: str, detail_type: str, detail: dict[str, Any]) -> str:
        """Publish one event; returns its id."""
        ...


class Schedules(Protocol):
    """EventBridge Scheduler-like schedules, upserted and deleted by name (both idempotent)."""

    def put(
        self,
        name: str,
        expression: str,
        target_arn: str,
        role_arn: str,
        payload: dict[str, Any],
        timezone: str = "UTC",
        enabled: bool = True,
    ) -> None:
        """Create or replace the schedule `name` (`rate(…)`, `cron(…)` or `at(…)` expression)."""
        ...

    def delete(self, name: str) -> None:
        """Delete the schedule; deleting one that does not exist is not an error."""
        ...


class SecretReader(Protocol):
    def get(self, secret_id: str) -> str:
        """The secret's string value (cached per process)."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> UUID:
        """A fresh unique id."""
        ...
