"""Request and response models of the seller's product API (`/v1/provider/products`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from cmp.web.schemas import ApiModel, RequestModel, Timestamp


class NewProductRequest(RequestModel):
    """Step 1 of the wizard (also the body of a category change)."""

    category: str = Field(
        max_length=40, examples=["agent"], description="agent | app | assistant | automation"
    )
    subcategory: str = Field(max_length=40, examples=["single"], description="See /v1/marketplace/categories")


class ImportRequest(RequestModel):
    """Step 2, import: the exported file's text (JSON or YAML) or its parsed JSON document."""

    format: Literal["langflow", "n8n", "openapi", "mcp"] | None = Field(
        default=None, description="Leave out to detect it from the content"
    )
    filename: str | None = Field(default=None, max_length=255)
    content: str | None = Field(default=None, description="The file's text (at most 5 MiB, else a 413)")
    document: dict[str, Any] | list[Any] | None = Field(default=None, description="The file as a JSON value")
    flow_name: str | None = Field(
        default=None,
        max_length=120,
        description="Which flow to import from a file holding several (an n8n CLI export of several "
        "workflows, a Langflow bundle); a 422 on `flow_name` lists the names when it is missing or unknown",
    )


class TemplateRequest(RequestModel):
    """Step 2, build from a template."""

    template: str = Field(max_length=100, examples=["customer_support"])


CapabilityDocument = Annotated[
    dict[str, Any],
    Field(
        description="Step 3: the capability document (GET /v1/capabilities/schema describes it). Leave out "
        "what you do not change: category and subcategory default to the product's, the rest to the "
        "defaults; camelCase keys.",
        examples=[{"interfaces": {"chat": {"enabled": True}}}],
    ),
]


class PlansRequest(RequestModel):
    """Step 4: the plans, in display order."""

    plans: list[dict[str, Any]] = Field(
        description="Plans as in docs/catalog.md: id (to keep a plan's id; leave out for a new plan), name, "
        "tier, priceMonthly, priceYearly, currency (ISO 4217, one for all plans), runtimeType, limits, features "
        "(camelCase keys). Prices may not have more decimals than the currency (1500 JPY, 29.99 USD)",
        examples=[[{"name": "Starter", "tier": "starter", "priceMonthly": "29", "currency": "USD"}]],
    )


class ListingRequest(RequestModel):
    """Step 5: the marketplace listing."""

    name: str = Field(max_length=200)
    slug: str | None = Field(default=None, max_length=200)
    short_description: str = Field(max_length=1000)
    full_description: str = Field(default="", max_length=60_000)
    demo_url: str | None = Field(default=None, max_length=1000)
    documentation_url: str | None = Field(default=None, max_length=1000)
    tags: list[str] = Field(default_factory=list, max_length=50)


class UploadRequest(RequestModel):
    """The file about to be uploaded."""

    kind: Literal["logo", "screenshot"]
    content_type: str = Field(max_length=100, examples=["image/png"])
    size_bytes: int = Field(
        description="The file's size: at most 1 MiB for a logo, 5 MiB for a screenshot (a 422 names the limit)"
    )

    @field_validator("size_bytes")
    @classmethod
    def _within_the_kind_limit(cls, value: int, info: ValidationInfo) -> int:
        from cmp.catalog.asset_model import ASSET_RULES  # the asset rules load on the first upload only

        rule = ASSET_RULES.get(str(info.data.get("kind")))
        problem = rule.size_problem(value) if rule else None
        if problem:
            raise PydanticCustomError("asset_size", problem)
        return value


# ---------------------------------------------------------------------------------------------- provider
class WizardState(ApiModel):
    """Which wizard steps are done."""

    completed: list[str]
    next: str | None = Field(description="The next step to complete; null when all are")


class ProductSummary(ApiModel):
    """A product in the seller's list."""

    id: str
    name: str | None
    slug: str | None
    category: str
    subcategory: str
    status: str = Field(description="draft | pending_review | approved | rejected | archived")
    live_version: str | None
    has_unpublished_changes: bool
    published_at: Timestamp | None
    review_status: str | None = Field(description="Status of the latest review run; null if never submitted")
    review_reasons: list[Any]
    wizard: WizardState
    updated_at: Timestamp


class ProductList(ApiModel):
    """One page of the organization's products."""

    items: list[ProductSummary]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class FlowInfo(ApiModel):
    """The imported file's format and the importer's report."""

    format: str
    report: dict[str, Any] | None


class Asset(ApiModel):
    """An uploaded logo or screenshot."""

    id: str
    kind: str
    content_type: str
    size_bytes: int | None
    status: str
    created_at: Timestamp


class ReviewRun(ApiModel):
    """One review of the product: automated checks and the decision."""

    id: str
    status: str
    checks: Any
    reasons: Any
    created_at: Timestamp
    updated_at: Timestamp


class ProductDetail(ProductSummary):
    """A product as its seller edits it: every wizard step's data, assets and reviews."""

    capabilities: dict[str, Any] | None
    flow: FlowInfo | None
    template: str | None
    listing: dict[str, Any]
    plans: list[dict[str, Any]] = Field(
        description="The plans as stored (camelCase), each with its stable id and prices in its currency's decimals"
    )
    assets: list[Asset]
    reviews: list[ReviewRun] = Field(description="The latest review runs, newest first")

    @model_validator(mode="after")
    def latest_review_status(self) -> ProductDetail:
        """`review_status` is the latest run's, as in the product list."""
        if self.review_status is None and self.reviews:
            self.review_status = self.reviews[0].status
        return self


class ImportResult(ApiModel):
    """The product after an import, the importer's report, and whether its proposal was applied."""

    model_config = ConfigDict(populate_by_name=True)

    product: ProductDetail
    import_report: dict[str, Any] = Field(alias="import", description="What the importer read and proposed")
    proposed_capabilities_applied: bool


class PresignedPost(ApiModel):
    """Where and how to POST the file."""

    url: str
    fields: dict[str, str]


class UploadTicket(ApiModel):
    """An authorised upload."""

    asset_id: str
    kind: str
    upload: PresignedPost = Field(description="POST the file as multipart/form-data with these fields")
    expires_in: int = Field(description="Seconds")
    complete_with: str


class Submission(ApiModel):
    """The review run the submission started."""

    product_id: str
    status: Literal["pending_review"]
    review_run_id: str


class Version(ApiModel):
    """A published version's snapshot."""

    version: str
    capabilities: dict[str, Any]
    plans: list[Any]
    listing: dict[str, Any]
    created_at: Timestamp


class VersionList(ApiModel):
    """The product's published versions."""

    items: list[Version]
