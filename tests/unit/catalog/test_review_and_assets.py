"""Review checks and decisions, and asset uploads, against in-memory repositories and fake storage."""

from __future__ import annotations

import pytest

from cmp.catalog.asset_model import MAX_PENDING_LOGOS, UPLOAD_EXPIRES_IN
from cmp.errors import Conflict, NotFound, ValidationFailed
from cmp.money import Money
from tests.unit.catalog.conftest import ADMIN, BUCKET, PNG, TENANT, Catalog

pytestmark = pytest.mark.unit


def test_passing_checks_then_approval_publish_the_first_version(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    submitted = catalog.lifecycle.submit(TENANT, product_id)

    assert catalog.run_review(product_id, submitted["review_run_id"]) == "checks_passed"
    approved = catalog.reviews.approve(ADMIN, product_id)

    assert approved == {"product_id": product_id, "status": "approved", "version": "1.0.0"}
    product = catalog.product(product_id)
    assert (product.status, product.live_version) == ("approved", "1.0.0")
    listing = catalog.listings.rows[product.id]
    assert (listing.version, listing.min_monthly, listing.runtime_types) == (
        "1.0.0",
        Money(2900, "USD"),
        ["shared"],
    )
    snapshot = catalog.versions.rows[(product.id, "1.0.0")]
    assert snapshot["listing"]["logo_key"] == product.logo_key  # type: ignore[index]
    [run] = catalog.runs.rows.values()
    assert run.status == "approved" and str(run.decided_by) == ADMIN


def test_failing_checks_reject_the_product_with_reasons(catalog: Catalog) -> None:
    product_id = catalog.ready_product(logo=False)
    submitted = catalog.lifecycle.submit(TENANT, product_id)

    assert catalog.run_review(product_id, submitted["review_run_id"]) == "checks_failed"

    product = catalog.product(product_id)
    assert product.status == "rejected"
    assert product.review_reasons == ("assets_present: a logo is required",)
    [run] = catalog.runs.rows.values()
    assert {c["name"]: c["passed"] for c in run.checks} == {
        "listing_complete": True,
        "capabilities_valid": True,
        "plans_sane": True,
        "assets_present": False,
        "flow_parseable": True,
    }
    with pytest.raises(Conflict, match="not waiting for review"):
        catalog.reviews.approve(ADMIN, product_id)


def test_a_review_job_delivered_twice_is_harmless(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    run_id = catalog.lifecycle.submit(TENANT, product_id)["review_run_id"]
    assert catalog.run_review(product_id, run_id) == "checks_passed"
    [run] = catalog.runs.rows.values()
    checked_at = run.updated_at

    assert catalog.run_review(product_id, run_id) == "checks_passed"
    assert catalog.run_review(product_id, "00000000-0000-4000-8000-00000000dead") == "missing"

    [run] = catalog.runs.rows.values()
    assert run.updated_at == checked_at


def test_a_job_for_a_superseded_run_leaves_it_alone(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    first = catalog.lifecycle.submit(TENANT, product_id)["review_run_id"]
    catalog.reviews.reject(ADMIN, product_id, ["again"])
    catalog.lifecycle.submit(TENANT, product_id)

    assert catalog.run_review(product_id, first) == "rejected"


def test_approval_needs_passed_checks_and_rejection_a_reason(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    catalog.lifecycle.submit(TENANT, product_id)

    with pytest.raises(Conflict, match="automated checks are queued"):
        catalog.reviews.approve(ADMIN, product_id)
    with pytest.raises(ValidationFailed, match="say why"):
        catalog.reviews.reject(ADMIN, product_id, ["  "])
    with pytest.raises(NotFound):
        catalog.reviews.approve(ADMIN, "00000000-0000-4000-8000-00000000dead")


def test_featuring_needs_a_live_listing(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    with pytest.raises(NotFound, match="no live listing"):
        catalog.reviews.set_featured(product_id, True)
    catalog.publish(product_id)

    assert catalog.reviews.set_featured(product_id, True) == {"product_id": product_id, "featured": True}
    assert catalog.product(product_id).id in catalog.listings.featured


def test_an_upload_is_checked_before_and_after(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    with pytest.raises(ValidationFailed) as refused:
        catalog.assets.request_upload(TENANT, product_id, "logo", "image/gif", 10 * 1024 * 1024)
    assert [e.path for e in refused.value.errors] == ["content_type", "size_bytes"]
    assert refused.value.errors[1].message == (
        "must be between 1 and 1048576 bytes (1 MiB, the largest logo allowed; got 10485760)"
    )

    upload = catalog.assets.request_upload(TENANT, product_id, "logo", "image/png", len(PNG))
    key = upload["upload"]["fields"]["key"]
    assert key.startswith(f"products/{TENANT}/{product_id}/logo/") and key.endswith(".png")
    with pytest.raises(Conflict, match="not been uploaded"):
        catalog.assets.complete_upload(TENANT, product_id, upload["asset_id"])
    catalog.objects.put(BUCKET, key, PNG, "image/jpeg")
    with pytest.raises(ValidationFailed) as mismatch:
        catalog.assets.complete_upload(TENANT, product_id, upload["asset_id"])
    assert [e.path for e in mismatch.value.errors] == ["content_type"]
    assert catalog.assets_repo.rows == {}  # a refused upload leaves no asset behind

    upload = catalog.assets.request_upload(TENANT, product_id, "logo", "image/png", len(PNG))
    key = upload["upload"]["fields"]["key"]
    catalog.objects.put(BUCKET, key, PNG, "image/png")
    done = catalog.assets.complete_upload(TENANT, product_id, upload["asset_id"])

    assert [(a["kind"], a["status"], a["size_bytes"]) for a in done["assets"]] == [
        ("logo", "ready", len(PNG))
    ]
    assert catalog.product(product_id).logo_key == key


def test_a_new_logo_replaces_the_old_one_and_deleting_it_clears_the_key(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    catalog.upload_logo(product_id)
    second = catalog.upload_logo(product_id)

    assert [a["status"] for a in second["assets"]] == ["ready"]  # the previous logo's row is gone
    newest = second["assets"][0]["id"]
    assert catalog.product(product_id).logo_key.endswith(f"{newest}.png")

    after = catalog.assets.delete_asset(TENANT, product_id, newest)

    assert catalog.product(product_id).logo_key is None
    assert after["assets"] == []
    with pytest.raises(NotFound):
        catalog.assets.delete_asset(TENANT, product_id, newest)


def test_at_most_eight_screenshots(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    for _ in range(8):
        upload = catalog.assets.request_upload(TENANT, product_id, "screenshot", "image/png", len(PNG))
        catalog.objects.put(BUCKET, upload["upload"]["fields"]["key"], PNG, "image/png")
        catalog.assets.complete_upload(TENANT, product_id, upload["asset_id"])

    with pytest.raises(Conflict, match="at most 8 screenshots"):
        catalog.assets.request_upload(TENANT, product_id, "screenshot", "image/png", len(PNG))
    assert len(catalog.product(product_id).screenshot_keys) == 8


def _announce_screenshot(catalog: Catalog, product_id: str) -> str:
    """Announce a screenshot and store it as the browser would; its asset id."""
    upload = catalog.assets.request_upload(TENANT, product_id, "screenshot", "image/png", len(PNG))
    catalog.objects.put(BUCKET, upload["upload"]["fields"]["key"], PNG, "image/png")
    asset_id: str = upload["asset_id"]
    return asset_id


def test_pending_screenshots_count_toward_the_limit_at_announce(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    announced = [_announce_screenshot(catalog, product_id) for _ in range(8)]

    with pytest.raises(Conflict, match="at most 8 screenshots") as refused:
        catalog.assets.request_upload(TENANT, product_id, "screenshot", "image/png", len(PNG))
    assert [e.path for e in refused.value.errors] == ["kind"]

    for asset_id in announced:
        catalog.assets.complete_upload(TENANT, product_id, asset_id)
    assert len(catalog.product(product_id).screenshot_keys) == 8


def test_a_complete_beyond_the_limit_is_refused(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    announced = [_announce_screenshot(catalog, product_id) for _ in range(8)]
    catalog.clock.advance(seconds=UPLOAD_EXPIRES_IN)  # expired announcements no longer hold a place
    announced.append(_announce_screenshot(catalog, product_id))

    for asset_id in announced[:8]:
        catalog.assets.complete_upload(TENANT, product_id, asset_id)
    with pytest.raises(Conflict, match="at most 8 screenshots"):
        catalog.assets.complete_upload(TENANT, product_id, announced[8])

    assert len(catalog.product(product_id).screenshot_keys) == 8


def test_waiting_logo_uploads_are_capped(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    for _ in range(MAX_PENDING_LOGOS):
        catalog.assets.request_upload(TENANT, product_id, "logo", "image/png", len(PNG))

    with pytest.raises(Conflict, match=f"at most {MAX_PENDING_LOGOS} logo uploads"):
        catalog.assets.request_upload(TENANT, product_id, "logo", "image/png", len(PNG))


def test_a_never_completed_screenshot_neither_fails_review_nor_blocks_approval(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    catalog.assets.request_upload(TENANT, product_id, "screenshot", "image/png", len(PNG))

    submitted = catalog.lifecycle.submit(TENANT, product_id)
    assert catalog.run_review(product_id, submitted["review_run_id"]) == "checks_passed"
    assert catalog.reviews.approve(ADMIN, product_id)["version"] == "1.0.0"
