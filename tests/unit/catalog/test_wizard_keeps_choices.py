"""Issue 7 §3: the wizard builds on what the seller already gave it (import, template, earlier steps), plan
defaults follow the product, plans are capped, and archived products can be restored."""

from __future__ import annotations

import json

import pytest

from cmp.capabilities import MAX_PLANS
from cmp.errors import Conflict, ValidationFailed
from tests.unit.catalog.conftest import LISTING, PLANS, TENANT, Catalog

pytestmark = pytest.mark.unit

OPENAPI = json.dumps(
    {
        "openapi": "3.0.0",
        "info": {"title": "Weather", "version": "1"},
        "paths": {
            "/w": {
                "get": {
                    "operationId": "getWeather",
                    "summary": "Get the weather",
                    "responses": {"200": {"description": "ok"}},
                }
            }
        },
    }
)
DOCS_PLANS = [
    {"name": "Starter", "tier": "starter", "priceMonthly": "29", "priceYearly": "290"},
    {"name": "Pro", "tier": "pro", "priceMonthly": "99", "features": ["rag", "widget", "Priority support"]},
    {"name": "Enterprise", "tier": "enterprise"},
]


def test_step_3_with_an_empty_or_partial_document_keeps_the_template_capabilities(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    applied = catalog.wizard.apply_template(TENANT, product_id, "customer_support")
    integrations = applied["capabilities"]["interfaces"]["integrations"]
    assert integrations["platforms"] == ["slack", "email"]

    confirmed = catalog.wizard.set_capabilities(TENANT, product_id, {})
    refined = catalog.wizard.set_capabilities(
        TENANT, product_id, {"interfaces": {"chat": {"enabled": True, "modes": ["text", "voice"]}}}
    )

    assert confirmed["capabilities"] == applied["capabilities"]
    assert refined["capabilities"]["interfaces"]["integrations"] == integrations
    assert refined["capabilities"]["interfaces"]["chat"]["modes"] == ["text", "voice"]
    assert refined["capabilities"]["analytics"] == applied["capabilities"]["analytics"]


def test_step_3_switching_a_block_off_still_switches_off_what_it_inherited(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    catalog.wizard.apply_template(TENANT, product_id, "customer_support")

    changed = catalog.wizard.set_capabilities(
        TENANT, product_id, {"interfaces": {"chat": {"enabled": False}}}
    )

    assert changed["capabilities"]["interfaces"]["chat"]["enabled"] is False
    assert changed["capabilities"]["configuration"]["conversation"]["enabled"] is False


def test_an_applied_import_proposal_completes_step_3_and_survives_an_empty_step_3(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]

    imported = catalog.wizard.import_flow(TENANT, product_id, OPENAPI, None, "weather.json")

    assert imported["proposed_capabilities_applied"] is True
    assert imported["product"]["wizard"] == {
        "completed": ["category", "source", "capabilities"],
        "next": "plans",
    }
    assert imported["product"]["capabilities"]["interfaces"]["api"]["enabled"] is True
    kept = catalog.wizard.set_capabilities(TENANT, product_id, {"tags": ["ops"]})
    assert (
        kept["capabilities"]["interfaces"]["api"] == imported["product"]["capabilities"]["interfaces"]["api"]
    )


def test_the_blank_template_leaves_step_3_to_the_seller(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]

    applied = catalog.wizard.apply_template(TENANT, product_id, "blank")

    assert applied["wizard"] == {"completed": ["category", "source"], "next": "capabilities"}


def test_a_template_with_plans_can_be_submitted_once_the_listing_and_logo_are_done(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    catalog.wizard.apply_template(TENANT, product_id, "customer_support")
    catalog.wizard.set_listing(TENANT, product_id, LISTING)
    catalog.upload_logo(product_id)

    submitted = catalog.lifecycle.submit(TENANT, product_id)

    assert submitted["status"] == "pending_review"
    assert catalog.run_review(product_id, submitted["review_run_id"]) == "checks_passed"


def test_the_docs_plans_fit_a_shared_product_the_enterprise_plan_runs_shared(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    catalog.wizard.set_capabilities(
        TENANT,
        product_id,
        {
            "interfaces": {"chat": {"enabled": True, "modes": ["text", "voice"]}},
            "configuration": {"rag": {"retrieval": {"topK": 8}}},
        },
    )

    saved = catalog.wizard.set_plans(TENANT, product_id, DOCS_PLANS)

    assert saved["capabilities"]["runtime"]["deployment"] == "shared"
    assert [(p["tier"], p["runtimeType"]) for p in saved["plans"]] == [
        ("starter", "shared"),
        ("pro", "shared"),
        ("enterprise", "shared"),
    ]
    assert saved["plans"][2]["limits"]["messages"] is None


def test_more_plans_than_the_cap_are_refused_on_plans_and_nothing_is_stored(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    catalog.wizard.set_capabilities(TENANT, product_id, {})
    many = [{"name": f"Plan {i}", "tier": "starter", "priceMonthly": i} for i in range(10_000)]

    with pytest.raises(ValidationFailed) as refused:
        catalog.wizard.set_plans(TENANT, product_id, many)

    assert [e.path for e in refused.value.errors] == ["plans"]
    assert f"at most {MAX_PLANS} plans" in refused.value.errors[0].message
    assert catalog.plans.for_product(catalog.product(product_id).id) == []


def test_an_archived_product_is_restored_as_a_draft_and_published_again_on_approval(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    assert catalog.publish(product_id) == "1.0.0"
    pid = catalog.product(product_id).id
    catalog.lifecycle.archive(TENANT, product_id)

    restored = catalog.lifecycle.restore(TENANT, product_id)

    assert restored["status"] == "draft"
    assert restored["live_version"] == "1.0.0"
    assert restored["has_unpublished_changes"] is True
    assert pid not in catalog.listings.rows
    catalog.wizard.set_listing(TENANT, product_id, {**LISTING, "short_description": "Back again."})
    assert catalog.publish(product_id) == "1.0.1"
    assert pid in catalog.listings.rows


def test_only_an_archived_product_can_be_restored(catalog: Catalog) -> None:
    product_id = catalog.ready_product()

    with pytest.raises(Conflict, match="only an archived product can be restored; this one is draft"):
        catalog.lifecycle.restore(TENANT, product_id)


def test_delete_says_what_is_true_for_live_and_archived_published_products(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    catalog.publish(product_id)

    with pytest.raises(Conflict, match="archive it to take it off the marketplace"):
        catalog.lifecycle.delete_draft(TENANT, product_id)
    catalog.lifecycle.archive(TENANT, product_id)
    with pytest.raises(Conflict, match=r"never deleted .* already archived .* restore it"):
        catalog.lifecycle.delete_draft(TENANT, product_id)
    assert catalog.product(product_id).status == "archived"


def test_an_archived_draft_that_was_never_published_can_be_deleted(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    catalog.wizard.set_capabilities(TENANT, product_id, {})
    catalog.wizard.set_plans(TENANT, product_id, PLANS)
    catalog.lifecycle.archive(TENANT, product_id)

    catalog.lifecycle.delete_draft(TENANT, product_id)

    assert catalog.products.rows == {}
