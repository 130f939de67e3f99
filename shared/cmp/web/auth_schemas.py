"""Request and response models of sign-up, sign-in, sign-out and the profile (`/v1/auth`, `/v1/me`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from cmp.web.schemas import RequestModel, Timestamp


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
