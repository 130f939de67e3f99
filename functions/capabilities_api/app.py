"""The capability document's JSON Schema, and validation of a draft without saving it."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.typing import LambdaContext

from cmp.capabilities import capability_json_schema, validate_capabilities
from cmp.observability import instruments
from cmp.web.api import make_resolver

logger, metrics, tracer = instruments("capabilities-api")
app = make_resolver(logger)


@app.get("/v1/capabilities/schema")
def schema() -> dict[str, Any]:
    return capability_json_schema()


@app.post("/v1/capabilities/validate")
def validate(body: Annotated[Any, Body()] = None) -> Response[Any]:
    result = validate_capabilities(body)
    if result.valid:
        return Response(
            200, content_types.APPLICATION_JSON, {"valid": True, "capabilities": result.capabilities}
        )
    return Response(
        422, content_types.APPLICATION_JSON, {"valid": False, "errors": [e.to_dict() for e in result.errors]}
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
