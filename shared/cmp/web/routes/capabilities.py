"""The capability document's JSON Schema, and validation of a draft without saving it."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from cmp.capabilities import capability_json_schema, validate_capabilities


def capability_routes() -> Router:
    router = Router()

    @router.get("/v1/capabilities/schema")
    def schema() -> dict[str, Any]:
        return capability_json_schema()

    @router.post("/v1/capabilities/validate")
    def validate(body: Annotated[Any, Body()] = None) -> Response[Any]:
        result = validate_capabilities(body)
        if result.capabilities is not None:
            return Response(
                200,
                content_types.APPLICATION_JSON,
                {"valid": True, "capabilities": result.capabilities.to_document()},
            )
        return Response(
            422,
            content_types.APPLICATION_JSON,
            {"valid": False, "errors": [e.to_dict() for e in result.errors]},
        )

    return router
