"""API Gateway REQUEST authorizer: verifies the portal JWT and passes tenant, user and roles downstream."""

from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.errors import Unauthorized
from cmp.observability import instruments

logger, metrics, tracer = instruments("authorizer")
services = bootstrap()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def handler(event: APIGatewayAuthorizerRequestEvent, context: LambdaContext) -> dict[str, Any]:
    header = event.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Exception("Unauthorized")  # API Gateway answers 401 for exactly this message
    try:
        claims = services.tenancy.authenticate(token.strip())
    except Unauthorized as e:
        logger.info("token rejected", extra={"reason": e.message})
        raise Exception("Unauthorized") from e
    logger.append_keys(tenant_id=claims.tenant_id)
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=claims.user_id,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        context={
            "tenant_id": claims.tenant_id,
            "user_id": claims.user_id,
            "roles": ",".join(claims.roles),
            "session_id": claims.session_id,
        },
    )
    policy.allow_all_routes()
    return policy.asdict()
