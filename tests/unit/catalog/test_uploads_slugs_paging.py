"""Issue 7 §5 in the catalog: an upload is checked by its bytes at `complete` and again by the review job;
slugs are transliterated and never read as ids; the seller's product list pages with an opaque cursor."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from cmp.catalog.asset_model import serving_headers
from cmp.catalog.model import Listing
from cmp.catalog.paging import ProductPage, encode_cursor
from cmp.errors import ValidationFailed
from tests.unit.catalog.conftest import BUCKET, PNG, TENANT, Catalog

pytestmark = pytest.mark.unit

HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5" height="5"/></svg>'
SVG_WITH_SCRIPT = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script><rect/></svg>'
)


def upload(catalog: Catalog, product_id: str, data: bytes, content_type: str, kind: str = "logo") -> str:
    """Announce and store a file as the browser would (the declared type is what S3 stores); its id."""
    ticket = catalog.assets.request_upload(TENANT, product_id, kind, content_type, len(data))
    catalog.objects.put(BUCKET, ticket["upload"]["fields"]["key"], data, content_type)
    asset_id: str = ticket["asset_id"]
    return asset_id


def test_html_uploaded_as_a_png_is_refused_at_complete_and_its_asset_deleted(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    asset_id = upload(catalog, product_id, HTML, "image/png", kind="screenshot")

    with pytest.raises(ValidationFailed) as refused:
        catalog.assets.complete_upload(TENANT, product_id, asset_id)

    [error] = refused.value.errors
    assert error.path == "content_type"
    assert "announced as image/png, but by its content the file is not an image" in error.message
    assert catalog.assets_repo.for_product(uuid.UUID(product_id)) == []


def test_an_svg_logo_with_active_content_is_refused_naming_each_problem(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    asset_id = upload(catalog, product_id, SVG_WITH_SCRIPT, "image/svg+xml")

    with pytest.raises(ValidationFailed) as refused:
        catalog.assets.complete_upload(TENANT, product_id, asset_id)

    assert {e.path for e in refused.value.errors} == {"file"}
    messages = " | ".join(e.message for e in refused.value.errors)
    assert "<script> elements are not allowed" in messages
    assert "event handler attributes are not allowed (onload on <svg>)" in messages
    assert catalog.product(product_id).logo_key is None


def test_a_static_svg_logo_is_accepted(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    asset_id = upload(catalog, product_id, SVG, "image/svg+xml")

    done = catalog.assets.complete_upload(TENANT, product_id, asset_id)

    assert [(a["content_type"], a["status"]) for a in done["assets"]] == [("image/svg+xml", "ready")]
    assert catalog.product(product_id).logo_key.endswith(".svg")


def test_a_file_replaced_after_complete_is_caught_by_the_review_job(catalog: Catalog) -> None:
    """The presigned form stays valid for its lifetime: a second POST can overwrite a checked file."""
    product_id = catalog.ready_product()
    logo_key = catalog.product(product_id).logo_key
    catalog.objects.put(BUCKET, logo_key, HTML, "image/png")
    submitted = catalog.lifecycle.submit(TENANT, product_id)

    outcome = catalog.run_review(product_id, submitted["review_run_id"])

    assert outcome == "checks_failed"
    product = catalog.product(product_id)
    assert product.status == "rejected"
    name = logo_key.rsplit("/", 1)[-1]
    assert (
        f"assets_present: {name}: announced as image/png, but by its content the file is not an image "
        "of any supported type" in product.review_reasons
    )


def test_an_svg_logo_given_a_script_after_complete_is_rejected_by_the_review_job(catalog: Catalog) -> None:
    product_id = catalog.ready_product(logo=False)
    catalog.assets.complete_upload(TENANT, product_id, upload(catalog, product_id, SVG, "image/svg+xml"))
    catalog.objects.put(BUCKET, catalog.product(product_id).logo_key, SVG_WITH_SCRIPT, "image/svg+xml")
    submitted = catalog.lifecycle.submit(TENANT, product_id)

    assert catalog.run_review(product_id, submitted["review_run_id"]) == "checks_failed"
    assert any("<script> elements are not allowed" in r for r in catalog.product(product_id).review_reasons)


def test_a_real_png_still_passes_review(catalog: Catalog) -> None:
    product_id = catalog.ready_product()
    submitted = catalog.lifecycle.submit(TENANT, product_id)

    assert catalog.run_review(product_id, submitted["review_run_id"]) == "checks_passed"


def test_stored_assets_are_served_with_their_verified_type_and_a_disposition() -> None:
    key = f"products/{uuid.uuid4()}/{uuid.uuid4()}/logo/{uuid.uuid4()}"

    assert serving_headers(f"{key}.png") == {
        "ResponseContentType": "image/png",
        "ResponseContentDisposition": f'inline; filename="{key.rsplit("/", 1)[-1]}.png"',
    }
    svg = serving_headers(f"{key}.svg")
    assert svg["ResponseContentType"] == "image/svg+xml"
    assert svg["ResponseContentDisposition"].startswith("attachment; ")
    with pytest.raises(ValueError, match="not an asset key"):
        serving_headers(f"{key}.html")


LISTING = {"short_description": "Coffee, answered."}


def test_slugs_are_transliterated_from_the_name() -> None:
    assert Listing.parse({**LISTING, "name": "Café Crème Déjà Vu"}).slug == "cafe-creme-deja-vu"
    assert Listing.parse({**LISTING, "name": "Помощник продаж"}).slug == "pomoshchnik-prodazh"


def test_a_name_with_nothing_to_transliterate_asks_for_a_slug_on_name() -> None:
    with pytest.raises(ValidationFailed) as refused:
        Listing.parse({**LISTING, "name": "🙂🙂🙂"})

    assert [(e.path, e.message) for e in refused.value.errors] == [
        ("name", "has no letters or digits a URL slug can be made of; give a slug")
    ]
    assert Listing.parse({**LISTING, "name": "🙂🙂🙂", "slug": "smiles"}).slug == "smiles"


@pytest.mark.parametrize("slug", [uuid.uuid4().hex, str(uuid.uuid4())])
def test_a_slug_that_reads_as_an_id_is_refused_on_slug(slug: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        Listing.parse({**LISTING, "name": "Coffee Bot", "slug": slug})

    [error] = refused.value.errors
    assert error.path == "slug"
    assert "reads as an id" in error.message


def test_a_name_whose_slug_would_read_as_an_id_asks_for_a_slug() -> None:
    with pytest.raises(ValidationFailed) as refused:
        Listing.parse({**LISTING, "name": uuid.uuid4().hex.upper()})

    assert [e.path for e in refused.value.errors] == ["name"]
    assert refused.value.errors[0].message.endswith("give a slug")


def test_product_page_defaults_bounds_and_cursor_round_trip() -> None:
    when, pid = datetime(2026, 11, 29, 12, 0, tzinfo=UTC), uuid.uuid4()

    assert ProductPage.from_query(None, "") == ProductPage(50, None)
    assert ProductPage.from_query(" 200 ", None).limit == 200
    assert ProductPage.from_query("1", encode_cursor(when, pid)) == ProductPage(1, (when, pid))


@pytest.mark.parametrize(
    ("limit", "cursor", "paths"),
    [
        ("0", None, ["query.limit"]),
        ("201", None, ["query.limit"]),
        ("ten", None, ["query.limit"]),
        ("9" * 5000, None, ["query.limit"]),
        (None, "not-a-cursor", ["query.cursor"]),
        (None, "W1td", ["query.cursor"]),
        ("-1", "x" * 300, ["query.limit", "query.cursor"]),
    ],
)
def test_bad_paging_parameters_are_422s_naming_each(
    limit: str | None, cursor: str | None, paths: list[str]
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        ProductPage.from_query(limit, cursor)

    assert [e.path for e in refused.value.errors] == paths


def test_a_file_of_another_image_type_is_named_by_its_type(catalog: Catalog) -> None:
    product_id = catalog.wizard.create_draft(TENANT, "agent", "single")["id"]
    asset_id = upload(catalog, product_id, PNG, "image/jpeg", kind="screenshot")

    with pytest.raises(ValidationFailed) as refused:
        catalog.assets.complete_upload(TENANT, product_id, asset_id)

    [error] = refused.value.errors
    assert error.message == "announced as image/jpeg, but by its content the file is of type image/png"
