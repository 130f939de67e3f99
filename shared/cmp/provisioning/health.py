"""The runtime health checker: every minute (`RuntimeHealthFunction`'s schedule) it probes each registered
dedicated runtime (`ready` or `down` in `runtime_endpoints`), counts the probes failed in a row, marks an
endpoint `down` at its `down_after`-th failure and `ready` again at its first answer, and announces each
transition once, through the outbox, as an EventBridge event (`runtime.down`, `runtime.recovered`, source
`cmp.runtime`). The gateway's router answers 503 `runtime_down` with `Retry-After` for a `down` endpoint
at once, without trying it (`cmp.gateway.routing`).

The probe is an invocation like the gateway's (`POST {url}/2015-03-31/functions/function/invocations`)
whose body is `HEALTH_EVENT` instead of an API Gateway event: the runtime's handler answers it without
touching the database (`health_answer`), naming the subscription it serves, so an address that now
answers for another runtime counts as a failure too.

    report = services.runtime_health.run()   # {"checked", "failed", "down", "recovered"}
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from cmp.db.outbox import OutboxMessage
from cmp.ports import Clock

if TYPE_CHECKING:
    from cmp.db.uow import UnitOfWorkFactory

HEALTH_EVENT: dict[str, Any] = {"cmp": "health"}
"""The probe's invocation body (never an API Gateway event: it has no `httpMethod`)."""
EVENT_SOURCE = "cmp.runtime"
DOWN_AFTER = 3
"""Failed probes in a row that mark a runtime down (three minutes at one probe a minute)."""
CONNECT_SECONDS = 2.0
READ_SECONDS = 5.0
PARALLEL_PROBES = 16

Probe = Callable[[str, uuid.UUID], "str | None"]
"""(base URL, subscription id) → None when the runtime answered as itself, else why not."""


def is_health_probe(event: dict[str, Any]) -> bool:
    """True for the checker's probe (`HEALTH_EVENT`)."""
    return event.get("cmp") == HEALTH_EVENT["cmp"]


def health_answer(subscription_id: str, product_version: str) -> dict[str, Any]:
    """The runtime's answer to a probe: a proxy response naming the subscription and version it serves."""
    body = {"status": "ok", "subscription_id": subscription_id, "product_version": product_version}
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


class HttpProbe:
    """`Probe` over HTTP (urllib3, imported on first use), 2 s to connect and 5 s to answer, on a new
    connection each time (a kept-alive one could outlive the listener it came from)."""

    def __init__(self) -> None:
        self._pool: Any = None

    def __call__(self, url: str, subscription_id: uuid.UUID) -> str | None:
        import urllib3

        from cmp.gateway.routing import INVOCATIONS

        if self._pool is None:
            self._pool = urllib3.PoolManager(
                maxsize=PARALLEL_PROBES,
                timeout=urllib3.Timeout(connect=CONNECT_SECONDS, read=READ_SECONDS),
                retries=False,
            )
        try:
            answer = self._pool.request(
                "POST",
                url.rstrip("/") + INVOCATIONS,
                body=json.dumps(HEALTH_EVENT).encode(),
                headers={"Content-Type": "application/json", "Connection": "close"},
            )
        except urllib3.exceptions.HTTPError as e:
            return f"unreachable: {type(e).__name__}"
        return _judge(answer.status, answer.data, subscription_id)


def _judge(status: int, data: bytes, subscription_id: uuid.UUID) -> str | None:
    try:
        result = json.loads(data)
        body = json.loads(result["body"]) if result.get("statusCode") == 200 else None
    except (ValueError, TypeError, KeyError, AttributeError):
        body = None
    if status != 200 or not isinstance(body, dict):
        return f"its health probe answered HTTP {status} without a health answer"
    if body.get("subscription_id") != str(subscription_id):
        return f"another runtime answers at its address ({body.get('subscription_id')})"
    return None


class RuntimeHealthCheck:
    """Probes the registered runtimes and records the outcome. `probe` is `HttpProbe()` in the platform;
    `event_bus` returns the EventBridge bus the transitions are sent to."""

    def __init__(
        self,
        uow: UnitOfWorkFactory,
        probe: Probe,
        clock: Clock,
        event_bus: Callable[[], str],
        down_after: int = DOWN_AFTER,
        batch: int = 1000,
    ) -> None:
        self._uow = uow
        self._probe = probe
        self._clock = clock
        self._event_bus = event_bus
        self._down_after = down_after
        self._batch = batch

    def run(self) -> dict[str, int]:
        """Probe every `ready` or `down` endpoint (up to `batch`, least recently checked first), in
        parallel, outside any transaction; then record each outcome in its tenant's transaction. Returns
        `{"checked", "failed", "down", "recovered"}` (endpoints probed, probes failed, transitions)."""
        with self._uow() as uow:
            found = uow.runtime_endpoints.to_check(self._batch)
        urls = {(tenant_id, subscription_id): url for tenant_id, subscription_id, url in found}
        with ThreadPoolExecutor(max_workers=PARALLEL_PROBES) as pool:
            failures = dict(
                zip(urls, pool.map(lambda key: self._probe(urls[key], key[1]), urls), strict=True)
            )
        report: Counter[str] = Counter(checked=len(failures), failed=0, down=0, recovered=0)
        for (tenant_id, subscription_id), failure in failures.items():
            report["failed"] += int(failure is not None)
            transition = self._record(tenant_id, subscription_id, failure)
            if transition is not None:
                report[transition.removeprefix("runtime.")] += 1
        return dict(report)

    def _record(self, tenant_id: uuid.UUID, subscription_id: uuid.UUID, failure: str | None) -> str | None:
        now = self._clock.now()
        with self._uow(tenant_id) as uow:
            endpoint = uow.runtime_endpoints.get(subscription_id, for_update=True)
            if endpoint is None:
                return None
            transition = endpoint.probed(failure, now, self._down_after)
            uow.runtime_endpoints.save(endpoint)
            if transition is not None:
                detail = {
                    "tenant_id": str(tenant_id),
                    "subscription_id": str(subscription_id),
                    "namespace": endpoint.namespace,
                    "url": endpoint.url,
                    "product_version": endpoint.product_version,
                    "reason": failure,
                    "consecutive_failures": endpoint.consecutive_failures,
                    "at": now.isoformat(),
                }
                uow.outbox.add(OutboxMessage.event(self._event_bus(), EVENT_SOURCE, transition, detail))
            uow.commit()
        return transition
