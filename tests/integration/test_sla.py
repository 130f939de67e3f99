"""SLA monitoring against moto's CloudWatch and the real database: runtime metrics as the gateway prints
them (EMF, turned into PutMetricData by the local stack's extractor), the evaluator storing the period's
figures and announcing a burn-rate alert once per episode, and `GET /v1/subscriptions/{id}/sla` for the
owning buyer only (another organization: 404; a shared subscription: 409)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from cmp.aws.clients import client
from cmp.sla.cloudwatch import CloudWatchMetrics
from cmp.sla.metrics import ERRORS, LATENCY, NAMESPACE, REQUESTS, dimensions, record_call, within_metric
from cmp.sla.services import ALERT_DETAIL_TYPE, SlaEvaluator
from cmp.sla.targets import LATENCY_BOUNDS_MS
from cmp_dev.local.emf import put_document
from tests.fakes import FixedClock
from tests.subscriptions import subscribe

from .commerce_support import call
from .conftest import Platform, caller_of

pytestmark = pytest.mark.integration
ENTERPRISE = {
    "id": "plan_enterprise",
    "name": "Enterprise",
    "tier": "enterprise",
    "runtimeType": "dedicated",
    "sla": {"availability": 99.9, "latencyP95Ms": 500},
}


def emf(
    tenant: uuid.UUID, subscription: uuid.UUID, at: datetime, requests: int, errors: int, fast: int
) -> dict[str, Any]:
    """An EMF document with one minute's counts, shaped as `cmp.sla.metrics.record_call` prints them."""
    counts = {REQUESTS: requests, ERRORS: errors, LATENCY: 120.0}
    counts.update({within_metric(b): fast if b >= 500 else 0 for b in LATENCY_BOUNDS_MS})
    return {
        "_aws": {
            "Timestamp": int(at.timestamp() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": NAMESPACE,
                    "Dimensions": [["tenant", "subscription", "service"]],
                    "Metrics": [{"Name": name, "Unit": "Count"} for name in counts],
                }
            ],
        },
        **dimensions(tenant, subscription),
        **{name: [float(value)] for name, value in counts.items()},
    }


@pytest.fixture
def dedicated(platform: Platform, owner_conn: psycopg.Connection[Any]) -> dict[str, Any]:
    services, auth = (
        platform.function("CommerceApiFunction").services,
        platform.function("AuthApiFunction").services,
    )
    buyer, other = caller_of(auth, "Sla Buyer", "buyer"), caller_of(auth, "Sla Other", "buyer")
    sub = subscribe(services.db, buyer["tenant_id"], plan=ENTERPRISE)
    shared = subscribe(services.db, buyer["tenant_id"])
    owner_conn.execute("update subscriptions set runtime_type = 'dedicated' where id = %s", (sub.id,))
    return {"services": services, "buyer": buyer, "other": other, "sub": sub, "shared": shared}


