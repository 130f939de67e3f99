"""The metering rules without I/O: event validation, which period an event counts in (late events become
adjustments on the next open period), and the roll-up job's bookkeeping over fake repositories."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from cmp.errors import ValidationFailed
from cmp.metering.model import BillingPeriod, DuePeriod, UsageEvent, own_period, place
from cmp.metering.services import UsageRollupJob
from tests.fakes import FixedClock

T0 = datetime(2026, 11, 1, tzinfo=UTC)
DAY = timedelta(days=1)
OCT = BillingPeriod(T0 - 31 * DAY, T0, closed=True)
NOV = BillingPeriod(T0, T0 + 30 * DAY)


def test_an_event_names_every_bad_field() -> None:
    with pytest.raises(ValidationFailed) as raised:
        UsageEvent(uuid.uuid4(), "images", -1, datetime(2026, 11, 1), "")
    assert sorted(e.path for e in raised.value.errors) == [
        "idempotency_key",
        "metric",
        "occurred_at",
        "quantity",
    ]
    with pytest.raises(ValidationFailed):
        UsageEvent(uuid.uuid4(), "messages", True, T0, "k")  # a bool is not a quantity


def test_an_event_counts_in_the_period_of_its_own_timestamp() -> None:
    assert place([OCT, NOV], T0 + DAY).period == NOV
    assert place([BillingPeriod(OCT.start, OCT.end), NOV], T0 - DAY).period.start == OCT.start
    assert place([OCT, NOV], T0 + DAY).adjustment is False


def test_an_event_for_a_closed_period_is_an_adjustment_on_the_next_open_one() -> None:
    placed = place([OCT, NOV], T0 - DAY)
    assert (placed.period, placed.adjustment) == (NOV, True)
    before_everything = place([OCT, NOV], T0 - 400 * DAY)
    assert (before_everything.period, before_everything.adjustment) == (NOV, True)


def test_when_every_later_period_is_closed_the_adjustment_goes_to_the_one_after_the_last() -> None:
    closed_nov = BillingPeriod(NOV.start, NOV.end, closed=True)
    placed = place([OCT, closed_nov], T0 - DAY)
    assert placed.adjustment and placed.period == BillingPeriod(NOV.end, NOV.end + 30 * DAY)


def test_an_event_after_the_last_known_end_counts_in_the_following_period() -> None:
    assert own_period([OCT, NOV], NOV.end + DAY) == BillingPeriod(NOV.end, NOV.end + 30 * DAY)
    assert own_period([OCT, NOV], NOV.end - timedelta(seconds=1)) == NOV


class FakeRollups:
    def __init__(self, due: list[DuePeriod], fail: set[uuid.UUID] | None = None) -> None:
        self._due, self._fail = due, fail or set()
        self.rolled: list[tuple[uuid.UUID, datetime, datetime | None]] = []

    def due(self, now: datetime, grace: timedelta, limit: int) -> list[DuePeriod]:
        found, self._due = self._due[:limit], self._due[limit:]
        return found

    def roll_up(self, subscription_id: uuid.UUID, period_start: datetime, closed_at: datetime | None) -> int:
        if subscription_id in self._fail:
            raise RuntimeError("database went away")
        self.rolled.append((subscription_id, period_start, closed_at))
        return 3


class FakeUow:
    def __init__(self, rollups: FakeRollups) -> None:
        self.usage_rollups, self.commits = rollups, 0

    def commit(self) -> None:
        self.commits += 1


def test_the_job_rolls_up_closes_past_the_grace_and_survives_one_failure() -> None:
    clock = FixedClock(T0 + 2 * DAY)
    ended, running, broken = (uuid.uuid4() for _ in range(3))
    rollups = FakeRollups(
        [
            DuePeriod(uuid.uuid4(), ended, OCT.start, OCT.end),
            DuePeriod(uuid.uuid4(), running, NOV.start, NOV.end),
            DuePeriod(uuid.uuid4(), broken, NOV.start, NOV.end),
        ],
        fail={broken},
    )
    uow = FakeUow(rollups)

    @contextmanager
    def factory(tenant_id: Any = None) -> Iterator[FakeUow]:
        yield uow

    report = UsageRollupJob(factory, clock, batch=2).run()
    assert report == {"periods": 2, "records": 6, "closed": 1, "errors": 1}
    assert rollups.rolled == [(ended, OCT.start, clock.now()), (running, NOV.start, None)]
    assert uow.commits == 2
