"""API Gateway REQUEST authorizer: verifies the portal JWT and passes tenant, user and roles downstream."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.errors import Unauthorized
from cmp.observability import instruments
from cmp.web.authorizer import allow_all, bearer_token

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
