"""The capability document's JSON Schema, and validation of a draft without saving it.

`cmp.capabilities` (~120 pydantic models, ~90 ms to define) is imported by each route on first use, not when
Lambda loads the function: preflight and refused requests never need it (docs/performance.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal, cast

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent
from pydantic import Field

from cmp.web.schemas import ERROR_DESCRIPTIONS, ApiModel, ErrorBody, answers

router = Router()


class ValidCapabilities(ApiModel):
    """The document with every default filled in."""

    valid: Literal[True]
    capabilities: dict[str, Any] = Field(description="The document with every default filled in")


class InvalidCapabilities(ErrorBody):
    """The common error body, plus `valid: false` when the document was read and breaks rules (absent when the
    body itself is unreadable: not JSON, too deep, too large)."""

    valid: Literal[False] = False


@router.get("/v1/capabilities/schema", responses=answers(200, "JSON Schema (draft 2020-12) of the document"))
def schema() -> dict[str, Any]:
    """The capability document's JSON Schema."""
    from cmp.capabilities import capability_json_schema

    return capability_json_schema()


VALIDATE_ANSWERS = {
    **answers(200, "The document is valid"),
    422: {
        "description": ERROR_DESCRIPTIONS[422],
        "content": {"application/json": {"model": InvalidCapabilities}},
    },
}


@router.post("/v1/capabilities/validate", responses=VALIDATE_ANSWERS)
def validate(
    body: Annotated[Any, Body(description="A capability document (any JSON value is checked)")] = None,
) -> Response[Any]:
    """Check a capability document without saving it; every broken rule is listed."""
    from cmp.capabilities import validate_capabilities

    result = validate_capabilities(body)
    if result.capabilities is not None:
        return Response(
            200,
            content_types.APPLICATION_JSON,
            {"valid": True, "capabilities": result.capabilities.to_document()},
        )
    event = cast(APIGatewayProxyEvent, router.current_event)
    return Response(
        422,
        content_types.APPLICATION_JSON,
        {
            "valid": False,
            "error": "validation_failed",
            "message": "the capability document is invalid",
            "errors": [e.to_dict() for e in result.errors],
            "request_id": str(event.request_context.request_id or ""),
        },
    )
