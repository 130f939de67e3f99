"""Marketplace presentation of prices: decimal strings with the currency's exponent, one currency per product."""

from __future__ import annotations

from typing import Any

import pytest

from cmp.web.presentation import compared_product, plan_comparison, plan_offer, price_range

pytestmark = pytest.mark.unit


def stored(
    name: str, monthly: str | None, yearly: str | None = None, currency: str = "USD"
) -> dict[str, Any]:
    return {
        "id": f"plan_{name.lower():a<12}"[:17],
        "name": name,
        "tier": "starter" if monthly is not None else "enterprise",
        "priceMonthly": monthly,
        "priceYearly": yearly,
        "currency": currency,
        "limits": {"rateLimitRpm": 60},
        "runtimeType": "shared",
        "features": [],
    }


def test_a_plan_offer_carries_its_id_and_prices_as_exponent_strings() -> None:
    offer = plan_offer(stored("Basic", "1500", "15000", "JPY"))

    assert (offer["id"], offer["price_monthly"], offer["price_yearly"], offer["currency"]) == (
        "plan_basicaaaaaaa",
        "1500",
        "15000",
        "JPY",
    )
    assert plan_offer(stored("Pro", "29", None))["price_monthly"] == "29.00"
    assert plan_offer(stored("Ent", None))["price_monthly"] is None


def test_the_price_range_is_in_the_product_currency_as_strings() -> None:
    plans = [
        stored("A", "1.5", currency="KWD"),
        stored("B", "12.250", currency="KWD"),
        stored("C", None, currency="KWD"),
    ]

    assert price_range(plans) == {
        "min_monthly": "1.500",
        "max_monthly": "12.250",
        "currency": "KWD",
        "custom_pricing": True,
    }


def test_a_listing_from_before_the_one_currency_rule_ranges_over_plans_0_currency_only() -> None:
    # 29 USD and 10 EUR: never "10.0 USD".
    assert price_range([stored("A", "29.00"), stored("B", "10.00", currency="EUR")])["min_monthly"] == "29.00"


def test_the_comparison_shows_each_currency_with_its_own_decimals() -> None:
    rows = {
        row["key"]: row["values"]
        for row in plan_comparison(
            [
                stored("Yen", "1500", "15000", "JPY"),
                stored("Dinar", "1.5", "12.125", "KWD"),
                stored("Cent", "29.5"),
            ],
            {},
        )["rows"]
    }

    assert rows["price_monthly"] == ["¥1,500", "1.500 KWD", "$29.50"]
    assert rows["price_yearly"] == ["¥15,000", "12.125 KWD", "—"]


def test_a_compared_product_lists_its_plans_with_ids() -> None:
    listing = {"capabilities": {"category": "agent"}, "plans": [stored("Basic", "9"), stored("Pro", "19")]}

    column = compared_product(listing)

    assert [plan["id"] for plan in column["plans"]] == ["plan_basicaaaaaaa", "plan_proaaaaaaaaa"]
    assert column["plan_names"] == ["Basic", "Pro"]
    assert column["price_range"]["min_monthly"] == "9.00"
