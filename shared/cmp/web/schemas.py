"""Request and response models of the portal API (kept apart from domain entities)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class SignupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254, examples=["ada@example.com"])
    password: str = Field(min_length=1, max_length=256)
    organization_name: str = Field(min_length=1, max_length=200, examples=["Analytical Engines Ltd"])
    account_type: Literal["seller", "buyer", "both"] = "both"


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=256)
    organization_id: str | None = Field(
        default=None, description="Sign in to this organization (default: first)"
    )


class TokenResponse(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class NewProductRequest(BaseModel):
    """Step 1 of the wizard."""

    model_config = ConfigDict(extra="forbid")
    category: str = Field(examples=["agent"])
    subcategory: str = Field(examples=["single"])


class ImportRequest(BaseModel):
    """Step 2, import: the exported file's text (JSON or YAML) or its parsed JSON document."""

    model_config = ConfigDict(extra="forbid")
    format: Literal["langflow", "n8n", "openapi", "mcp"] | None = Field(
        default=None, description="Leave out to detect it from the content"
    )
    filename: str | None = Field(default=None, max_length=255)
    content: str | None = Field(default=None, description="The file's text")
    document: dict[str, Any] | list[Any] | None = Field(default=None, description="The file as a JSON value")


class TemplateRequest(BaseModel):
    """Step 2, build from a template."""

    model_config = ConfigDict(extra="forbid")
    template: str = Field(examples=["customer_support"])


class ListingRequest(BaseModel):
    """Step 5: the marketplace listing."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=200)
    slug: str | None = Field(default=None, max_length=200)
    short_description: str = Field(max_length=1000)
    full_description: str = Field(default="", max_length=60_000)
    demo_url: str | None = Field(default=None, max_length=1000)
    documentation_url: str | None = Field(default=None, max_length=1000)
    tags: list[str] = Field(default_factory=list, max_length=50)


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["logo", "screenshot"]
    content_type: str = Field(examples=["image/png"])
    size_bytes: int = Field(gt=0)


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reasons: list[str] = Field(min_length=1, max_length=20)


class FeatureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    featured: bool
