"""Buyer schedules (`cmp.capabilities.cron`): parsing, the shortest gap between firings, words.

croniter (a dev-only dependency of the local runner) is the oracle: for generated expressions, the days and
times our parser fires on and the shortest gap must be what croniter's own iteration finds.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from croniter import croniter

from cmp.capabilities.cron import (
    CronError,
    describe_cron,
    describe_interval,
    describe_minutes,
    interval_minutes,
    min_gap_minutes,
    parse_cron,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("expression", "gap"),
    [
        ("* * * * *", 1),
        ("*/5 * * * *", 5),
        ("0 * * * *", 60),
        ("0,30 9-17 * * MON-FRI", 30),
        ("0 0,23 * * *", 60),  # 23:00 then 00:00 the next day
        ("30 9 * * *", 1440),
        ("0 8 * * 1", 7 * 1440),
        ("0 8 * * sat,sun", 1440),
        ("0 12 1 * *", 28 * 1440),  # 1 February to 1 March in a common year
        ("0 12 31 * *", 31 * 1440),  # 31 July to 31 August, 31 December to 31 January
        ("0 0 29 2 *", (366 + 365 * 3) * 1440),  # leap days only
        ("59 23 31 12 *", 365 * 1440),
    ],
)
def test_the_shortest_gap_between_firings(expression: str, gap: int) -> None:
    assert min_gap_minutes(parse_cron(expression)) == gap


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("* * * *", "five fields"),
        ("* * * * * *", "five fields"),
        ("60 * * * *", "minute field must stay within 0-59 (got 60)"),
        ("* 24 * * *", "hour field must stay within 0-23"),
        ("* * 0 * *", "day of month field must stay within 1-31 (got 0)"),
        ("* * * 13 *", "month field must stay within 1-12"),
        ("* * * * 8", "day of week field must stay within 0-7"),
        ("5-1 * * * *", "runs backwards"),
        ("*/0 * * * *", "step of 0"),
        ("5/10 * * * *", "a step needs * or a range"),
        ("0 0 1 * MON", "not both"),
        ("0 0 L * *", "not a number"),
        ("0 0 ? * MON", "use *, a number"),
        ("0 0 1W * *", "not a number"),
        ("0 0 * * MON#2", "use *, a number"),
        ("0 0 31 2 *", "never fires"),
        ("0 0 30,31 2 *", "never fires"),
        ("x" * 201, "at most 200 characters"),
    ],
)
def test_refused_expressions_say_why(expression: str, fragment: str) -> None:
    with pytest.raises(CronError) as raised:
        parse_cron(expression)
    assert fragment in str(raised.value)


def test_names_and_seven_for_sunday() -> None:
    schedule = parse_cron("0 9 * jan-mar SUN,7")
    assert schedule.months == frozenset({1, 2, 3})
    assert schedule.weekdays == frozenset({0})
    assert parse_cron("0  9 *   * *").expression == "0 9 * * *"


@pytest.mark.parametrize(
    ("expression", "kind"),
    [
        ("30 9 * * *", "daily"),
        ("0 8 * * 1", "weekly"),
        ("0 8 15 * *", "monthly"),
        ("0 8 * * 1-5", "cron"),
        ("0 8,20 * * *", "cron"),
        ("0 8 1 1 *", "cron"),
        ("*/1 8 * * *", "cron"),
    ],
)
def test_schedule_kinds_match_the_workflow_capability_types(expression: str, kind: str) -> None:
    assert parse_cron(expression).kind() == kind


@pytest.mark.parametrize(
    ("expression", "words"),
    [
        ("* * * * *", "Every minute"),
        ("*/15 * * * *", "Every 15 minutes"),
        ("0 * * * *", "Every hour"),
        ("5 * * * *", "Every hour at :05"),
        ("0 */2 * * *", "Every 2 hours"),
        ("30 9 * * *", "Every day at 09:30"),
        ("0 8 * * 1", "Every Monday at 08:00"),
        ("0 8 * * 0", "Every Sunday at 08:00"),
        ("0 8 15 * *", "Every month on day 15 at 08:00"),
        ("*/7 * * * *", "Cron: */7 * * * *"),
        ("0 9 * * 1-5", "Cron: 0 9 * * 1-5"),
    ],
)
def test_schedules_in_words(expression: str, words: str) -> None:
    assert describe_cron(parse_cron(expression)) == words


def test_intervals() -> None:
    assert [interval_minutes(text) for text in ("15m", "1h", "2d")] == [15, 60, 2880]
    assert [describe_interval(text) for text in ("1m", "15m", "1h", "3d")] == [
        "Every minute",
        "Every 15 minutes",
        "Every hour",
        "Every 3 days",
    ]
    assert [describe_minutes(m) for m in (1, 90, 120, 1440, 2880)] == [
        "1 minute",
        "90 minutes",
        "2 hours",
        "1 day",
        "2 days",
    ]
    for bad in ("30s", "0m", "1w", "h", "1.5h", " 1h"):
        with pytest.raises(CronError, match="minutes, hours or days"):
            interval_minutes(bad)


# ── the oracle ───────────────────────────────────────────────────────────


def _field(rng: random.Random, low: int, high: int, star_weight: float) -> str:
    if rng.random() < star_weight:
        return "*" if rng.random() < 0.7 else f"*/{rng.randint(1, max(1, (high - low) // 2))}"
    items = []
    for _ in range(rng.randint(1, 3)):
        start = rng.randint(low, high)
        if rng.random() < 0.4 and start < high:
            stop = rng.randint(start + 1, high)  # croniter reads a one-value range such as 9-9 as *
            step = f"/{rng.randint(1, 4)}" if rng.random() < 0.3 else ""
            items.append(f"{start}-{stop}{step}")
        else:
            items.append(str(start))
    return ",".join(items)


def _expression(rng: random.Random, sparse: bool = False) -> str:
    """A random expression; `sparse` ones fire a few times on a firing day, so two years of them can be
    walked in full."""
    minute = ",".join(str(rng.randint(0, 59)) for _ in range(rng.randint(1, 2))) if sparse else None
    minute = minute or _field(rng, 0, 59, 0.2)
    hour = ",".join(str(rng.randint(0, 23)) for _ in range(rng.randint(1, 3))) if sparse else None
    hour = hour or _field(rng, 0, 23, 0.3)
    month = _field(rng, 1, 12, 0.6)
    if rng.random() < 0.5:
        day, weekday = _field(rng, 1, 28, 0.0), "*"
    else:
        day, weekday = "*", _field(rng, 0, 6, 0.3)
    return f"{minute} {hour} {day} {month} {weekday}"


def _oracle_gap(expression: str, until: datetime, max_fires: int) -> tuple[int, bool]:
    """The shortest gap croniter's fires show from 2024-01-01, and whether it walked the whole window."""
    fires = croniter(expression, datetime(2023, 12, 31, 23, 59, tzinfo=UTC))
    previous = fires.get_next(datetime)
    shortest = None
    for _ in range(max_fires):
        current = fires.get_next(datetime)
        if current >= until:
            return shortest if shortest is not None else 10**9, True
        gap = int((current - previous).total_seconds() // 60)
        shortest = gap if shortest is None else min(shortest, gap)
        previous = current
    assert shortest is not None
    return shortest, False


def test_parsing_agrees_with_croniter_on_which_minutes_fire() -> None:
    rng = random.Random(20250301)
    start = datetime(2024, 2, 26, tzinfo=UTC)  # a Monday, around a leap day
    for _ in range(150):
        expression = _expression(rng)
        try:
            schedule = parse_cron(expression)
        except CronError as e:
            assert "never fires" in str(e), expression
            continue
        fires = croniter(expression, start - timedelta(minutes=1))
        expected = [fires.get_next(datetime) for _ in range(40)]
        ours = []
        moment = start
        while len(ours) < 40 and moment < datetime(2032, 1, 1, tzinfo=UTC):
            day = moment.date()
            if schedule.fires_on(day):
                midnight = datetime(day.year, day.month, day.day, tzinfo=UTC)
                ours.extend(
                    midnight + timedelta(minutes=m)
                    for m in schedule.times_of_day
                    if midnight + timedelta(minutes=m) >= start
                )
            moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(days=1)
        assert ours[:40] == expected, expression


def test_the_shortest_gap_agrees_with_croniter() -> None:
    rng = random.Random(7)
    # Two years hold every month length and weekday pattern the generator can write (days up to the 28th).
    until = datetime(2026, 1, 1, tzinfo=UTC)
    checked_fully = 0
    for index in range(50):
        expression = _expression(rng, sparse=index % 3 != 0)
        try:
            ours = min_gap_minutes(parse_cron(expression))
        except CronError:
            continue
        seen, complete = _oracle_gap(expression, until, max_fires=800)
        if complete:
            checked_fully += 1
            assert ours == seen, expression
        else:
            assert ours <= seen, expression  # croniter saw only the first 800 firings
            assert ours == seen or ours >= 1440, expression  # gaps inside a day show up at once
    assert checked_fully >= 25
