"""Powertools' request validation as every validating resolver of `cmp.web.api.make_resolver` runs it.

Kept apart from `cmp.web.api` because importing Powertools' validation middleware loads pydantic and the OpenAPI
models (~100 ms of CPU at a cold start, docs/performance.md): a resolver built with `validated=False` never
imports this module.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType

from cmp.web.api import before_route, content_type_problem


class JsonOnlyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, with path parameters decoded first and bodies read as JSON only: a
    form or multipart body (which Powertools would parse, and fail on without a boundary), another charset
    than UTF-8 or a body without a Content-Type is a 415 (see `content_type_problem`)."""

    def handler(self, app: Any, next_middleware: NextMiddleware) -> Any:
        """`cmp.web.api.before_route` (the runtime authorizer's refusal, path parameters decoded), then
        validate."""
        before_route(app)
        return super().handler(app, next_middleware)

    def _get_body(self, app: Any) -> Any:
        event = app.current_event
        problem = content_type_problem(event.headers.get("content-type"), bool(event.body))
        if problem is not None:
            raise RequestUnsupportedContentType(
                "Unsupported content type", errors=[{"path": "header.content-type", "message": problem}]
            )
        return self._parse_json_data(app)
