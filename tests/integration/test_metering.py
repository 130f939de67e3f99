"""Exactly-once usage recording, late events and the roll-up, against the real database."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest

from cmp.db import Database
from cmp.metering.model import UsageEvent
from cmp.metering.services import UsageRollupJob
from tests.fakes import FixedClock
from tests.subscriptions import subscribe

from .commerce_support import new_tenant


def event(subscription_id: uuid.UUID, at: datetime, key: str | None = None, **kw: Any) -> UsageEvent:
    return UsageEvent(
        subscription_id=subscription_id,
        metric=kw.pop("metric", "messages"),
        quantity=kw.pop("quantity", 1),
        occurred_at=at,
        idempotency_key=key or uuid.uuid4().hex,
        **kw,
    )


def record(db: Database, tenant: uuid.UUID, usage: UsageEvent) -> bool:
    with db.unit_of_work(tenant) as uow:
        new = bool(uow.usage.record(usage))
        uow.commit()
    return new


def totals(owner: psycopg.Connection[Any], subscription_id: uuid.UUID) -> dict[tuple[datetime, bool], int]:
    rows = owner.execute(
        "select period_start, adjustment, sum(quantity) from usage_rollups where subscription_id = %s"
        " group by 1, 2",
        (subscription_id,),
    ).fetchall()
    return {(r[0], r[1]): int(r[2]) for r in rows}


def test_a_key_counts_once_and_a_rolled_back_claim_is_released(db: Database) -> None:
    tenant = uuid.UUID(new_tenant(db, "Buyer"))
    sub = subscribe(db, tenant)
    at = sub.current_period_start + timedelta(hours=1)
    with db.unit_of_work(tenant) as uow:
        assert uow.usage.record(event(sub.id, at, "req-1"))
        # no commit: the work failed, so the claim goes with it
    assert record(db, tenant, event(sub.id, at, "req-1")) is True
    assert record(db, tenant, event(sub.id, at, "req-1", quantity=5)) is False
    with db.session(tenant, read_only=True) as session:
        rows = session.fetch_all("select quantity, period_start, adjustment from usage_records")
    assert [(r["quantity"], r["period_start"], r["adjustment"]) for r in rows] == [
        (1, sub.current_period_start, False)
    ]


def test_another_tenant_cannot_meter_a_subscription_it_does_not_hold(db: Database) -> None:
    from cmp.errors import NotFound

    sub = subscribe(db, new_tenant(db, "Buyer"))
    with db.unit_of_work(new_tenant(db, "Other")) as uow, pytest.raises(NotFound):
        uow.usage.record(event(sub.id, sub.current_period_start))


def test_the_roll_up_is_idempotent_and_a_late_event_becomes_an_adjustment(
    db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    tenant = uuid.UUID(new_tenant(db, "Buyer"))
    sub = subscribe(db, tenant)
    start, end = sub.current_period_start, sub.current_period_end
    for n in range(5):
        assert record(db, tenant, event(sub.id, start + timedelta(minutes=n)))
    clock = FixedClock(start + timedelta(hours=2))
    job = UsageRollupJob(db.unit_of_work, clock)
    first = job.run()
    assert first["records"] >= 5 and first["errors"] == 0
    assert job.run()["records"] == 0  # nothing new: running again adds nothing
    assert totals(owner_conn, sub.id) == {(start, False): 5}
    # The subscription renews; the old period ends, and after the grace the roll-up closes it.
    with db.unit_of_work(tenant) as uow:
        held = uow.subscriptions.get(sub.id, for_update=True)
        held.advance(end, end + timedelta(days=30))
        uow.subscriptions.save(held)
        uow.commit()
    assert record(db, tenant, event(sub.id, end - timedelta(seconds=1)))  # still open: its own period
    clock.current = end + timedelta(hours=2)
    job.run()
    late = event(sub.id, end - timedelta(minutes=1))
    assert record(db, tenant, late)
    assert not record(db, tenant, late)
    job.run()
    assert totals(owner_conn, sub.id) == {(start, False): 6, (end, True): 1}
    with db.session(tenant, read_only=True) as session:
        [closed] = session.fetch_all(
            "select closed_at from usage_periods where subscription_id = %s and period_start = %s",
            (sub.id, start),
        )
    assert closed["closed_at"] is not None


def test_an_event_after_the_period_end_lands_in_the_next_period(db: Database) -> None:
    tenant = uuid.UUID(new_tenant(db, "Buyer"))
    sub = subscribe(db, tenant)
    end = sub.current_period_end
    assert record(db, tenant, event(sub.id, end + timedelta(minutes=5)))
    with db.session(tenant, read_only=True) as session:
        [row] = session.fetch_all("select period_start, adjustment from usage_records")
        periods = session.fetch_all("select period_start, period_end from usage_periods order by 1")
    assert (row["period_start"], row["adjustment"]) == (end, False)
    assert [p["period_start"] for p in periods] == [sub.current_period_start, end]
    assert periods[1]["period_end"] - periods[1]["period_start"] == end - sub.current_period_start


def test_a_call_meters_its_api_call_and_compute_time_once_however_often_it_is_retried(db: Database) -> None:
    """`CallMeter.record` writes `api_calls` and `compute_ms` in one transaction, keyed by the call: a retry
    (or a re-delivered request) with the same key writes neither again, even with another duration."""
    from cmp.metering.calls import CallMeter

    tenant = uuid.UUID(new_tenant(db, "Buyer"))
    sub = subscribe(db, tenant)
    started = sub.current_period_start + timedelta(hours=1)
    clock = FixedClock(started + timedelta(milliseconds=1234, microseconds=600))
    meter = CallMeter(db.unit_of_work, clock)
    assert meter.record(tenant, sub.id, None, "req-42", started) is True
    assert meter.record(tenant, sub.id, None, "req-42", started - timedelta(seconds=9)) is False
    assert meter.record(tenant, sub.id, None, "req-43", started + timedelta(seconds=5)) is True
    with db.session(tenant, read_only=True) as session:
        rows = session.fetch_all(
            "select metric, quantity, dedup_key from usage_records order by metric, dedup_key"
        )
    assert [(r["metric"], r["quantity"], r["dedup_key"]) for r in rows] == [
        ("api_calls", 1, "call:req-42"),
        ("api_calls", 1, "call:req-43"),
        ("compute_ms", 1234, "compute:req-42"),
        ("compute_ms", 0, "compute:req-43"),  # a start after the clock's now counts 0, never negative
    ]
