"""Public marketplace: categories, search, product details, comparison and featured listings (no sign-in)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from cmp.catalog.marketplace import FEATURED_DEFAULT_LIMIT
from cmp.web.deps import ServicesDep
from cmp.web.marketplace_schemas import (
    CategoriesResponse,
    CompareResponse,
    FeaturedResponse,
    ProductDetails,
    ProductPage,
)
from cmp.web.presentation import compared_product, product_page
from cmp.web.query import QUERY_DOCS, QUERY_SCHEMAS, limit_from_query, search_from_query
from cmp.web.schemas import answers

router = Router()


def _doc(name: str) -> Any:
    """A query parameter's OpenAPI description and constraints; its value is parsed by cmp.web.query."""
    return Query(description=QUERY_DOCS[name], json_schema_extra=QUERY_SCHEMAS.get(name))


@router.get("/v1/marketplace/categories", responses=answers(200, "Categories with live product counts"))
def categories(services: ServicesDep) -> CategoriesResponse:
    """The four categories and their subcategories, with live product counts."""
    return CategoriesResponse.model_validate(services.marketplace.categories())


@router.get("/v1/marketplace/products", responses=answers(200, "One page of product cards"))
def products(
    services: ServicesDep,
    q: Annotated[str | None, _doc("q")] = None,
    category: Annotated[str | None, _doc("category")] = None,
    subcategory: Annotated[str | None, _doc("subcategory")] = None,
    tags: Annotated[str | None, _doc("tags")] = None,
    min_price: Annotated[str | None, _doc("min_price")] = None,
    max_price: Annotated[str | None, _doc("max_price")] = None,
    currency: Annotated[str | None, _doc("currency")] = None,
    min_rating: Annotated[str | None, _doc("min_rating")] = None,
    runtime: Annotated[str | None, _doc("runtime")] = None,
    sort: Annotated[str | None, _doc("sort")] = None,
    limit: Annotated[str | None, _doc("limit")] = None,
    cursor: Annotated[str | None, _doc("cursor")] = None,
) -> ProductPage:
    """Search and browse published products, one page at a time (keyset cursor)."""
    search = search_from_query(
        {
            "q": q,
            "category": category,
            "subcategory": subcategory,
            "tags": tags,
            "min_price": min_price,
            "max_price": max_price,
            "currency": currency,
            "min_rating": min_rating,
            "runtime": runtime,
            "sort": sort,
            "limit": limit,
            "cursor": cursor,
        }
    )
    return ProductPage.model_validate(services.marketplace.search(search))


@router.get(
    "/v1/marketplace/products/<slug_or_id>",
    responses=answers(200, "The product page", 404),
)
def product(slug_or_id: str, services: ServicesDep) -> ProductDetails:
    """A published product's page by slug or id: description, capabilities, plans side by side."""
    return ProductDetails.model_validate(product_page(services.marketplace.product(slug_or_id)))


@router.get(
    "/v1/marketplace/compare", responses=answers(200, "The products side by side, in the order asked", 404)
)
def compare(
    services: ServicesDep, products: Annotated[str | None, _doc("products")] = None
) -> CompareResponse:
    """2 to 4 published products side by side."""
    listings = services.marketplace.compare((products or "").split(","))["products"]
    return CompareResponse.model_validate({"products": [compared_product(listing) for listing in listings]})


@router.get(
    "/v1/marketplace/featured", responses=answers(200, "Featured listings first, then the best rated")
)
def featured(services: ServicesDep, limit: Annotated[str | None, _doc("limit")] = None) -> FeaturedResponse:
    """Featured listings first, then the best rated, then the newest."""
    count = limit_from_query(limit, FEATURED_DEFAULT_LIMIT)
    return FeaturedResponse.model_validate(services.marketplace.featured(count))
