"""The seller's products: the five-step wizard, assets, submission for review, versions."""

from __future__ import annotations

import json
from typing import Annotated
from uuid import UUID

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from cmp.catalog.paging import ProductPage
from cmp.web.deps import Seller, ServicesDep
from cmp.web.provider_schemas import (
    CapabilityDocument,
    ImportRequest,
    ImportResult,
    ListingRequest,
    NewProductRequest,
    PlansRequest,
    ProductDetail,
    ProductList,
    Submission,
    TemplateRequest,
    UploadRequest,
    UploadTicket,
    VersionList,
)
from cmp.web.schemas import EDIT, PRODUCT, SELLER, PageCursor, PageLimit, answers

router = Router()
ONE = "/v1/provider/products/<product_id>"


@router.get(
    "/v1/provider/products",
    responses=answers(200, "One page of the organization's products, latest first", *SELLER),
)
def list_products(
    seller: Seller,
    services: ServicesDep,
    limit: PageLimit = None,
    cursor: PageCursor = None,
) -> ProductList:
    """The organization's products, most recently changed first, one page at a time (`next_cursor`)."""
    page = ProductPage.from_query(limit, cursor)
    return ProductList.model_validate(services.product_views.page_products(seller.tenant_id, page))


@router.post("/v1/provider/products", responses=answers(201, "Draft created (step 1 done)", *SELLER))
def create_product(
    body: NewProductRequest, seller: Seller, services: ServicesDep
) -> tuple[ProductDetail, int]:
    """Wizard step 1: a draft product of a category and subcategory."""
    return ProductDetail.model_validate(
        services.wizard.create_draft(seller.tenant_id, body.category, body.subcategory)
    ), 201


@router.get(ONE, responses=answers(200, "The product as the seller edits it", *PRODUCT))
def get_product(product_id: UUID, seller: Seller, services: ServicesDep) -> ProductDetail:
    """One product as its seller edits it."""
    return ProductDetail.model_validate(services.product_views.get(seller.tenant_id, str(product_id)))


@router.delete(ONE, responses=answers(204, "Deleted", *EDIT))
def delete_product(product_id: UUID, seller: Seller, services: ServicesDep) -> Response[None]:
    """Delete a product that was never published; one that was is kept for its subscriptions (409: archive
    it, or restore an archived one)."""
    services.lifecycle.delete_draft(seller.tenant_id, str(product_id))
    return Response(status_code=204)


@router.put(f"{ONE}/category", responses=answers(200, "Category changed", *EDIT))
def change_category(
    product_id: UUID, body: NewProductRequest, seller: Seller, services: ServicesDep
) -> ProductDetail:
    """Change an unpublished product's category and subcategory."""
    changed = services.wizard.change_category(
        seller.tenant_id, str(product_id), body.category, body.subcategory
    )
    return ProductDetail.model_validate(changed)


@router.post(f"{ONE}/import", responses=answers(200, "Imported (step 2); see the report", *EDIT))
def import_flow(product_id: UUID, body: ImportRequest, seller: Seller, services: ServicesDep) -> ImportResult:
    """Wizard step 2: import a Langflow, n8n, OpenAPI or MCP file; its capabilities are proposed."""
    content = body.content if body.content is not None else json.dumps(body.document)
    imported = services.wizard.import_flow(
        seller.tenant_id, str(product_id), content, body.format, body.filename, body.flow_name
    )
    return ImportResult.model_validate(imported)


@router.post(f"{ONE}/template", responses=answers(200, "Template applied (step 2)", *EDIT))
def apply_template(
    product_id: UUID, body: TemplateRequest, seller: Seller, services: ServicesDep
) -> ProductDetail:
    """Wizard step 2: start from a template (capabilities, listing text and plans)."""
    return ProductDetail.model_validate(
        services.wizard.apply_template(seller.tenant_id, str(product_id), body.template)
    )


