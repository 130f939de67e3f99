"""Portal sign-up, sign-in, sign-out and the caller's profile."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.web.auth_schemas import LoginRequest, Profile, SignedOut, SignupRequest, TokenResponse
from cmp.web.deps import ServicesDep, SignedIn
from cmp.web.schemas import SIGNED_IN, answers

router = Router()


@router.post("/v1/auth/signup", responses=answers(201, "Account created; signed in", 409))
def signup(body: SignupRequest, services: ServicesDep) -> tuple[TokenResponse, int]:
    """Create an organization and its owner, and sign the owner in."""
    issued = services.tenancy.signup(
        body.email, body.password.get_secret_value(), body.organization_name, body.account_type
    )
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in), 201


@router.post("/v1/auth/login", responses=answers(200, "Signed in", 401, 403, 429))
def login(body: LoginRequest, services: ServicesDep) -> TokenResponse:
    """Sign in; returns a bearer token for the API."""
    issued = services.tenancy.login(body.email, body.password.get_secret_value(), body.organization_id)
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)


@router.post("/v1/auth/logout", responses=answers(200, "Signed out", *SIGNED_IN))
def logout(caller: SignedIn, services: ServicesDep) -> SignedOut:
    """End the caller's session (tokens stop working within the authorizer's 60 s cache)."""
    services.tenancy.logout(caller.tenant_id, caller.session_id)
    return SignedOut(status="signed_out")


@router.get("/v1/me", responses=answers(200, "The caller, their organization and its onboarding", *SIGNED_IN))
def me(caller: SignedIn, services: ServicesDep) -> Profile:
    """The caller, their organization, roles and onboarding progress."""
    return Profile.model_validate(services.profiles.profile(caller.tenant_id, caller.user_id))
