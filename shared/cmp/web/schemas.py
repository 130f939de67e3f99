"""Request and response models of the portal API (kept apart from domain entities), and the error body.

Request models are strict (no coercion: `"yes"` is not a boolean, `"5"` is not a number) and refuse unknown
fields. `answers(...)` declares every status a route can answer, each error with `ErrorBody`, so the
OpenAPI document is the contract.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cmp.flows.safety import MAX_IMPORT_BYTES

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
"""The largest asset an upload request may announce (each kind's own limit is the service's)."""

Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
"""An ISO 8601 timestamp with its offset, as the service wrote it."""


# ---------------------------------------------------------------------------------------------- errors
class ErrorDetail(BaseModel):
    path: str = Field(description="The field: `name`, `plans[1].tier`, `query.limit`, `body`")
    message: str


class ErrorBody(BaseModel):
    """Every error the API answers has this shape."""

    error: str = Field(description="Machine-readable kind: validation_failed, not_found, conflict, …")
    message: str
    errors: list[ErrorDetail] = Field(description="One entry per problem (may be empty)")
    request_id: str = Field(description="API Gateway's request id; every log line of the request carries it")


ERROR_DESCRIPTIONS = {
    400: "Bad request",
    401: "Not signed in, or the session ended",
    403: "The caller lacks the role this needs",
    404: "Not found",
    409: "Conflicts with the current state",
    413: "The body or file is too large",
    415: "The body is not JSON",
    422: "The request breaks a rule; `errors` names each field",
    429: "Too many attempts",
    503: "A dependency is unavailable; retry shortly",
}
ALWAYS = (415, 422, 413)
"""Every route may answer these: checks of the body, parameters and content type come before the route."""


def answers(success: int, description: str, *errors: int) -> dict[int, Any]:
    """The `responses` of a route: its success status (schema from its return type) and every error status
    it can answer with `ErrorBody` (plus ALWAYS)."""
    out: dict[int, Any] = {
        success: {"description": description, "content": {}}
        if success == 204
        else {"description": description}
    }
    for status in sorted({*errors, *ALWAYS}):
        out[status] = {
            "description": ERROR_DESCRIPTIONS[status],
            "content": {"application/json": {"model": ErrorBody}},
        }
    return out


SIGNED_IN = (401,)
SELLER = (401, 403)
PRODUCT = (401, 403, 404)
EDIT = (401, 403, 404, 409)


# ---------------------------------------------------------------------------------------------- requests
class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


Category = Literal["agent", "app", "assistant", "automation"]


class SignupRequest(RequestModel):
    email: str = Field(min_length=3, max_length=254, examples=["ada@example.com"])
    password: str = Field(min_length=1, max_length=256)
    organization_name: str = Field(min_length=1, max_length=200, examples=["Analytical Engines Ltd"])
    account_type: Literal["seller", "buyer", "both"] = "both"


class LoginRequest(RequestModel):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    organization_id: str | None = Field(
        default=None, max_length=64, description="Sign in to this organization (default: first)"
    )


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
    content: str | None = Field(
        default=None, description=f"The file's text (at most {MAX_IMPORT_BYTES} bytes, else a 413)"
    )
    document: dict[str, Any] | list[Any] | None = Field(default=None, description="The file as a JSON value")


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
        description="Plans as in docs/catalog.md: name, tier, priceMonthly, priceYearly, currency, "
        "runtimeType, limits, features (camelCase keys)",
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
    kind: Literal["logo", "screenshot"]
    content_type: str = Field(max_length=100, examples=["image/png"])
    size_bytes: int = Field(gt=0, le=MAX_UPLOAD_BYTES)


class RejectRequest(RequestModel):
    reasons: list[Annotated[str, Field(max_length=2000)]] = Field(min_length=1, max_length=20)


class FeatureRequest(RequestModel):
    featured: bool


# ---------------------------------------------------------------------------------------------- auth
class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds")


class SignedOut(BaseModel):
    status: Literal["signed_out"]


class UserInfo(BaseModel):
    id: str
    email: str
    display_name: str | None
    is_platform_admin: bool


class OrganizationInfo(BaseModel):
    id: str
    name: str
    slug: str
    runtime_tier: str | None = Field(description="shared | dedicated; null until onboarding chooses")


class OnboardingStep(BaseModel):
    step: str
    status: str
    detail: Any = Field(description="What the step recorded (JSON)")
    updated_at: Timestamp


class OnboardingInfo(BaseModel):
    state: str
    steps: list[OnboardingStep]


class Profile(BaseModel):
    user: UserInfo
    organization: OrganizationInfo
    roles: list[str]
    onboarding: OnboardingInfo


# ---------------------------------------------------------------------------------------------- provider
class WizardState(BaseModel):
    completed: list[str]
    next: str | None = Field(description="The next step to complete; null when all are")


class ProductSummary(BaseModel):
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


class ProductList(BaseModel):
    items: list[ProductSummary]


class FlowInfo(BaseModel):
    format: str
    report: dict[str, Any] | None


class Asset(BaseModel):
    id: str
    kind: str
    content_type: str
    size_bytes: int | None
    status: str
    created_at: Timestamp


class ReviewRun(BaseModel):
    id: str
    status: str
    checks: Any
    reasons: Any
    created_at: Timestamp
    updated_at: Timestamp


class ProductDetail(ProductSummary):
    capabilities: dict[str, Any] | None
    flow: FlowInfo | None
    template: str | None
    listing: dict[str, Any]
    plans: list[dict[str, Any]]
    assets: list[Asset]
    reviews: list[ReviewRun] = Field(description="The latest review runs, newest first")

    @model_validator(mode="after")
    def latest_review_status(self) -> ProductDetail:
        """`review_status` is the latest run's, as in the product list."""
        if self.review_status is None and self.reviews:
            self.review_status = self.reviews[0].status
        return self


class ImportResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    product: ProductDetail
    import_report: dict[str, Any] = Field(alias="import", description="What the importer read and proposed")
    proposed_capabilities_applied: bool


class PresignedPost(BaseModel):
    url: str
    fields: dict[str, str]


class UploadTicket(BaseModel):
    asset_id: str
    kind: str
    upload: PresignedPost = Field(description="POST the file as multipart/form-data with these fields")
    expires_in: int = Field(description="Seconds")
    complete_with: str


class Submission(BaseModel):
    product_id: str
    status: Literal["pending_review"]
    review_run_id: str


class Version(BaseModel):
    version: str
    capabilities: dict[str, Any]
    plans: list[Any]
    listing: dict[str, Any]
    created_at: Timestamp


class VersionList(BaseModel):
    items: list[Version]


# ---------------------------------------------------------------------------------------------- admin
class QueuedReview(BaseModel):
    product_id: str
    tenant_id: str
    tenant_name: str
    name: str | None
    category: str
    status: str
    review_run_id: str
    review_status: str
    checks: Any
    submitted_at: Timestamp


class ReviewQueue(BaseModel):
    items: list[QueuedReview]


class Approval(BaseModel):
    product_id: str
    status: Literal["approved"]
    version: str


class Rejection(BaseModel):
    product_id: str
    status: Literal["rejected"]
    reasons: list[str]


class Featured(BaseModel):
    product_id: str
    featured: bool
