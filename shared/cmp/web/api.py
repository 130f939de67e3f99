"""Every API function builds its resolver here, so errors look the same on every route."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, cast

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from cmp.aws.adapters import AwsUnavailable
from cmp.errors import DomainError, Forbidden, NotFound, Unauthorized


def _json(status: int, body: dict[str, Any]) -> Response[Any]:
    return Response(status_code=status, content_type=content_types.APPLICATION_JSON, body=json.dumps(body))


def _path(loc: tuple[Any, ...] | list[Any]) -> str:
    """('body', 'plans', 1, 'name') -> 'plans[1].name'."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def make_resolver(logger: Logger) -> APIGatewayRestResolver:
    cors = CORSConfig(allow_origin=os.environ.get("CORS_ALLOW_ORIGIN", "*"), max_age=600)
    app = APIGatewayRestResolver(enable_validation=True, cors=cors)

    def tag_tenant(resolver: APIGatewayRestResolver, next_middleware: NextMiddleware) -> Response[Any]:
        tenant_id = resolver.current_event.request_context.authorizer.get_context().get("tenant_id")
        if tenant_id:
            logger.append_keys(tenant_id=tenant_id)
        return next_middleware(resolver)

    app.use(middlewares=[tag_tenant])

    @app.not_found
    def no_such_route(error: NotFoundError) -> Response[Any]:
        """`{proxy+}` events send unknown paths here: a 404, not the catch-all's 500."""
        event = app.current_event
        return _json(404, NotFound(f"no route for {event.http_method} {event.path[:200]}").to_dict())

    @app.exception_handler(DomainError)
    def domain_error(error: DomainError) -> Response[Any]:
        return _json(error.status, error.to_dict())

    @app.exception_handler(RequestValidationError)
    def invalid_request(error: RequestValidationError) -> Response[Any]:
        errors = [
            {"path": _path(e.get("loc", ())), "message": e.get("msg", "is invalid")} for e in error.errors()
        ]
        return _json(422, {"error": "validation_failed", "message": "request is invalid", "errors": errors})

    @app.exception_handler(AwsUnavailable)
    def unavailable(error: AwsUnavailable) -> Response[Any]:
        logger.exception("dependency unavailable")
        return _json(
            503, {"error": "unavailable", "message": "a dependency is unavailable; try again shortly"}
        )

    @app.exception_handler(Exception)
    def unexpected(error: Exception) -> Response[Any]:
        logger.exception("unhandled error")
        return _json(
            500,
            {
                "error": "internal",
                "message": "unexpected error",
                "request_id": app.current_event.request_context.request_id,
            },
        )

    return app


@dataclass(frozen=True)
class Caller:
    """Who is calling, as the authorizer established it. Read once per request, passed explicitly."""

    tenant_id: str
    user_id: str
    roles: tuple[str, ...]
    session_id: str

    def require(self, role: str) -> None:
        if role not in self.roles:
            raise Forbidden(f"this action needs the '{role}' role")


def caller(app: APIGatewayRestResolver | Router) -> Caller:
    event = cast(APIGatewayProxyEvent, app.current_event)
    context = event.request_context.authorizer.get_context() or {}
    tenant_id, user_id = context.get("tenant_id"), context.get("user_id")
    if not tenant_id or not user_id:
        raise Unauthorized("sign in first")
    roles = tuple(r for r in str(context.get("roles", "")).split(",") if r)
    return Caller(str(tenant_id), str(user_id), roles, str(context.get("session_id", "")))