@router.put(f"{ONE}/capabilities", responses=answers(200, "Capabilities saved (step 3)", *EDIT))
def set_capabilities(
    product_id: UUID, body: Annotated[CapabilityDocument, Body()], seller: Seller, services: ServicesDep
) -> ProductDetail:
    """Wizard step 3: the capability document (partial documents are completed with defaults)."""
    return ProductDetail.model_validate(
        services.wizard.set_capabilities(seller.tenant_id, str(product_id), body)
    )


@router.put(f"{ONE}/plans", responses=answers(200, "Plans saved (step 4)", *EDIT))
def set_plans(product_id: UUID, body: PlansRequest, seller: Seller, services: ServicesDep) -> ProductDetail:
    """Wizard step 4: the plans, validated against the capabilities."""
    return ProductDetail.model_validate(
        services.wizard.set_plans(seller.tenant_id, str(product_id), body.plans)
    )


@router.put(f"{ONE}/listing", responses=answers(200, "Listing saved (step 5)", *EDIT))
def set_listing(
    product_id: UUID, body: ListingRequest, seller: Seller, services: ServicesDep
) -> ProductDetail:
    """Wizard step 5: name, slug, descriptions, links and tags."""
    return ProductDetail.model_validate(
        services.wizard.set_listing(seller.tenant_id, str(product_id), body.model_dump())
    )


@router.post(
    f"{ONE}/assets", responses=answers(201, "Upload authorised: POST the file, then complete it", *EDIT)
)
def request_upload(
    product_id: UUID, body: UploadRequest, seller: Seller, services: ServicesDep
) -> tuple[UploadTicket, int]:
    """Authorise an upload of a logo or screenshot (a presigned POST)."""
    upload = services.product_assets.request_upload(
        seller.tenant_id, str(product_id), body.kind, body.content_type, body.size_bytes
    )
    return UploadTicket.model_validate(upload), 201


@router.post(
    f"{ONE}/assets/<asset_id>/complete", responses=answers(200, "The file is checked and in use", *EDIT)
)
def complete_upload(product_id: UUID, asset_id: UUID, seller: Seller, services: ServicesDep) -> ProductDetail:
    """Check an uploaded file and use it."""
    return ProductDetail.model_validate(
        services.product_assets.complete_upload(seller.tenant_id, str(product_id), str(asset_id))
    )


@router.delete(f"{ONE}/assets/<asset_id>", responses=answers(200, "Asset removed", *EDIT))
def delete_asset(product_id: UUID, asset_id: UUID, seller: Seller, services: ServicesDep) -> ProductDetail:
    """Remove a logo or screenshot."""
    return ProductDetail.model_validate(
        services.product_assets.delete_asset(seller.tenant_id, str(product_id), str(asset_id))
    )


@router.post(
    f"{ONE}/submit", responses=answers(202, "Submitted; automated checks run, then an admin decides", *EDIT)
)
def submit(product_id: UUID, seller: Seller, services: ServicesDep) -> tuple[Submission, int]:
    """Submit the product for review: automated checks, then an admin decision."""
    return Submission.model_validate(services.lifecycle.submit(seller.tenant_id, str(product_id))), 202


@router.post(f"{ONE}/archive", responses=answers(200, "Archived (taken off the marketplace)", *PRODUCT))
def archive(product_id: UUID, seller: Seller, services: ServicesDep) -> ProductDetail:
    """Take the product off the marketplace (restore brings it back as a draft)."""
    return ProductDetail.model_validate(services.lifecycle.archive(seller.tenant_id, str(product_id)))


@router.post(f"{ONE}/restore", responses=answers(200, "Restored as a draft", *EDIT))
def restore(product_id: UUID, seller: Seller, services: ServicesDep) -> ProductDetail:
    """Bring an archived product back as a draft; it returns to the marketplace when a new version is
    approved (409 unless it is archived)."""
    return ProductDetail.model_validate(services.lifecycle.restore(seller.tenant_id, str(product_id)))


@router.get(f"{ONE}/versions", responses=answers(200, "Published versions, newest first", *PRODUCT))
def versions(product_id: UUID, seller: Seller, services: ServicesDep) -> VersionList:
    """The product's published versions, newest first."""
    return VersionList.model_validate(
        {"items": services.product_views.versions(seller.tenant_id, str(product_id))}
    )
