"""Typed capability snapshots: the JSON edge (`from_document` / `to_document`) is lossless."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from cmp.capabilities import CATEGORIES, PlanSpec, ProductCapabilities, ensure_valid, validate_plans

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("category", list(CATEGORIES))
def test_a_stored_document_reads_back_to_the_same_json(
    category: str, draft: Callable[..., dict[str, Any]]
) -> None:
    stored = ensure_valid(draft(category, interfaces={"api": {"enabled": True}})).to_document()

    again = ProductCapabilities.from_document(stored)

    assert again.to_document() == stored
    assert again.category == category


def test_plans_come_back_typed_and_store_prices_as_strings(draft: Callable[..., dict[str, Any]]) -> None:
    [plan], errors = validate_plans(
        [{"name": "Pro", "tier": "pro", "priceMonthly": 99}], ensure_valid(draft("agent"))
    )

    assert errors == []
    assert isinstance(plan, PlanSpec) and plan.limits.rate_limit_rpm == 300
    document = plan.to_document()
    assert document["priceMonthly"] == "99.00" and document["limits"]["rateLimitRpm"] == 300
    assert PlanSpec.from_document(document) == plan
