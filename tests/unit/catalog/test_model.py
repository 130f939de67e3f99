"""The `Product` entity's rules, without any service around it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from cmp.capabilities import ensure_valid
from cmp.catalog.model import Listing, Product
from cmp.errors import Conflict, ValidationFailed

pytestmark = pytest.mark.unit
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def draft(category: str = "agent", subcategory: str = "single") -> Product:
    return Product.new_draft(uuid.uuid4(), uuid.uuid4(), category, subcategory, NOW)


def test_a_new_draft_knows_its_next_step_and_validates_its_category() -> None:
    product = draft()

    assert (product.status, product.completed_steps, product.next_step) == ("draft", ("category",), "source")
    with pytest.raises(ValidationFailed) as bad:
        draft("agent", "writer")
    assert [e.path for e in bad.value.errors] == ["subcategory"]


def test_steps_are_recorded_in_wizard_order() -> None:
    product = draft()
    product.set_listing(Listing.parse({"name": "Name", "short_description": "Short."}), NOW)
    product.complete("plans", NOW)

    assert product.completed_steps == ("category", "plans", "listing")
    assert product.listing.slug == "name"


@pytest.mark.parametrize("status", ["pending_review", "archived"])
def test_a_product_in_review_or_archived_is_frozen(status: str) -> None:
    product = draft()
    product.status = status  # type: ignore[assignment]

    with pytest.raises(Conflict):
        product.ensure_editable()


@pytest.mark.parametrize("status", ["approved", "rejected"])
def test_any_edit_of_a_published_or_rejected_product_makes_it_a_draft(status: str) -> None:
    product = draft()
    product.status = status  # type: ignore[assignment]

    product.set_capabilities(ensure_valid({"category": "agent", "subcategory": {"agent": "single"}}), NOW)

    assert product.status == "draft"


def test_capabilities_of_another_category_are_refused() -> None:
    product = draft()

    with pytest.raises(ValidationFailed, match="do not match"):
        product.set_capabilities(ensure_valid({"category": "app", "subcategory": {"app": "tool"}}), NOW)


def test_changing_category_keeps_choices_that_still_validate() -> None:
    product = draft("assistant", "writer")
    product.set_capabilities(
        ensure_valid({"category": "assistant", "subcategory": {"assistant": "writer"}, "tags": ["sales"]}),
        NOW,
    )

    product.change_category("assistant", "code", NOW)

    assert product.subcategory == "code"
    assert product.capabilities.subcategory.assistant == "code"
    assert product.capabilities.tags == ["sales"]
