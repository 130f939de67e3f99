"""Fair queuing on real PostgreSQL and moto SQS: one tenant's flood of 500 jobs does not delay another
tenant's 10, a tenant never has more than its plan's share in flight, a higher plan gets a larger share, and a
job whose finish is never reported frees its slot when its lease ends."""

from __future__ import annotations

from typing import Any

import psycopg

from cmp.aws.clients import client
from cmp.bootstrap import Services
from cmp.db import Database
from cmp.db.outbox import FAIR_SHARES
from tests.fair_load import Consumers, depth, enqueue, tenant_on_plan


def _queue(name: str) -> str:
    return str(client("sqs").create_queue(QueueName=name)["QueueUrl"])


def test_a_flood_of_500_jobs_does_not_delay_another_tenants_10(services: Services, db: Database) -> None:
    url = _queue("fair-flood")
    flooder, quiet = tenant_on_plan(db, "starter"), tenant_on_plan(db, "starter")
    enqueue(services, flooder, url, 500)
    assert depth(url) == FAIR_SHARES["starter"]  # the other 498 wait in the outbox, not in the queue
    enqueue(services, quiet, url, 10)
    assert depth(url) == 2 * FAIR_SHARES["starter"]

    with Consumers(services, url, workers=1, work_seconds=0) as consumers:
        consumers.wait_for(30, timeout=60)
    order = [s.tenant for s in consumers.started]
    last_quiet = max(i for i, tenant in enumerate(order) if tenant == quiet)
    # Alone, the quiet tenant's 10 jobs take 10 turns; beside the flood they alternate with its jobs:
    # at most one flood job per quiet job, plus the flood's share already queued ahead.
    assert order.count(quiet) == 10
    assert last_quiet < 2 * 10 + FAIR_SHARES["starter"], order
    assert [s.n for s in consumers.started if s.tenant == quiet] == list(range(10))  # oldest first


def test_each_tenant_has_at_most_its_plans_share_in_flight_and_a_higher_plan_gets_more(
    services: Services, db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    url = _queue("fair-plans")
    starter, pro = tenant_on_plan(db, "starter"), tenant_on_plan(db, "pro")
    enqueue(services, starter, url, 50)
    enqueue(services, pro, url, 50)
    assert depth(url) == FAIR_SHARES["starter"] + FAIR_SHARES["pro"]

    in_flight: dict[str, int] = {starter: 0, pro: 0}
    with Consumers(services, url, workers=3, work_seconds=0.01) as consumers:
        while len(consumers.started) < 60:
            for name, n in owner_conn.execute(
                "select name, count(*) from outbox where target = %s and released_at is not null"
                " and done_at is null group by name",
                (url,),
            ).fetchall():
                in_flight[name] = max(in_flight[name], n)
        consumers.wait_for(60, timeout=60)
    assert in_flight == {starter: FAIR_SHARES["starter"], pro: FAIR_SHARES["pro"]}
    first = [s.tenant for s in consumers.started[:30]]
    assert first.count(pro) > first.count(starter)  # pro's share is larger: more of its jobs run


def test_a_job_never_reported_finished_frees_its_slot_when_its_lease_ends(
    services: Services, db: Database, owner_conn: psycopg.Connection[Any]
) -> None:
    url = _queue("fair-lease")
    tenant = tenant_on_plan(db, "starter")
    enqueue(services, tenant, url, 5)
    assert depth(url) == FAIR_SHARES["starter"]
    assert services.outbox_relay.sweep(older_than_seconds=0).sent == 0  # slots taken, none released

    owner_conn.execute(
        "update outbox set released_at = now() - interval '2 hours' where tenant_id = %s and not held",
        (tenant,),
    )  # the consumers died an hour past the lease
    assert services.outbox_relay.sweep(older_than_seconds=0).sent == FAIR_SHARES["starter"]
    assert depth(url) == 2 * FAIR_SHARES["starter"]
