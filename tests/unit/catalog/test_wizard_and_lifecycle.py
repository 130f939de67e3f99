"""The wizard and the lifecycle against in-memory repositories: steps, submission through the outbox,
edits after publication, archive and delete."""

from __future__ import annotations

import pytest

from cmp.catalog.messages import ReviewJob
from cmp.errors import Conflict, ValidationFailed
from tests.unit.catalog.conftest import LISTING, PLANS, REVIEW_QUEUE, TENANT, Catalog

pytestmark = pytest.mark.unit


def test_a_draft_walks_the_steps_and_submission_queues_the_review_job_on_commit(catalog: Catalog) -> None:
    draft = catalog.wizard.create_draft(TENANT, "agent", "single")
    assert draft["status"] == "draft"
    assert draft["wizard"] == {"completed": ["category"], "next": "source"}
    assert draft["capabilities"]["category"] == "agent"

    product_id = draft["id"]
    catalog.wizard.set_capabilities(TENANT, product_id, {"tags": ["support"]})
    with_plans = catalog.wizard.set_plans(TENANT, product_id, PLANS)
    assert with_plans["plans"][0]["priceMonthly"] == "29.00"
    listed = catalog.wizard.set_listing(TENANT, product_id, LISTING)
    assert listed["wizard"] == {
        "completed": ["category", "capabilities", "plans", "listing"],
        "next": "source",
    }
    assert listed["listing"]["slug"] == "support-agent"
    assert catalog.uow.delivered == []

    submitted = catalog.lifecycle.submit(TENANT, product_id)

    assert submitted["status"] == "pending_review"
    assert catalog.product(product_id).status == "pending_review"
    [message] = catalog.uow.delivered
    assert (message.kind, message.target) == ("sqs", REVIEW_QUEUE)
    assert ReviewJob.model_validate(message.payload) == ReviewJob(
        tenant_id=TENANT, product_id=product_id, review_run_id=submitted["review_run_id"]
    )


def test_submit_refuses_missing_steps_with_a_field_error_each_and_sends_nothing(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    catalog.wizard.set_capabilities(TENANT, product_id, {})

    with pytest.raises(Conflict) as refused:
        catalog.lifecycle.submit(TENANT, product_id)

    assert [e.path for e in refused.value.errors] == ["plans", "listing"]
    assert catalog.uow.delivered == []
    assert catalog.runs.rows == {}
    assert catalog.product(product_id).status == "draft"


def test_a_product_in_review_cannot_be_edited_and_a_resubmission_supersedes_the_open_run(
    catalog: Catalog,
) -> None:
    product_id = catalog.ready_product()
    first = catalog.lifecycle.submit(TENANT, product_id)

    with pytest.raises(Conflict, match="in review"):
        catalog.wizard.set_listing(TENANT, product_id, LISTING)
    catalog.reviews.reject("0b0c0d0e-0000-4000-8000-0000000000ad", product_id, ["too vague"])
    catalog.wizard.set_listing(TENANT, product_id, {**LISTING, "name": "Support Agent Two"})
    second = catalog.lifecycle.submit(TENANT, product_id)

    statuses = {str(r.id): r.status for r in catalog.runs.rows.values()}
    assert statuses == {first["review_run_id"]: "rejected", second["review_run_id"]: "queued"}
    assert len(catalog.uow.delivered) == 2


def test_editing_a_published_product_makes_its_working_copy_a_draft(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    assert catalog.publish(product_id) == "1.0.0"
    assert catalog.product(product_id).status == "approved"

    with pytest.raises(Conflict, match="already published"):
        catalog.lifecycle.submit(TENANT, product_id)
    edited = catalog.wizard.set_listing(TENANT, product_id, {**LISTING, "short_description": "Better words."})

    assert edited["status"] == "draft"
    assert edited["live_version"] == "1.0.0"
    assert edited["has_unpublished_changes"] is True
    listing = catalog.listings.rows[catalog.product(product_id).id]
    assert listing.product.listing.short_description == LISTING["short_description"]
    with pytest.raises(Conflict, match="cannot change category"):
        catalog.wizard.change_category(TENANT, product_id, "app", "tool")


def test_a_listing_only_edit_publishes_a_patch_version(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    catalog.publish(product_id)
    catalog.wizard.set_listing(TENANT, product_id, {**LISTING, "short_description": "Better words."})

    assert catalog.publish(product_id) == "1.0.1"


def test_plans_need_the_capabilities_step_and_are_checked_against_it(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    with pytest.raises(Conflict, match="step 3"):
        catalog.wizard.set_plans(TENANT, product_id, PLANS)
    catalog.wizard.set_capabilities(TENANT, product_id, {})

    with pytest.raises(ValidationFailed) as invalid:
        catalog.wizard.set_plans(
            TENANT, product_id, [{"name": "Ent", "tier": "enterprise", "runtimeType": "dedicated"}]
        )

    assert [e.path for e in invalid.value.errors] == ["plans[0].runtimeType"]
    assert catalog.plans.for_product(catalog.product(product_id).id) == []


def test_listing_limits_are_reported_all_at_once(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]

    with pytest.raises(ValidationFailed) as invalid:
        catalog.wizard.set_listing(
            TENANT,
            product_id,
            {"name": "ab", "slug": "Bad Slug", "short_description": "x" * 151, "tags": ["ok", "Not OK"]},
        )

    assert [e.path for e in invalid.value.errors] == ["name", "slug", "short_description", "tags[1]"]


def test_a_taken_slug_is_a_conflict_on_the_slug_field(catalog: Catalog) -> None:
    first = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    second = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    catalog.wizard.set_listing(TENANT, first, LISTING)

    with pytest.raises(Conflict) as taken:
        catalog.wizard.set_listing(TENANT, second, LISTING)

    assert [e.path for e in taken.value.errors] == ["slug"]


def test_a_template_fills_capabilities_listing_texts_and_plans(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]

    applied = catalog.wizard.apply_template(TENANT, product_id, "customer_support")

    assert applied["template"] == "customer_support"
    assert applied["listing"]["name"] == "Customer Support Agent"
    assert [p["name"] for p in applied["plans"]] == ["Starter", "Pro"]
    assert applied["wizard"] == {
        "completed": ["category", "source", "capabilities", "plans"],
        "next": "listing",
    }
    with pytest.raises(ValidationFailed, match="does not fit"):
        catalog.wizard.apply_template(TENANT, product_id, "sales_assistant")


def test_archive_takes_the_listing_down_once(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    catalog.publish(product_id)
    pid = catalog.product(product_id).id
    assert pid in catalog.listings.rows

    archived = catalog.lifecycle.archive(TENANT, product_id)
    again = catalog.lifecycle.archive(TENANT, product_id)

    assert archived["status"] == again["status"] == "archived"
    assert again["updated_at"] == archived["updated_at"]
    assert pid not in catalog.listings.rows
    with pytest.raises(Conflict, match="archived"):
        catalog.wizard.set_capabilities(TENANT, product_id, {})
    with pytest.raises(Conflict, match=r"already archived .* restore it"):
        catalog.lifecycle.delete_draft(TENANT, product_id)


def test_a_draft_that_was_never_published_can_be_deleted(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]

    catalog.lifecycle.delete_draft(TENANT, product_id)

    assert catalog.products.rows == {}
