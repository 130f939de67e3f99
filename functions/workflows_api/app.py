"""A subscription's workflows (definitions, versions, activation), their runs and secrets.

`services` is built once per container and injected into the routes by `make_resolver` (the
`cmp.web.deps.get_services` dependency).
"""

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.bootstrap import bootstrap
from cmp.observability import instruments
from cmp.web.api import make_resolver
from cmp.web.routes.workflow_secrets import router as secrets_router
from cmp.web.routes.workflows import router

logger, metrics = instruments("workflows-api")
services = bootstrap()
app = make_resolver(logger, services)
app.include_router(router)
app.include_router(secrets_router)


@logger.inject_lambda_context(clear_state=True, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
