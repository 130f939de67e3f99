"""Payment provider webhooks: the signature is verified over the raw body, then the event is applied once.

`services` is built once per container and injected into the routes by `make_resolver` (the
`cmp.web.deps.get_services` dependency). The route reads the raw body and headers itself, so its resolver does
without request validation (`validated=False`: Powertools' validation middleware is not loaded).
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments
from cmp.web.api import make_resolver
from cmp.web.routes.payments import router

logger, metrics = instruments("payments-webhook")
services = bootstrap()
app = make_resolver(logger, services, validated=False)
app.include_router(router)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
