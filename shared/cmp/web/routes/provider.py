"""The seller's products: the five-step wizard, assets, submission for review, versions."""

import json
from typing import Annotated, Any
from uuid import UUID

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from cmp.bootstrap import Services
from cmp.web.api import Caller, caller
from cmp.web.schemas import ImportRequest, ListingRequest, NewProductRequest, TemplateRequest, UploadRequest

PRODUCT = "/v1/provider/products/<product_id>"


def provider_routes(services: Services) -> Router:
    router = Router()

    def seller() -> Caller:
        who = caller(router)
        who.require("seller")
        return who

    @router.get("/v1/provider/products")
    def list_products() -> dict[str, Any]:
        return {"items": services.product_views.list_products(seller().tenant_id)}

    @router.post("/v1/provider/products")
    def create_product(body: NewProductRequest) -> tuple[dict[str, Any], int]:
        return services.wizard.create_draft(seller().tenant_id, body.category, body.subcategory), 201

    @router.get(PRODUCT)
    def get_product(product_id: UUID) -> dict[str, Any]:
        return services.product_views.get(seller().tenant_id, str(product_id))

    @router.delete(PRODUCT)
    def delete_product(product_id: UUID) -> tuple[dict[str, Any], int]:
        services.lifecycle.delete_draft(seller().tenant_id, str(product_id))
        return {}, 204

    @router.put(f"{PRODUCT}/category")
    def change_category(product_id: UUID, body: NewProductRequest) -> dict[str, Any]:
        return services.wizard.change_category(
            seller().tenant_id, str(product_id), body.category, body.subcategory
        )

    @router.post(f"{PRODUCT}/import")
    def import_flow(product_id: UUID, body: ImportRequest) -> dict[str, Any]:
        content = body.content if body.content is not None else json.dumps(body.document)
        return services.wizard.import_flow(
            seller().tenant_id, str(product_id), content, body.format, body.filename
        )

    @router.post(f"{PRODUCT}/template")
    def apply_template(product_id: UUID, body: TemplateRequest) -> dict[str, Any]:
        return services.wizard.apply_template(seller().tenant_id, str(product_id), body.template)

    @router.put(f"{PRODUCT}/capabilities")
    def set_capabilities(product_id: UUID, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        return services.wizard.set_capabilities(seller().tenant_id, str(product_id), body)

    @router.put(f"{PRODUCT}/plans")
    def set_plans(product_id: UUID, body: Annotated[dict[str, Any], Body()]) -> dict[str, Any]:
        return services.wizard.set_plans(seller().tenant_id, str(product_id), body.get("plans"))

    @router.put(f"{PRODUCT}/listing")
    def set_listing(product_id: UUID, body: ListingRequest) -> dict[str, Any]:
        return services.wizard.set_listing(seller().tenant_id, str(product_id), body.model_dump())

    @router.post(f"{PRODUCT}/assets")
    def request_upload(product_id: UUID, body: UploadRequest) -> tuple[dict[str, Any], int]:
        upload = services.product_assets.request_upload(
            seller().tenant_id, str(product_id), body.kind, body.content_type, body.size_bytes
        )
        return upload, 201

    @router.post(f"{PRODUCT}/assets/<asset_id>/complete")
    def complete_upload(product_id: UUID, asset_id: UUID) -> dict[str, Any]:
        return services.product_assets.complete_upload(seller().tenant_id, str(product_id), str(asset_id))

    @router.delete(f"{PRODUCT}/assets/<asset_id>")
    def delete_asset(product_id: UUID, asset_id: UUID) -> dict[str, Any]:
        return services.product_assets.delete_asset(seller().tenant_id, str(product_id), str(asset_id))

    @router.post(f"{PRODUCT}/submit")
    def submit(product_id: UUID) -> tuple[dict[str, Any], int]:
        return services.lifecycle.submit(seller().tenant_id, str(product_id)), 202

    @router.post(f"{PRODUCT}/archive")
    def archive(product_id: UUID) -> dict[str, Any]:
        return services.lifecycle.archive(seller().tenant_id, str(product_id))

    @router.get(f"{PRODUCT}/versions")
    def versions(product_id: UUID) -> dict[str, Any]:
        return {"items": services.product_views.versions(seller().tenant_id, str(product_id))}

    return router
