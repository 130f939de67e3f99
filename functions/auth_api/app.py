"""Portal sign-up, sign-in, sign-out and the caller's profile."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments
from cmp.web.api import caller, make_resolver
from cmp.web.schemas import LoginRequest, SignupRequest, TokenResponse

logger, metrics, tracer = instruments("auth-api")
services = bootstrap()
app = make_resolver(logger)


@app.post("/v1/auth/signup", responses={201: {"description": "Account created"}})
def signup(body: SignupRequest) -> tuple[TokenResponse, int]:
    issued = services.tenancy.signup(body.email, body.password, body.organization_name, body.account_type)
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in), 201


@app.post("/v1/auth/login")
def login(body: LoginRequest) -> TokenResponse:
    issued = services.tenancy.login(body.email, body.password, body.organization_id)
    return TokenResponse(access_token=issued.access_token, expires_in=issued.expires_in)


@app.post("/v1/auth/logout")
def logout() -> dict[str, str]:
    who = caller(app)
    services.tenancy.logout(who.tenant_id, who.session_id)
    return {"status": "signed_out"}


@app.get("/v1/me")
def me() -> dict[str, Any]:
    who = caller(app)
    return services.tenancy.profile(who.tenant_id, who.user_id)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
