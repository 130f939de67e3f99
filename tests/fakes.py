"""In-memory fakes of the ports (`cmp.ports`) and of the unit of work, for unit tests without sockets.

Each fake records what it was asked to do, so a test asserts on behaviour (`queues.sent`), not on mocks.
Domain modules add their in-memory repositories beside their unit tests and pass them to `FakeUnitOfWork`.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cmp.aws.adapters import TaskTokenGone
from cmp.db.outbox import OutboxMessage


class FakeObjectStorage:
    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], tuple[bytes, str]] = {}

    def put(self, bucket: str, key: str, data: bytes, content_type: str) -> None:
        self.objects[(bucket, key)] = (data, content_type)

    def presigned_post(
        self, bucket: str, key: str, content_type: str, max_bytes: int, expires_in: int = 900
    ) -> dict[str, Any]:
        return {"url": f"https://{bucket}.s3.test/", "fields": {"key": key, "Content-Type": content_type}}

    def presigned_get(
        self,
        bucket: str,
        key: str,
        expires_in: int = 3600,
        response_headers: Mapping[str, str] | None = None,
    ) -> str:
        overrides = "".join(f"&{k}={v}" for k, v in (response_headers or {}).items())
        return f"https://{bucket}.s3.test/{key}?expires={expires_in}{overrides}"

    def head(self, bucket: str, key: str) -> dict[str, Any] | None:
        if (bucket, key) not in self.objects:
            return None
        data, content_type = self.objects[(bucket, key)]
        return {"ContentType": content_type, "ContentLength": len(data)}

    def read_prefix(self, bucket: str, key: str, length: int) -> bytes:
        return self.objects.get((bucket, key), (b"", ""))[0][:length]

    def delete(self, bucket: str, key: str) -> None:
        self.objects.pop((bucket, key), None)


class FakeQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.raw: list[tuple[str, str, dict[str, str]]] = []
        self.fail_next = 0

    def send(
        self,
        queue_url: str,
        body: dict[str, Any],
        attributes: dict[str, str] | None = None,
    ) -> str:
        if self.fail_next:
            self.fail_next -= 1
            from cmp.aws.adapters import AwsUnavailable

            raise AwsUnavailable("queue down (fake)")
        self.sent.append((queue_url, body, dict(attributes or {})))
        return f"msg-{len(self.sent)}"

    def send_raw(self, queue_url: str, body: str, attributes: dict[str, str]) -> None:
        self.raw.append((queue_url, body, attributes))


class FakeStateMachines:
    def __init__(self) -> None:
        self.executions: dict[str, tuple[str, dict[str, Any]]] = {}
        self.succeeded: list[tuple[str, dict[str, Any]]] = []
        self.failed: list[tuple[str, str, str]] = []
        self.gone_tokens: set[str] = set()

    def start(self, state_machine_arn: str, name: str, payload: dict[str, Any]) -> str:
        self.executions.setdefault(name, (state_machine_arn, payload))  # by name: a second start is a no-op
        return f"{state_machine_arn}:{name}"

    def task_succeeded(self, token: str, output: dict[str, Any]) -> None:
        if token in self.gone_tokens:
            raise TaskTokenGone("TaskTimedOut")
        self.succeeded.append((token, output))

    def task_failed(self, token: str, error: str, cause: str) -> None:
        if token in self.gone_tokens:
            raise TaskTokenGone("TaskTimedOut")
        self.failed.append((token, error, cause))


class FakeEventBus:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str, dict[str, Any]]] = []

    def put(self, bus_name: str, source: str, detail_type: str, detail: dict[str, Any]) -> str:
        self.events.append((bus_name, source, detail_type, detail))
        return f"evt-{len(self.events)}"


class FakeSchedules:
    def __init__(self) -> None:
        self.schedules: dict[str, dict[str, Any]] = {}

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
        self.schedules[name] = {
            "expression": expression,
            "target_arn": target_arn,
            "payload": payload,
            "timezone": timezone,
            "enabled": enabled,
        }

    def delete(self, name: str) -> None:
        self.schedules.pop(name, None)


class FakeSecrets:
    def __init__(self, values: dict[str, str] | None = None) -> None:
        self.values = dict(values or {})

    def get(self, secret_id: str) -> str:
        return self.values[secret_id]


@dataclass
class FixedClock:
    current: datetime = field(default_factory=lambda: datetime(2026, 1, 15, 12, 0, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, **delta: float) -> None:
        self.current += timedelta(**delta)


class SequentialIds:
    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def new_id(self) -> uuid.UUID:
        return uuid.UUID(int=next(self._counter))


class FakeOutbox:
    def __init__(self) -> None:
        self.added: list[OutboxMessage] = []

    def add(self, message: OutboxMessage) -> None:
        self.added.append(message)


class FakeUnitOfWork:
    """Holds the in-memory repositories given as keyword arguments; `commit()` delivers the outbox to
    `delivered` (as the real relay would) and counts commits; leaving without commit discards the outbox."""

    def __init__(self, tenant_id: str | None = None, **repositories: Any) -> None:
        self.tenant_id = tenant_id
        self.outbox = FakeOutbox()
        self.commits = 0
        self.delivered: list[OutboxMessage] = []
        for name, repository in repositories.items():
            setattr(self, name, repository)

    def set_tenant(self, tenant_id: uuid.UUID | str) -> None:
        self.tenant_id = str(tenant_id)

    def set_user(self, user_id: uuid.UUID | str) -> None:
        pass

    def commit(self) -> None:
        self.commits += 1
        self.delivered.extend(self.outbox.added)
        self.outbox.added = []

    def rollback(self) -> None:
        self.outbox.added = []


class FakeUnitOfWorkFactory:
    """`uow_factory(tenant_id)` as services call it; every unit of work shares the same repositories, so
    what one commits the next sees (tests assert on `factory.delivered` and the repositories)."""

    def __init__(self, **repositories: Any) -> None:
        self.repositories = repositories
        self.delivered: list[OutboxMessage] = []
        self.tenants: list[str | None] = []

    @contextmanager
    def __call__(self, tenant_id: uuid.UUID | str | None = None) -> Iterator[FakeUnitOfWork]:
        uow = FakeUnitOfWork(str(tenant_id) if tenant_id is not None else None, **self.repositories)
        self.tenants.append(uow.tenant_id)
        yield uow
        self.delivered.extend(uow.delivered)
