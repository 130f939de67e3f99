"""Exactly-once under faults (issue 10, Metering): 10,000 distinct usage events delivered with random
duplicates by concurrent consumers that crash between steps (after the insert before the commit: the work
and its claim roll back; after the commit before the ack: the event is delivered again), while the roll-up
job runs alongside and itself crashes before some commits. The roll-up must equal the distinct events
exactly, per subscription and metric. Real PostgreSQL. The run time (printed with -s) is in
docs/performance.md; it is not asserted, since it depends on the machine's load."""

from __future__ import annotations

import queue
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import psycopg

from cmp.db import Database
from cmp.metering.model import UsageEvent
from cmp.metering.services import UsageRollupJob
from cmp_dev.local.stack import Postgres
from tests.fakes import FixedClock
from tests.subscriptions import subscribe

from .commerce_support import new_tenant

EVENTS = 10_000
CONSUMERS = 4
CRASH_BEFORE_COMMIT = 0.1
CRASH_BEFORE_ACK = 0.1
ROLLUP_CRASH = 0.3


class Crash(Exception):
    """An injected process death."""


class CrashingRollups:
    """The unit-of-work factory the roll-up job gets: some of its transactions die before committing."""

    def __init__(self, db: Database, rng: random.Random) -> None:
        self._db, self._rng, self._lock = db, rng, threading.Lock()

    @contextmanager
    def __call__(self, tenant_id: Any = None) -> Iterator[Any]:
        with self._db.unit_of_work(tenant_id) as uow:
            with self._lock:
                crash = tenant_id is not None and self._rng.random() < ROLLUP_CRASH
            if crash:

                def dying_commit() -> None:
                    raise Crash("roll-up died before commit")

                uow.commit = dying_commit
            yield uow


def test_the_roll_up_equals_the_distinct_events_despite_duplicates_crashes_and_redelivery(
    postgres: Postgres, owner_conn: psycopg.Connection[Any]
) -> None:
    rng = random.Random(20261130)
    db = Database(postgres.app_url, max_size=CONSUMERS + 2)
    setup = Database(postgres.app_url)
    tenants = [new_tenant(setup, f"Faulty {n}") for n in range(2)]
    subs = [(t, subscribe(setup, t)) for t in tenants for _ in range(2)]
    metrics = ("messages", "tokens_in", "api_calls")
    events = []
    for _ in range(EVENTS):
        tenant, sub = rng.choice(subs)
        at = sub.current_period_start + timedelta(seconds=rng.randrange(0, 86_400))
        events.append((tenant, UsageEvent(sub.id, rng.choice(metrics), 1, at, f"req-{uuid.uuid4()}")))
    deliveries: queue.Queue[tuple[str, UsageEvent] | None] = queue.Queue()
    for item in events:
        for _ in range(rng.choice((1, 1, 2, 3))):  # random duplicates
            deliveries.put(item)
    stats: Counter[str] = Counter()
    stats_lock = threading.Lock()

    def consume(seed: int) -> None:
        local = random.Random(seed)
        while (item := deliveries.get()) is not None:
            tenant, usage = item
            try:
                with db.unit_of_work(tenant) as uow:
                    new = uow.usage.record(usage)
                    if local.random() < CRASH_BEFORE_COMMIT:
                        raise Crash("died after the insert, before the commit")
                    uow.commit()
                if local.random() < CRASH_BEFORE_ACK:
                    raise Crash("died after the commit, before the ack")
                outcome = "acked"
            except Crash as crash:
                outcome = "crash_before_ack" if "ack" in str(crash) else "crash_before_commit"
                deliveries.put(item)  # not acked: the queue delivers it again
            with stats_lock:
                stats[outcome] += 1
                if outcome != "crash_before_commit":
                    stats["committed_new" if new else "committed_duplicate"] += 1
            deliveries.task_done()

    clock = FixedClock(min(s.current_period_start for _, s in subs) + timedelta(hours=1))
    job = UsageRollupJob(CrashingRollups(db, rng), clock, batch=50)
    stop = threading.Event()

    def roll_up_alongside() -> None:
        while not stop.is_set():
            with stats_lock:
                stats["rollup_runs"] += 1
            job.run()
            time.sleep(0.2)

    started = time.perf_counter()
    consumers = [threading.Thread(target=consume, args=(n,)) for n in range(CONSUMERS)]
    roller = threading.Thread(target=roll_up_alongside)
    for thread in (*consumers, roller):
        thread.start()
    deliveries.join()  # every delivery, including the redeliveries, was handled
    for _ in consumers:
        deliveries.put(None)
    for thread in consumers:
        thread.join()
    stop.set()
    roller.join()
    final = UsageRollupJob(db.unit_of_work, clock, batch=50)
    while final.run()["periods"]:
        pass
    elapsed = time.perf_counter() - started
    print(f"\nfault injection: {EVENTS} events, {dict(stats)}, {elapsed:.1f} s")

    sub_ids = [s.id for _, s in subs]
    expected = Counter((e.subscription_id, e.metric) for _, e in events)
    rolled = owner_conn.execute(
        "select subscription_id, metric, sum(quantity), sum(events) from usage_rollups"
        " where subscription_id = any(%s) group by 1, 2",
        (sub_ids,),
    ).fetchall()
    assert {(r[0], r[1]): int(r[2]) for r in rolled} == dict(expected)
    assert sum(int(r[3]) for r in rolled) == EVENTS
    [(stored,)] = owner_conn.execute(
        "select count(*) from usage_records where subscription_id = any(%s)", (sub_ids,)
    ).fetchall()
    assert stored == EVENTS
    assert stats["committed_new"] == EVENTS and stats["committed_duplicate"] > 0
    assert stats["crash_before_commit"] > 0 and stats["crash_before_ack"] > 0
    db.close()
    setup.close()
