"""API Gateway REQUEST authorizer of the runtime routes: accepts an API key, a widget token (checked against
the request's Origin) or a portal JWT of the subscription's buyer, and passes the `RuntimeContext` on."""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.errors import Forbidden, Unauthorized
from cmp.gateway.authorization import owned_in_path
from cmp.observability import instruments
from cmp.web.authorizer import allow_all, deny_all, header, runtime_token

logger, metrics = instruments("runtime-authorizer")
services = bootstrap()


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    token = runtime_token(event)
    if token is None:
        raise Exception("Unauthorized")  # API Gateway answers 401 for exactly this message
    path = event.get("pathParameters") or {}
    try:
        runtime = services.runtime_authorizer.authorize(
            token, header(event, "origin"), path.get("subscription_id"), owned_in_path(path)
        )
    except Unauthorized as e:
        logger.info("credential rejected", extra={"reason": e.message})
        raise Exception("Unauthorized") from e
    except Forbidden as e:
        logger.info("call refused", extra={"reason": e.message})
        return deny_all(event, "anonymous")
    logger.append_keys(tenant_id=str(runtime.tenant_id))
    return allow_all(event, runtime.credential, runtime.to_authorizer())
