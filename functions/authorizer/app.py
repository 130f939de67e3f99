"""API Gateway REQUEST authorizer: verifies the portal JWT and passes tenant, user and roles downstream.

An API key is let through carrying its refusal (`Refused.to_authorizer`, as the runtime authorizer does):
API Gateway's own 401 says only "sign in first", so the route's `current_caller` raises the 401 that says an
API key calls the runtime routes. Any other token that is not a valid access token is API Gateway's 401."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.errors import Unauthorized
from cmp.gateway.errors import ApiKeyOnPortalRoute, Refused
from cmp.observability import instruments
from cmp.web.authorizer import allow_all, bearer_token, is_api_key

logger, metrics = instruments("authorizer")
services = bootstrap()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    token = bearer_token(event)
    if token is None:
        raise Exception("Unauthorized")  # API Gateway answers 401 for exactly this message
    try:
        claims = services.tenancy.authenticate(token)
    except Unauthorized as e:
        logger.info("token rejected", extra={"reason": e.message})
        if is_api_key(token):
            return allow_all(event, "refused", Refused.to_authorizer(ApiKeyOnPortalRoute()))
        raise Exception("Unauthorized") from e
    logger.append_keys(tenant_id=claims.tenant_id)
    return allow_all(
        event,
        claims.user_id,
        {
            "tenant_id": claims.tenant_id,
            "user_id": claims.user_id,
            "roles": ",".join(claims.roles),
            "session_id": claims.session_id,
        },
    )
