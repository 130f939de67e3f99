"""The seller's plans through the wizard: stable ids across edits and publications, prices in one ISO 4217
currency, and the same ids frozen in versions and projected into the listing."""

from __future__ import annotations

from typing import Any

import pytest

from cmp.errors import ValidationFailed
from cmp.money import Money
from tests.unit.catalog.conftest import TENANT, Catalog

pytestmark = pytest.mark.unit

STARTER = {"name": "Starter", "tier": "starter", "priceMonthly": 29}
PRO = {"name": "Pro", "tier": "pro", "priceMonthly": 99}


def ids(detail: dict[str, Any]) -> dict[str, str]:
    return {plan["name"]: plan["id"] for plan in detail["plans"]}


def refused(catalog: Catalog, product_id: str, plans: list[dict[str, Any]]) -> list[tuple[str, str]]:
    with pytest.raises(ValidationFailed) as invalid:
        catalog.wizard.set_plans(TENANT, product_id, plans)
    return [(e.path, e.message) for e in invalid.value.errors]


def test_saving_plans_gives_each_a_stable_id_shown_in_the_product(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    detail = catalog.wizard.set_plans(TENANT, product_id, [STARTER, PRO])

    first = ids(detail)
    assert len(set(first.values())) == 2 and all(i.startswith("plan_") for i in first.values())
    # Sent again without ids (or with other prices): same names, same ids.
    again = catalog.wizard.set_plans(
        TENANT, product_id, [{**PRO, "name": "pro", "priceMonthly": 89}, STARTER]
    )
    assert [plan["id"] for plan in again["plans"]] == [first["Pro"], first["Starter"]]


def test_an_id_sent_back_keeps_the_plan_through_a_rename(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    first = ids(catalog.wizard.set_plans(TENANT, product_id, [STARTER, PRO]))

    renamed = catalog.wizard.set_plans(
        TENANT,
        product_id,
        [{**STARTER, "id": first["Starter"], "name": "Basic"}, {**PRO, "id": first["Pro"]}],
    )

    assert ids(renamed) == {"Basic": first["Starter"], "Pro": first["Pro"]}


def test_an_id_the_product_never_had_is_a_422_at_its_path(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    other = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    catalog.wizard.set_capabilities(TENANT, other, {})
    foreign = ids(catalog.wizard.set_plans(TENANT, other, [PRO]))
    before = catalog.plans.for_product(catalog.product(product_id).id)

    problems = refused(catalog, product_id, [STARTER, {**PRO, "id": foreign["Pro"]}])

    assert [path for path, _ in problems] == ["plans[1].id"]
    assert "is not a plan of this product" in problems[0][1]
    assert catalog.plans.for_product(catalog.product(product_id).id) == before


def test_a_published_plan_removed_and_added_again_gets_its_id_back(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    first = ids(catalog.wizard.set_plans(TENANT, product_id, [STARTER, PRO]))
    catalog.publish(product_id)

    catalog.wizard.set_plans(TENANT, product_id, [STARTER])
    by_name = ids(catalog.wizard.set_plans(TENANT, product_id, [STARTER, PRO]))
    by_id = ids(catalog.wizard.set_plans(TENANT, product_id, [STARTER, {**PRO, "id": first["Pro"]}]))

    assert by_name == first and by_id == first


def test_publishing_freezes_the_ids_and_projects_them_with_the_price_in_minor_units(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    plans = catalog.wizard.set_plans(TENANT, product_id, [PRO, STARTER])["plans"]
    catalog.publish(product_id)

    product = catalog.product(product_id)
    snapshot = catalog.versions.rows[(product.id, "1.0.0")]
    assert [plan["id"] for plan in snapshot["plans"]] == [plan["id"] for plan in plans]  # type: ignore[attr-defined]
    listing = catalog.listings.rows[product.id]
    assert [plan.id for plan in listing.plans] == [plan["id"] for plan in plans]
    assert (listing.min_monthly, listing.currency) == (Money(2900, "USD"), "USD")


def test_republishing_unchanged_plans_is_not_a_plan_change(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    catalog.publish(product_id)
    catalog.wizard.set_plans(
        TENANT, product_id, [{"name": "Starter", "tier": "starter", "priceMonthly": "29.00"}]
    )

    assert catalog.publish(product_id) == "1.0.1"  # same ids and prices: a patch, not a minor version


def test_plans_in_two_currencies_are_refused(catalog: Catalog) -> None:
    product_id = catalog.ready_product()

    problems = refused(catalog, product_id, [STARTER, {**PRO, "priceMonthly": 10, "currency": "EUR"}])

    assert problems == [
        ("plans[1].currency", "is EUR but plans[0] is priced in USD: all plans of a product use one currency")
    ]


def test_a_yen_price_with_a_fraction_is_refused_and_a_whole_one_stored_without_decimals(
    catalog: Catalog,
) -> None:
    product_id = catalog.ready_product()

    problems = refused(catalog, product_id, [{**STARTER, "currency": "JPY", "priceMonthly": "1500.50"}])
    stored = catalog.wizard.set_plans(
        TENANT, product_id, [{**STARTER, "currency": "JPY", "priceMonthly": 1500}]
    )

    assert problems == [
        (
            "plans[0].priceMonthly",
            "must be a whole number of JPY: JPY has no minor unit (ISO 4217 exponent 0; got 1500.50)",
        )
    ]
    assert (stored["plans"][0]["priceMonthly"], stored["plans"][0]["currency"]) == ("1500", "JPY")