def test_an_outage_pages_once_per_episode_and_the_buyer_sees_the_period(
    platform: Platform, dedicated: dict[str, Any], owner_conn: psycopg.Connection[Any]
) -> None:
    """72 hours of clean traffic (60,000 calls an hour), then an hour at 1,000 calls a minute with
    15 failing (burn rate 15): only the 1 h / 5 min page fires (over 6 h the burn is 2.5)."""
    sub, buyer = dedicated["sub"], dedicated["buyer"]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    cloudwatch = client("cloudwatch")
    outage_start = now - timedelta(hours=1)
    for hour in range(1, 72):
        at = outage_start - timedelta(hours=hour)
        put_document(cloudwatch, emf(sub.tenant_id, sub.id, at, 60_000, 0, 60_000))
    for minute in range(60):
        at = outage_start + timedelta(minutes=minute)
        put_document(cloudwatch, emf(sub.tenant_id, sub.id, at, 1000, 15, 985))
    uow = dedicated["services"].unit_of_work
    evaluator = SlaEvaluator(uow, CloudWatchMetrics(), FixedClock(now), "default")

    assert evaluator.evaluate(sub.tenant_id, sub.id) == 1
    assert evaluator.evaluate(sub.tenant_id, sub.id) == 0  # still firing: the same episode
    events = owner_conn.execute(
        "select payload from outbox where tenant_id = %s and name = %s", (sub.tenant_id, ALERT_DETAIL_TYPE)
    ).fetchall()
    assert len(events) == 1
    detail = events[0][0]
    assert detail["subscription_id"] == str(sub.id) and detail["name"] == "1h/5m"
    assert detail["severity"] == "page" and detail["short_burn_rate"] == pytest.approx(15.0)
    assert detail["long_window_seconds"] == 3600 and detail["short_window_seconds"] == 300

    status, sla = call(platform, "GET", f"/v1/subscriptions/{sub.id}/sla", buyer)
    assert status == 200, sla
    assert sla["errors"] == 900 and sla["requests"] > 1_000_000
    budget = sla["error_budget"]
    assert budget["total_requests"] == pytest.approx(sla["requests"] / 1000)
    assert budget["left_requests"] == pytest.approx(budget["total_requests"] - 900)
    assert sla["availability"]["met"] is True  # 900 failures in over a million calls
    assert sla["latency"]["within_target"] == sla["requests"] - 900 and sla["latency"]["met"] is True
    assert sla["targets"] == {"availability": 99.9, "latency_p95_ms": 500, "latency_percentile": 95.0}
    assert [(i["kind"], i["start"], i["duration_seconds"], i["ongoing"]) for i in sla["incidents"]] == [
        ("availability", outage_start.isoformat(), 3600, True)
    ]
    assert [a["name"] for a in sla["alerts"]] == ["1h/5m"]
    assert sla["evaluated_at"] == now.isoformat()

    later = now + timedelta(minutes=10)  # ten clean minutes: the short window recovers, the page stops
    for minute in range(10):
        put_document(cloudwatch, emf(sub.tenant_id, sub.id, now + timedelta(minutes=minute), 1000, 0, 1000))
    recovered = SlaEvaluator(uow, CloudWatchMetrics(), FixedClock(later), "default")
    assert recovered.evaluate(sub.tenant_id, sub.id) == 0
    row = owner_conn.execute(
        "select firing from sla_periods where subscription_id = %s", (sub.id,)
    ).fetchone()
    assert row is not None and row[0] == []
    for minute in range(10, 20):  # a second outage: a new episode, announced again
        put_document(cloudwatch, emf(sub.tenant_id, sub.id, now + timedelta(minutes=minute), 1000, 200, 800))
    again = SlaEvaluator(uow, CloudWatchMetrics(), FixedClock(now + timedelta(minutes=20)), "default")
    assert again.evaluate(sub.tenant_id, sub.id) >= 1
    count = owner_conn.execute(
        "select count(*) from outbox where tenant_id = %s and name = %s and payload->>'name' = '1h/5m'",
        (sub.tenant_id, ALERT_DETAIL_TYPE),
    ).fetchone()
    assert count is not None and count[0] == 2


def test_the_gateway_metrics_reach_the_evaluator(
    platform: Platform, dedicated: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    """What `record_call` prints, extracted as CloudWatch Logs would, is what the evaluator counts."""
    sub = dedicated["sub"]
    record_call(sub.tenant_id, sub.id, 120.0, error=False)
    record_call(sub.tenant_id, sub.id, 900.0, error=False)  # slower than the plan's 500 ms
    record_call(sub.tenant_id, sub.id, 5.0, error=True)
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    cloudwatch = client("cloudwatch")
    for line in lines:
        put_document(cloudwatch, line)
    assert len(lines) == 3, lines
    now = datetime.now(UTC) + timedelta(minutes=1)
    evaluator = SlaEvaluator(
        dedicated["services"].unit_of_work, CloudWatchMetrics(), FixedClock(now), "default"
    )
    assert evaluator.evaluate(sub.tenant_id, sub.id) == 4  # 1 failure in 3 calls: every window burns
    report = evaluator.run()  # every watched subscription of the database, this one again
    assert report["errors"] == 0 and report["evaluated"] >= 1
    _, sla = call(platform, "GET", f"/v1/subscriptions/{sub.id}/sla", dedicated["buyer"])
    assert (
        sla["requests"],
        sla["errors"],
        sla["latency"]["successful"],
        sla["latency"]["within_target"],
    ) == (
        3,
        1,
        2,
        1,
    )


def test_only_the_owning_buyer_sees_a_dedicated_subscriptions_sla(
    platform: Platform, dedicated: dict[str, Any]
) -> None:
    sub, shared = dedicated["sub"], dedicated["shared"]
    status, before = call(platform, "GET", f"/v1/subscriptions/{sub.id}/sla", dedicated["buyer"])
    assert status == 200 and before["evaluated_at"] is None and before["requests"] == 0
    assert before["availability"] == {"attainment": None, "met": True}
    status, body = call(platform, "GET", f"/v1/subscriptions/{sub.id}/sla", dedicated["other"])
    assert status == 404, body
    status, body = call(platform, "GET", f"/v1/subscriptions/{shared.id}/sla", dedicated["buyer"])
    assert status == 409 and "shared runtime" in body["message"]
    status, body = call(platform, "GET", f"/v1/subscriptions/{shared.id}/sla", dedicated["other"])
    assert status == 404
