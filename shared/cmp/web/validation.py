"""Powertools' request validation as every validating resolver of `cmp.web.api.make_resolver` runs it.

Kept apart from `cmp.web.api` because importing Powertools' validation middleware loads pydantic and the OpenAPI
models (~100 ms of CPU at a cold start, docs/performance.md): a resolver built with `validated=False` never
imports this module.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import (
    OpenAPIRequestValidationMiddleware,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType

from cmp.errors import FieldError, ValidationFailed
from cmp.web.api import UNKNOWN_QUERY_PARAMETERS, before_route, content_type_problem

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import Route


def drop_empty_query_values(raw_event: dict[str, Any]) -> None:
    """Remove from an API Gateway REST event (in place) every query parameter value that is empty or only
    spaces (`?status=`, `?status`, `?q=%20`): an empty value is the same as leaving the parameter out, on
    every route and whatever the parameter's type (README, "errors"), so `?status=` lists everything where
    `?status=active` filters, and a required parameter given empty is reported missing. A parameter given
    twice with one of the values empty counts as given once."""
    multi = {
        name: kept
        for name, values in (raw_event.get("multiValueQueryStringParameters") or {}).items()
        if (kept := [value for value in values if value.strip()])
    }
    single = {
        name: value for name, value in (raw_event.get("queryStringParameters") or {}).items() if value.strip()
    }
    single.update({name: values[-1] for name, values in multi.items()})
    raw_event["queryStringParameters"] = single or None
    raw_event["multiValueQueryStringParameters"] = multi or None


def unknown_query_parameters(route: Route, given: Iterable[str]) -> list[FieldError]:
    """One `query.<name>` problem per query parameter in `given` that `route` does not declare, naming the
    ones it does (by their names in the query string: `from`, not the handler's `from_`), in `given`'s
    order, and one at `query` for a parameter with an empty name (`?=1`); none for a route whose
    `openapi_extensions` carry `UNKNOWN_QUERY_PARAMETERS` (its callers are third parties that may append
    parameters of their own: docs/decisions.md)."""
    extensions = route.openapi_extensions or {}
    if all(extensions.get(key) == value for key, value in UNKNOWN_QUERY_PARAMETERS.items()):
        return []
    declared = sorted(param.alias for param in route.dependant.query_params)
    accepted = f"this route accepts: {', '.join(declared)}" if declared else "this route accepts none"
    return [
        FieldError(f"query.{name}", f"unknown query parameter; {accepted}")
        if name.strip()
        else FieldError("query", f"a query parameter has an empty name (nothing before its '='); {accepted}")
        for name in dict.fromkeys(given)
        if name not in declared
    ]


class JsonOnlyValidation(OpenAPIRequestValidationMiddleware):
    """Powertools' request validation, with path parameters decoded first, empty query values dropped, query
    parameters the route does not declare refused, and bodies read as JSON only: a form or multipart body (which Powertools would
    parse, and fail on without a boundary), another charset than UTF-8 or a body without a Content-Type is
    a 415 (see `content_type_problem`)."""

    def handler(self, app: Any, next_middleware: NextMiddleware) -> Any:
        """`cmp.web.api.before_route` (the runtime authorizer's refusal, path parameters decoded); then empty
        query values dropped (`drop_empty_query_values`); then a 422 (ValidationFailed) listing every query
        parameter the route does not declare (`unknown_query_parameters`), before the body is read; then
        Powertools' validation."""
        before_route(app)
        event = app.current_event
        drop_empty_query_values(event.raw_event)
        given = [*(event.query_string_parameters or {}), *(event.multi_value_query_string_parameters or {})]
        unknown = unknown_query_parameters(app.context["_route"], given)
        if unknown:
            raise ValidationFailed(
                "the request has query parameters this route does not take", errors=unknown
            )
        return super().handler(app, next_middleware)

    def _get_body(self, app: Any) -> Any:
        event = app.current_event
        problem = content_type_problem(event.headers.get("content-type"), bool(event.body))
        if problem is not None:
            raise RequestUnsupportedContentType(
                "Unsupported content type", errors=[{"path": "header.content-type", "message": problem}]
            )
        return self._parse_json_data(app)
