"""Public marketplace: categories, search, product details, comparison and featured listings (no sign-in)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from cmp.bootstrap import Services
from cmp.catalog.marketplace import FEATURED_DEFAULT_LIMIT
from cmp.catalog.search import ProductSearch, limit_from_query
from cmp.web.marketplace_schemas import (
    QUERY_DOCS,
    CategoriesResponse,
    CompareResponse,
    FeaturedResponse,
    ProductDetails,
    ProductPage,
)


def _doc(name: str) -> Any:
    """OpenAPI documentation of a query parameter; its value is parsed by cmp.catalog.search."""
    return Query(description=QUERY_DOCS[name])


def marketplace_routes(services: Services) -> Router:
    router = Router()

    @router.get("/v1/marketplace/categories")
    def categories() -> CategoriesResponse:
        return CategoriesResponse.model_validate(services.marketplace.categories())

    @router.get("/v1/marketplace/products")
    def products(
        q: Annotated[str | None, _doc("q")] = None,
        category: Annotated[str | None, _doc("category")] = None,
        subcategory: Annotated[str | None, _doc("subcategory")] = None,
        tags: Annotated[str | None, _doc("tags")] = None,
        min_price: Annotated[str | None, _doc("min_price")] = None,
        max_price: Annotated[str | None, _doc("max_price")] = None,
        runtime: Annotated[str | None, _doc("runtime")] = None,
        sort: Annotated[str | None, _doc("sort")] = None,
        limit: Annotated[str | None, _doc("limit")] = None,
        cursor: Annotated[str | None, _doc("cursor")] = None,
    ) -> ProductPage:
        search = ProductSearch.from_query(
            {
                "q": q,
                "category": category,
                "subcategory": subcategory,
                "tags": tags,
                "min_price": min_price,
                "max_price": max_price,
                "runtime": runtime,
                "sort": sort,
                "limit": limit,
                "cursor": cursor,
            }
        )
        return ProductPage.model_validate(services.marketplace.search(search))

    @router.get(
        "/v1/marketplace/products/<slug_or_id>", responses={404: {"description": "No such published product"}}
    )
    def product(slug_or_id: str) -> ProductDetails:
        return ProductDetails.model_validate(services.marketplace.product(slug_or_id))

    @router.get("/v1/marketplace/compare", responses={404: {"description": "A product is not published"}})
    def compare(products: Annotated[str | None, _doc("products")] = None) -> CompareResponse:
        return CompareResponse.model_validate(services.marketplace.compare((products or "").split(",")))

    @router.get("/v1/marketplace/featured")
    def featured(limit: Annotated[str | None, _doc("limit")] = None) -> FeaturedResponse:
        count = limit_from_query(limit, FEATURED_DEFAULT_LIMIT)
        return FeaturedResponse.model_validate(services.marketplace.featured(count))

    return router
