"""Request and response models of sign-up, sign-in, sign-out and the profile (`/v1/auth`, `/v1/me`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, SecretStr

from cmp.web.schemas import ApiModel, RequestModel, Timestamp

PASSWORD_NOTE = "Held as a secret: its repr (and so any log of the request model) shows asterisks"


class SignupRequest(RequestModel):
    """A new organization and its owner."""

    email: str = Field(min_length=3, max_length=254, examples=["ada@example.com"])
    password: SecretStr = Field(min_length=1, max_length=256, description=PASSWORD_NOTE)
    organization_name: str = Field(min_length=1, max_length=200, examples=["Analytical Engines Ltd"])
    account_type: Literal["seller", "buyer", "both"] = "both"


class LoginRequest(RequestModel):
    """Email and password (and optionally which organization to sign in to)."""

    email: str = Field(min_length=3, max_length=254)
    password: SecretStr = Field(min_length=1, max_length=256, description=PASSWORD_NOTE)
    organization_id: str | None = Field(
        default=None, max_length=64, description="Sign in to this organization (default: first)"
    )


# ---------------------------------------------------------------------------------------------- auth
class TokenResponse(ApiModel):
    """A bearer token for the `Authorization` header."""

    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds")


class SignedOut(ApiModel):
    """The session has ended."""

    status: Literal["signed_out"]


class UserInfo(ApiModel):
    """The signed-in user."""

    id: str
    email: str
    display_name: str | None
    is_platform_admin: bool


class OrganizationInfo(ApiModel):
    """The organization the caller signed in to."""

    id: str
    name: str
    slug: str
    runtime_tier: str | None = Field(description="shared | dedicated; null until onboarding chooses")


class OnboardingStep(ApiModel):
    """One provisioning step of the organization."""

    step: str
    status: str
    detail: Any = Field(description="What the step recorded (JSON)")
    updated_at: Timestamp


class OnboardingInfo(ApiModel):
    """The organization's provisioning progress."""

    state: str
    steps: list[OnboardingStep]


class Profile(ApiModel):
    """The caller, their organization, roles and onboarding."""

    user: UserInfo
    organization: OrganizationInfo
    roles: list[str]
    onboarding: OnboardingInfo
