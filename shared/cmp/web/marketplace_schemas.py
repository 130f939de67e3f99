"""Response models of the public marketplace API (`/v1/marketplace/...`), kept apart from the service's dicts.

Query parameters are read as plain strings and parsed by `cmp.web.query`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from cmp.web.schemas import ApiModel


class SubcategorySummary(ApiModel):
    """A subcategory and its live product count."""

    id: str
    name: str
    product_count: int


class CategorySummary(ApiModel):
    """A category, its subcategories and live product counts."""

    id: str
    name: str
    description: str
    product_count: int
    subcategories: list[SubcategorySummary]


class CategoriesResponse(ApiModel):
    """The four categories in spec order."""

    categories: list[CategorySummary]


class ProductCard(ApiModel):
    """A product as a search result or featured tile shows it."""

    id: str
    slug: str
    name: str
    short_description: str
    category: str
    subcategory: str
    tags: list[str]
    seller_name: str
    logo_url: str | None = Field(description="Time-limited URL of the logo; null when there is none")
    min_price_monthly: str | None = Field(
        description="Cheapest monthly plan price in `currency`, as a decimal string with the currency's ISO 4217 "
        'exponent ("29.00" USD, "1500" JPY, "1.500" KWD); null if every plan is custom (contact the seller)',
        examples=["29.00"],
    )
    currency: str = Field(
        description="ISO 4217 code of the product's one currency (all its plans use it)", examples=["USD"]
    )
    runtime_types: list[str]
    rating_avg: float
    rating_count: int
    featured: bool
    version: str


class ProductPage(ApiModel):
    """One page of search results."""

    items: list[ProductCard]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class PlanOffer(ApiModel):
    """A plan as a buyer sees it. Prices are decimal strings with the currency's ISO 4217 exponent; null
    means no list price (contact the seller) or, for the yearly price, no yearly billing."""

    id: str = Field(
        description="The plan's stable id: name it to buy the plan (checkout's plan_id)",
        examples=["plan_k3v9x2mq7wza"],
    )
    name: str
    tier: str
    price_monthly: str | None = Field(examples=["29.00"])
    price_yearly: str | None = Field(examples=["290.00"])
    currency: str = Field(description="ISO 4217 code", examples=["USD"])
    runtime_type: str | None
    limits: dict[str, Any] = Field(
        description="Quotas; null means unlimited (or, for rate_limit_rpm, "
        "concurrency and storage_mb, up to the product's own limit)"
    )
    features: list[str]


class ComparisonRow(ApiModel):
    """One row of the plan comparison: a price, limit or feature per plan."""

    key: str = Field(description="price_monthly, price_yearly, runtime_type, limits.<name> or feature")
    label: str
    values: list[str] = Field(description="One display value per plan, in column order")


class PlanComparison(ApiModel):
    """The product's plans side by side, as display text."""

    columns: list[str] = Field(description="Plan names")
    rows: list[ComparisonRow]


class CapabilitySummary(ApiModel):
    """What the product does, in a buyer's words (from the capability document)."""

    category: str
    subcategory: str
    interfaces: list[str]
    you_can_configure: list[str]
    runtime: str
    analytics: list[str]


class ProductDetails(ProductCard):
    """A published product's page."""

    full_description: str = Field(description="Markdown")
    screenshot_urls: list[str]
    demo_url: str | None
    documentation_url: str | None
    published_at: datetime
    subscriber_count: int
    capabilities: CapabilitySummary
    plans: list[PlanOffer]
    comparison: PlanComparison


class PriceRange(ApiModel):
    """Cheapest and dearest monthly price, decimal strings with the currency's ISO 4217 exponent."""

    min_monthly: str | None
    max_monthly: str | None
    currency: str
    custom_pricing: bool = Field(description="Some plan has no list price (contact the seller)")


class ComparedProduct(ProductCard):
    """One product in a comparison."""

    price_range: PriceRange
    plans: list[PlanOffer] = Field(description="Every plan, with its id, prices and limits")
    plan_names: list[str]
    capabilities: CapabilitySummary


class CompareResponse(ApiModel):
    """The products in the order asked."""

    products: list[ComparedProduct]


class FeaturedResponse(ApiModel):
    """Featured and top-rated listings."""

    items: list[ProductCard]
