"""The seller dashboard's range: period and days from the query, their defaults and every refusal."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from cmp.commerce.sales_views import SalesRange
from cmp.errors import ValidationFailed

TODAY = date(2026, 3, 15)


def test_the_default_is_twelve_months_ending_today() -> None:
    sales_range = SalesRange.from_query(None, None, None, TODAY)
    assert sales_range == SalesRange("month", date(2025, 4, 1), TODAY)
    assert sales_range.bounds == (datetime(2025, 4, 1, tzinfo=UTC), datetime(2026, 3, 16, tzinfo=UTC))


def test_by_year_the_default_is_five_years() -> None:
    assert SalesRange.from_query("year", "", " ", TODAY) == SalesRange("year", date(2022, 1, 1), TODAY)


def test_a_january_end_reaches_back_into_the_previous_year() -> None:
    assert SalesRange.from_query("month", None, "2026-01-31", TODAY).start == date(2025, 2, 1)


def test_explicit_days_are_kept() -> None:
    sales_range = SalesRange.from_query(" month ", "2026-02-10", "2026-02-10", TODAY)
    assert (sales_range.start, sales_range.end) == (date(2026, 2, 10), date(2026, 2, 10))
    assert sales_range.bounds == (datetime(2026, 2, 10, tzinfo=UTC), datetime(2026, 2, 11, tzinfo=UTC))


@pytest.mark.parametrize(
    ("period", "start", "end", "errors"),
    [
        ("week", None, None, {"query.period": "must be month or year"}),
        (
            None,
            "2026-13-01",
            "yesterday",
            {"query.from": "must be a date as YYYY-MM-DD", "query.to": "must be a date as YYYY-MM-DD"},
        ),
        (None, "20260101", None, {"query.from": "must be a date as YYYY-MM-DD"}),
        (None, "2026-03-02", "2026-03-01", {"query.from": "is after to"}),
        ("year", "2010-01-01", "2026-01-01", {"query.from": "the range may span at most 3660 days"}),
        (None, None, "9999-12-31", {"query.to": "must be between 1970-01-01 and 9998-12-31"}),
        ("year", "0001-01-01", None, {"query.from": "must be between 1970-01-01 and 9998-12-31"}),
    ],
)
def test_bad_parameters_are_named(
    period: str | None, start: str | None, end: str | None, errors: dict[str, str]
) -> None:
    with pytest.raises(ValidationFailed) as e:
        SalesRange.from_query(period, start, end, TODAY)
    assert {x.path: x.message for x in e.value.errors} == errors
