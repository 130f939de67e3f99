"""Buyer schedules: five-field cron expressions and intervals, checked without a scheduler library.

A cron expression is `minute hour day-of-month month day-of-week`, each field `*`, a number, a range
`a-b`, a step `*/n` or `a-b/n`, or a comma list of those; months and weekdays also by English
three-letter name (`JAN`, `MON-FRI`), weekday 0 and 7 both Sunday. Two restrictions keep every schedule
expressible for Amazon EventBridge Scheduler, which runs them (its cron needs `?` in one of the two day
fields, so it cannot say "the 1st *or* a Monday"): day-of-month and day-of-week may not both be
restricted, and the extensions `L`, `W`, `#` and `?` are refused. Within those rules the meaning is
Vixie cron's (crontab(5)).

`min_gap_minutes` is exact: the times of day repeat on every firing day, so the shortest gap is either
between two times of one day or from the last time of a day to the first of the next firing day; the
shortest distance between firing days is found by walking an eight-year window (2024-2031: two leap
days, every month length, every weekday of every date).

An interval is `<n>m`, `<n>h` or `<n>d` (EventBridge `rate()` units: nothing fires more than once a
minute).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from itertools import pairwise

FIELDS: tuple[tuple[str, int, int], ...] = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
WEEKDAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MAX_EXPRESSION_LENGTH = 200

_ITEM = re.compile(r"^(?:(\*)|(\w+)(?:-(\w+))?)(?:/(\d+))?$")
_INTERVAL = re.compile(r"^([1-9][0-9]{0,5})(m|h|d)$")
_INTERVAL_MINUTES = {"m": 1, "h": 60, "d": 1440}
_UNIT_WORDS = {"m": "minute", "h": "hour", "d": "day"}


class CronError(ValueError):
    """The expression is not a cron expression this platform runs; the message says why, in plain words."""


@dataclass(frozen=True)
class CronSchedule:
    """A parsed expression: the set of values each field allows."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    """0 = Sunday (a written 7 is stored as 0)."""
    days_restricted: bool
    weekdays_restricted: bool

    def fires_on(self, day: date) -> bool:
        """True when it fires on `day` (at every time of `times_of_day`)."""
        return self._fires(day.month, day.day, day.isoweekday() % 7)

    def _fires(self, month: int, day: int, weekday: int) -> bool:
        # One day field is always `*` (all values), so requiring both is exact.
        return month in self.months and day in self.days and weekday in self.weekdays

    @property
    def times_of_day(self) -> list[int]:
        """Minutes after midnight at which it fires on a firing day, ascending."""
        return sorted(hour * 60 + minute for hour in self.hours for minute in self.minutes)

    def kind(self) -> str:
        """`daily`, `weekly` or `monthly` when it fires once on every day, one weekday or one day of every
        month (the workflow capability's schedule types); `cron` otherwise."""
        once_a_day = len(self.minutes) == 1 and len(self.hours) == 1 and len(self.months) == 12
        if not once_a_day:
            return "cron"
        if not self.days_restricted and not self.weekdays_restricted:
            return "daily"
        if self.weekdays_restricted and len(self.weekdays) == 1:
            return "weekly"
        if self.days_restricted and len(self.days) == 1:
            return "monthly"
        return "cron"


@cache
def _window() -> tuple[tuple[int, int, int], ...]:
    """(month, day, weekday with 0 = Sunday) of every day of 2024-2031."""
    start, end = date(2024, 1, 1), date(2032, 1, 1)
    days = (start + timedelta(days=n) for n in range((end - start).days))
    return tuple((day.month, day.day, day.isoweekday() % 7) for day in days)


def _value(text: str, name: str, low: int, high: int) -> int:
    names = MONTH_NAMES if name == "month" else DAY_NAMES if name == "day of week" else ()
    upper = text.upper()
    if upper in names:
        return names.index(upper) + (1 if name == "month" else 0)
    if not text.isdigit():
        raise CronError(f"the {name} field has '{text[:20]}', which is not a number")
    number = int(text)
    if not low <= number <= high:
        raise CronError(f"the {name} field must stay within {low}-{high} (got {number})")
    return number


def _field(text: str, name: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        match = _ITEM.match(item)
        if match is None:
            raise CronError(
                f"the {name} field has '{item[:20]}'; use *, a number, a range a-b, a step */n or a-b/n, "
                "or a comma list of those"
            )
        star, first, last, step_text = match.groups()
        if star:
            start, stop = low, high
        else:
            start = _value(first, name, low, high)
            stop = _value(last, name, low, high) if last is not None else start
            if step_text is not None and last is None:
                raise CronError(f"the {name} field has '{item}': a step needs * or a range before it")
        if stop < start:
            raise CronError(f"the {name} field has the range '{item}', which runs backwards")
        step = int(step_text) if step_text is not None else 1
        if step < 1:
            raise CronError(f"the {name} field has a step of 0 in '{item}'")
        values.update(range(start, stop + 1, step))
    return frozenset(values)


def parse_cron(expression: str) -> CronSchedule:
    """Parse a five-field expression; raises `CronError` with the reason."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise CronError(f"must be at most {MAX_EXPRESSION_LENGTH} characters long")
    parts = expression.split()
    if len(parts) != 5:
        raise CronError(
            f"must have five fields (minute hour day-of-month month day-of-week), got {len(parts)}"
        )
    minutes, hours, days, months, weekdays = (
        _field(part, name, low, high) for part, (name, low, high) in zip(parts, FIELDS, strict=True)
    )
    days_restricted, weekdays_restricted = parts[2] != "*", parts[4] != "*"
    if days_restricted and weekdays_restricted:
        raise CronError(
            "restrict the day of month or the day of week, not both: write * in one of them "
            "(the scheduler cannot combine them)"
        )
    schedule = CronSchedule(
        expression=" ".join(parts),
        minutes=minutes,
        hours=hours,
        days=days,
        months=months,
        weekdays=frozenset(day % 7 for day in weekdays),
        days_restricted=days_restricted,
        weekdays_restricted=weekdays_restricted,
    )
    if not any(schedule._fires(*day) for day in _window()):
        raise CronError("never fires: no month has that day")
    return schedule


def min_gap_minutes(schedule: CronSchedule) -> int:
    """The shortest time between two consecutive firings, in minutes (exact, see the module docstring)."""
    times = schedule.times_of_day
    gaps = [later - earlier for earlier, later in pairwise(times)]
    previous: int | None = None
    day_gap: int | None = None
    for offset, day in enumerate(_window()):
        if not schedule._fires(*day):
            continue
        if previous is not None:
            day_gap = offset - previous if day_gap is None else min(day_gap, offset - previous)
            if day_gap == 1:
                break
        previous = offset
    if day_gap is not None:
        gaps.append(day_gap * 1440 - (times[-1] - times[0]))
    return min(gaps)


def interval_minutes(interval: str) -> int:
    """`"90m"` → 90, `"1h"` → 60, `"1d"` → 1440; raises `CronError` for anything else."""
    match = _INTERVAL.match(interval)
    if match is None:
        raise CronError("must be a number of minutes, hours or days such as '15m', '1h' or '1d'")
    return int(match.group(1)) * _INTERVAL_MINUTES[match.group(2)]


def describe_interval(interval: str) -> str:
    """`"1h"` → `Every hour`, `"15m"` → `Every 15 minutes` (the interval must be valid)."""
    match = _INTERVAL.match(interval)
    if match is None:
        raise CronError(f"not an interval: {interval!r}")
    count, unit = int(match.group(1)), _UNIT_WORDS[match.group(2)]
    return f"Every {unit}" if count == 1 else f"Every {count} {unit}s"


def describe_minutes(minutes: int) -> str:
    """A duration in words: 1 → `1 minute`, 90 → `90 minutes`, 120 → `2 hours`, 1440 → `1 day`."""
    for size, unit in ((1440, "day"), (60, "hour")):
        if minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
    return f"{minutes} minute" if minutes == 1 else f"{minutes} minutes"


def describe_cron(schedule: CronSchedule) -> str:
    """Plain words for the common shapes (`Every hour`, `Every day at 09:30`, `Every Monday at 08:00`,
    `Every 15 minutes`); anything else as `Cron: <expression>`."""
    minute_field, hour_field, _, _, _ = schedule.expression.split()
    every_day = len(schedule.months) == 12 and not schedule.days_restricted
    if every_day and not schedule.weekdays_restricted and len(schedule.hours) == 24:
        if len(schedule.minutes) == 60:
            return "Every minute"
        step = re.fullmatch(r"\*/(\d+)", minute_field)
        if step and 60 % int(step.group(1)) == 0:
            return f"Every {step.group(1)} minutes"
        if len(schedule.minutes) == 1:
            (minute,) = schedule.minutes
            return "Every hour" if minute == 0 else f"Every hour at :{minute:02d}"
    if len(schedule.minutes) == 1 and len(schedule.hours) == 1:
        (minute,), (hour,) = schedule.minutes, schedule.hours
        at = f"at {hour:02d}:{minute:02d}"
        kind = schedule.kind()
        if kind == "daily":
            return f"Every day {at}"
        if kind == "weekly":
            (weekday,) = schedule.weekdays
            return f"Every {WEEKDAYS[weekday]} {at}"
        if kind == "monthly":
            (day,) = schedule.days
            return f"Every month on day {day} {at}"
    if every_day and not schedule.weekdays_restricted and len(schedule.minutes) == 1:
        step = re.fullmatch(r"\*/(\d+)", hour_field)
        if step and 24 % int(step.group(1)) == 0 and schedule.minutes == frozenset({0}):
            return f"Every {step.group(1)} hours"
    return f"Cron: {schedule.expression}"
