"""Portal sign-up, sign-in, sign-out and the caller's profile."""

from typing import Any

from aws_lambda_powertools.event_handler.api_gateway import Router

from cmp.bootstrap import Services
from cmp.web.api import caller
from cmp.web.schemas import LoginRequest, SignupRequest, TokenResponse


def auth_routes(services: Services) -> Router:
    router = Router()

    @router.post("/v1/auth/signup", responses={201: {"description": "Account created"}})
    def signup(body: SignupRequest) -> tuple[TokenResponse, int]:
        issued = services.tenancy.signup(body.email, body.password, body.organization_name, body.account_type)
        return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in), 201

    @router.post("/v1/auth/login")
    def login(body: LoginRequest) -> TokenResponse:
        issued = services.tenancy.login(body.email, body.password, body.organization_id)
        return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)

    @router.post("/v1/auth/logout")
    def logout() -> dict[str, str]:
        who = caller(router)
        services.tenancy.logout(who.tenant_id, who.session_id)
        return {"status": "signed_out"}

    @router.get("/v1/me")
    def me() -> dict[str, Any]:
        who = caller(router)
        return services.tenancy.profile(who.tenant_id, who.user_id)

    return router
